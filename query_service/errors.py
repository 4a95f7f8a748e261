"""Map domain errors to HTTP answers with a message that says what is wrong."""

from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout

from llamapg.answering import AnswerError, AnswerTimeout
from llamapg.filters import FilterError
from llamapg.prompts import PromptError
from llamapg.querylog import UnknownQuery
from llamapg.collections import UnknownCollection
from llamapg.db import DatabaseUnavailable
from llamapg.documents import UnknownDocument
from llamapg.uploads import UploadRejected
from llamapg.embedders import EmbeddingError
from llamapg.rag import NoActiveModel

log = logging.getLogger(__name__)


def _handler(status: int, message: str | None = None):
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        if status >= 500:
            log.warning("%s %s -> %d: %s", request.method, request.url.path, status, exc)
        return JSONResponse(status_code=status, content={"detail": message or str(exc)})

    return handle


async def _answer_failed(request: Request, exc: AnswerError) -> JSONResponse:
    """502, or 504 on a timeout; the sources found before the chat model failed go back too."""
    from query_service.presenters import sources_out

    status = 504 if isinstance(exc, AnswerTimeout) else 502
    log.warning("%s %s -> %d: %s", request.method, request.url.path, status, exc)
    prepared = getattr(exc, "prepared", None)
    sources = [s.model_dump() for s in sources_out(prepared.search, prepared.citations)] if prepared else []
    return JSONResponse(status_code=status, content={"detail": str(exc), "sources": sources})


def install(app: FastAPI) -> None:
    app.add_exception_handler(UnknownCollection, _handler(404))
    app.add_exception_handler(UnknownDocument, _handler(404))
    app.add_exception_handler(UnknownQuery, _handler(404))
    app.add_exception_handler(FilterError, _handler(422))
    app.add_exception_handler(PromptError, _handler(422))
    app.add_exception_handler(UploadRejected, _handler(422))
    app.add_exception_handler(NoActiveModel, _handler(503))
    unavailable = "database unavailable; retry shortly"
    app.add_exception_handler(DatabaseUnavailable, _handler(503, unavailable))
    app.add_exception_handler(PoolTimeout, _handler(503, unavailable))
    app.add_exception_handler(psycopg.OperationalError, _handler(503, unavailable))
    # A value PostgreSQL cannot store or compare (a NUL byte in a filter, say) is the request's fault.
    app.add_exception_handler(psycopg.DataError, _handler(422))
    app.add_exception_handler(EmbeddingError, _handler(502))
    app.add_exception_handler(AnswerError, _answer_failed)
