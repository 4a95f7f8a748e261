"""POST /search, POST /query (JSON or server-sent events), POST /feedback."""

from __future__ import annotations

import json
import time
from typing import Iterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from psycopg_pool import ConnectionPool

from llamapg import querylog
from llamapg.answering import AnswerError, AnswerTimeout
from llamapg.keys import ApiKey
from llamapg.rag import Ask, PreparedAnswer, RagEngine
from llamapg.settings import Settings
from query_service.auth import check_collection, reader
from query_service.dependencies import get_engine, get_pool, get_settings
from query_service.limits import check_filters, check_question
from query_service.presenters import retrieval_fields, sources_out
from query_service.schemas import (
    FeedbackRequest, FeedbackResponse, QueryRequest, QueryResponse, SearchRequest, SearchResponse,
)
from query_service.streaming import Done, answer_stream

router = APIRouter(tags=["query"])
ERRORS = {
    401: {"description": "No API key, or an unknown or revoked one"},
    404: {"description": "Unknown collection (or one the key may not use)"},
    422: {"description": "Invalid request, filter or prompt name"},
    503: {"description": "Database unavailable"},
}

# Plain `def` endpoints: FastAPI runs them in its thread pool, so embedding and SQL never block
# the event loop. The engine takes a pooled connection only around its SQL.


def _ask(body: SearchRequest, key: ApiKey, settings: Settings) -> Ask:
    """The request as the engine takes it, once the key may read the collection and the question
    and filters are within the limits."""
    check_collection(key, body.collection)
    check_question(body.question, settings)
    check_filters(body.filters, settings)
    return Ask(**body.model_dump(exclude={"stream"}))


@router.post("/search", response_model=SearchResponse, responses=ERRORS)
def search(
    body: SearchRequest,
    request: Request,
    pool: ConnectionPool = Depends(get_pool),
    engine: RagEngine = Depends(get_engine),
    settings: Settings = Depends(get_settings),
    key: ApiKey = Depends(reader),
) -> SearchResponse:
    """Retrieval only: the k best chunks with their scores."""
    found = engine.search(pool, _ask(body, key, settings))
    request.app.state.metrics.observe_stages(found.timings_ms)
    return SearchResponse(**retrieval_fields(found), sources=sources_out(found), timings_ms=found.timings_ms,
                          trace=found.trace or None)


@router.post(
    "/query",
    response_model=QueryResponse,
    responses={**ERRORS, 502: {"description": "Chat model failed; sources returned"},
               504: {"description": "Chat model timed out; sources returned"}},
)
def query(
    body: QueryRequest,
    request: Request,
    pool: ConnectionPool = Depends(get_pool),
    engine: RagEngine = Depends(get_engine),
    settings: Settings = Depends(get_settings),
    key: ApiKey = Depends(reader),
):
    """Answer with cited sources: [n] in the answer is the `citation` of a source."""
    ask = _ask(body, key, settings)
    if body.stream:
        started = time.perf_counter()
        prepared = engine.prepare(pool, ask)
        return StreamingResponse(_events(request, engine, prepared, started), media_type="text/event-stream")
    result = engine.answer(pool, ask)
    request.app.state.metrics.observe_stages(result.timings_ms)
    found = result.search
    return QueryResponse(
        answer=result.answer, mode=result.mode, prompt=result.prepared.prompt, query_id=result.query_id,
        **retrieval_fields(found), sources=sources_out(found, result.prepared.citations), timings_ms=result.timings_ms,
        trace=found.trace or None,
    )


def _sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def _events(request: Request, engine: RagEngine, prepared: PreparedAnswer, started: float) -> Iterator[str]:
    found = prepared.search
    yield _sse("sources", {
        **retrieval_fields(found), "mode": prepared.mode, "prompt": prepared.prompt,
        "sources": [s.model_dump() for s in sources_out(found, prepared.citations)],
    })
    try:
        for item in answer_stream(request, engine, prepared, started, "query"):
            if isinstance(item, Done):
                yield _sse("done", {"query_id": item.query_id, "timings_ms": item.timings_ms, "trace": found.trace or None})
            else:
                yield _sse("delta", {"text": item})
    except AnswerError as exc:
        yield _sse("error", {"detail": str(exc), "status": 504 if isinstance(exc, AnswerTimeout) else 502})


@router.post("/feedback", response_model=FeedbackResponse, status_code=201,
             responses={404: {"description": "Unknown query (or one on a collection the key may not use)"}})
def feedback(body: FeedbackRequest, pool: ConnectionPool = Depends(get_pool),
             key: ApiKey = Depends(reader)) -> FeedbackResponse:
    """Rate an answer by its query_id, so that poor answers can be found and turned into eval cases."""
    with pool.connection() as conn:
        feedback_id = querylog.add_feedback(conn, body.query_id, body.rating, body.comment, sees=key.sees)
    return FeedbackResponse(id=feedback_id)
