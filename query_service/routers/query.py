"""POST /search, POST /query (JSON or server-sent events), POST /feedback."""

from __future__ import annotations

import json
import time
from typing import Iterator

import psycopg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse

from llamapg import querylog
from llamapg.answering import AnswerError, AnswerTimeout
from llamapg.rag import PreparedAnswer, RagEngine
from query_service.dependencies import get_connection, get_engine
from query_service.presenters import sources_out
from query_service.schemas import (
    FeedbackRequest, FeedbackResponse, QueryRequest, QueryResponse, SearchRequest, SearchResponse,
)

router = APIRouter(tags=["query"])
ERRORS = {
    404: {"description": "Unknown collection"},
    422: {"description": "Invalid request, filter or prompt name"},
    503: {"description": "Database unavailable"},
}

# Plain `def` endpoints: FastAPI runs them in its thread pool, so embedding and SQL never block
# the event loop.


@router.post("/search", response_model=SearchResponse, responses=ERRORS)
def search(
    body: SearchRequest,
    request: Request,
    conn: psycopg.Connection = Depends(get_connection),
    engine: RagEngine = Depends(get_engine),
) -> SearchResponse:
    """Retrieval only: the k best chunks with their similarity."""
    found = engine.search(conn, body.question, body.collection, body.k, filters=body.filters,
                          min_similarity=body.min_similarity, debug=body.debug, mode=body.mode, rerank=body.rerank)
    request.app.state.metrics.observe_stages(found.timings_ms)
    return SearchResponse(model=found.model.name, plan=found.retrieval.plan, retrieval_mode=found.retrieval.mode,
                          sources=sources_out(found), timings_ms=found.timings_ms, trace=found.trace or None)


def _response(prepared: PreparedAnswer, answer: str, timings: dict, query_id: int) -> QueryResponse:
    found = prepared.search
    return QueryResponse(
        answer=answer, mode=prepared.mode, prompt=prepared.prompt, query_id=query_id, model=found.model.name,
        plan=found.retrieval.plan, retrieval_mode=found.retrieval.mode, sources=sources_out(found, prepared.citations), timings_ms=timings,
        trace=found.trace or None,
    )


@router.post(
    "/query",
    response_model=QueryResponse,
    responses={**ERRORS, 502: {"description": "Chat model failed"}, 504: {"description": "Chat model timed out; sources returned"}},
)
def query(
    body: QueryRequest,
    request: Request,
    conn: psycopg.Connection = Depends(get_connection),
    engine: RagEngine = Depends(get_engine),
):
    """Answer with cited sources: [n] in the answer is the `citation` of a source."""
    started = time.perf_counter()
    prepared = engine.prepare(conn, body.question, body.collection, body.k, prompt=body.prompt,
                              filters=body.filters, min_similarity=body.min_similarity, debug=body.debug,
                              mode=body.mode, rerank=body.rerank)
    if body.stream:
        return StreamingResponse(_events(request, engine, prepared, body, started), media_type="text/event-stream")
    generating = time.perf_counter()
    try:
        answer = engine.write(prepared, body.question)
    except AnswerTimeout as exc:
        return JSONResponse(status_code=504, content={
            "detail": str(exc),
            "sources": [s.model_dump() for s in sources_out(prepared.search, prepared.citations)],
        })
    done = time.perf_counter()
    timings = {**prepared.search.timings_ms, "generate": round((done - generating) * 1000, 2),
               "total": round((done - started) * 1000, 2)}
    if body.debug:
        prepared.search.trace["generate"] = {"ms": timings["generate"], "mode": prepared.mode, "prompt": prepared.prompt}
    query_id = engine.log(conn, "query", body.question, body.collection, prepared, timings, body.filters, answer)
    request.app.state.metrics.observe_stages(timings)
    return _response(prepared, answer, timings, query_id)


def _sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def _events(request: Request, engine: RagEngine, prepared: PreparedAnswer, body: QueryRequest, started: float) -> Iterator[str]:
    found = prepared.search
    yield _sse("sources", {
        "model": found.model.name, "plan": found.retrieval.plan, "retrieval_mode": found.retrieval.mode,
        "mode": prepared.mode, "prompt": prepared.prompt,
        "sources": [s.model_dump() for s in sources_out(found, prepared.citations)],
    })
    generating = time.perf_counter()
    parts: list[str] = []
    try:
        for delta in engine.write_stream(prepared, body.question):
            parts.append(delta)
            yield _sse("delta", {"text": delta})
    except AnswerError as exc:
        yield _sse("error", {"detail": str(exc), "status": 504 if isinstance(exc, AnswerTimeout) else 502})
        return
    done = time.perf_counter()
    timings = {**found.timings_ms, "generate": round((done - generating) * 1000, 2), "total": round((done - started) * 1000, 2)}
    # The request's connection is back in the pool once streaming starts: log on a fresh one.
    with request.app.state.pool.connection() as conn:
        query_id = engine.log(conn, "query", body.question, body.collection, prepared, timings, body.filters, "".join(parts))
    request.app.state.metrics.observe_stages(timings)
    yield _sse("done", {"query_id": query_id, "timings_ms": timings, "trace": found.trace or None})


@router.post("/feedback", response_model=FeedbackResponse, status_code=201, responses={404: {"description": "Unknown query"}})
def feedback(body: FeedbackRequest, conn: psycopg.Connection = Depends(get_connection)) -> FeedbackResponse:
    """Rate an answer by its query_id, so that poor answers can be found and turned into eval cases."""
    feedback_id = querylog.add_feedback(conn, body.query_id, body.rating, body.comment)
    conn.commit()
    return FeedbackResponse(id=feedback_id)
