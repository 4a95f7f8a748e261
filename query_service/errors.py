"""Map domain errors to HTTP answers with a message that says what is wrong."""

from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from llamapg.answering import AnswerError, AnswerTimeout
from llamapg.filters import FilterError
from llamapg.prompts import PromptError
from llamapg.querylog import UnknownQuery
from llamapg.collections import UnknownCollection
from llamapg.db import DatabaseUnavailable
from llamapg.documents import UnknownDocument
from llamapg.uploads import UploadRejected, UploadTooLarge
from llamapg.embedders import EmbeddingError
from llamapg.rag import NoActiveModel
from query_service.limits import body_limit, too_large

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


# What a refused value means, by SQLSTATE, in the user's terms: the driver's own text names bind
# parameters and portals, which says nothing to the person who sent the request.
DATA_ERRORS = {
    "22003": "a number in the request is out of range",
    "22P02": "a value in the request does not have the form its field needs",
    "22021": "text in the request holds a character the database cannot store",
    "22007": "a date or time in the request is not valid",
    "22008": "a date or time in the request is out of range",
    "22001": "a value in the request is too long",
}


async def _data_error(request: Request, exc: psycopg.DataError) -> JSONResponse:
    """A value PostgreSQL cannot store or compare is the request's fault: 422, in plain words."""
    log.info("%s %s -> 422: %s", request.method, request.url.path, str(exc).strip())
    message = DATA_ERRORS.get(exc.sqlstate or "", "a value in the request cannot be used")
    return JSONResponse(status_code=422, content={"detail": message})


async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 without the offending input echoed back: an input such as NaN cannot be written
    as JSON (that 422 was a 500), and echoing request text back is no help to the sender."""
    detail = [{"loc": list(error.get("loc", ())), "msg": error.get("msg", "invalid"), "type": error.get("type", "")}
              for error in exc.errors()]
    return JSONResponse(status_code=422, content={"detail": detail})


async def _http_error(request: Request, exc: StarletteHTTPException):
    """FastAPI's answer to an HTTPException, with a body over its limit named: Starlette's body limit
    says only "Content Too Large"."""
    if exc.status_code == 413 and exc.detail == "Content Too Large":
        limit, setting = body_limit(request.headers.get("content-type", ""), request.app.state.settings)
        return JSONResponse(status_code=413, content={"detail": too_large(limit, setting)})
    return await http_exception_handler(request, exc)


def _unavailable(message: str, retry_after_s: int):
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        log.warning("%s %s -> 503: %s", request.method, request.url.path, exc)
        return JSONResponse(status_code=503, content={"detail": message},
                            headers={"Retry-After": str(retry_after_s)})

    return handle


def install(app: FastAPI) -> None:
    settings = app.state.settings
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(UnknownCollection, _handler(404))
    app.add_exception_handler(UnknownDocument, _handler(404))
    app.add_exception_handler(UnknownQuery, _handler(404))
    app.add_exception_handler(FilterError, _handler(422))
    app.add_exception_handler(PromptError, _handler(422))
    app.add_exception_handler(UploadTooLarge, _handler(413))
    app.add_exception_handler(UploadRejected, _handler(422))
    app.add_exception_handler(NoActiveModel, _handler(503))
    unavailable = _unavailable("database unavailable; retry shortly", 5)
    app.add_exception_handler(DatabaseUnavailable, unavailable)
    app.add_exception_handler(psycopg.OperationalError, unavailable)
    exhausted = _unavailable(
        f"all {settings.pool_max_size} database connections are in use and none became free within "
        f"{settings.pool_timeout_s:g} s; retry shortly", max(1, round(settings.pool_timeout_s)))

    async def pool_timeout(request: Request, exc: PoolTimeout) -> JSONResponse:
        """No connection in time: every one busy (the database is fine), or none can be opened."""
        stats = request.app.state.pool.get_stats()
        busy = stats.get("pool_size", 0) >= request.app.state.pool.max_size and not stats.get("pool_available", 0)
        return await (exhausted if busy else unavailable)(request, exc)

    app.add_exception_handler(PoolTimeout, pool_timeout)
    app.add_exception_handler(psycopg.DataError, _data_error)
    app.add_exception_handler(EmbeddingError, _handler(502))
    app.add_exception_handler(AnswerError, _answer_failed)
