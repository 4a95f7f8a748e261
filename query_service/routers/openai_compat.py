"""An OpenAI-compatible facade: each collection is a "model", so chat clients and the `openai`
SDK can talk to a collection directly. Answers carry llamapg's `sources` as an extra field."""

from __future__ import annotations

import json
import time
from typing import Any, Iterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse
from psycopg_pool import ConnectionPool
from pydantic import BaseModel, ConfigDict, Field

from llamapg import collections
from llamapg.answering import AnswerError
from llamapg.collections import UnknownCollection
from llamapg.keys import ApiKey
from llamapg.rag import Ask, RagEngine
from llamapg.settings import Settings
from llamapg.textcheck import text_problem
from query_service.auth import reader
from query_service.dependencies import get_engine, get_pool, get_settings
from query_service.limits import question_too_long
from query_service.presenters import sources_out
from query_service.streaming import Done, answer_stream

router = APIRouter(prefix="/v1", tags=["openai-compatible"])


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens, ... are accepted and ignored

    model: str = Field(description="A collection name (see GET /v1/models).")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    k: int = Field(default=5, ge=1, le=100, description="llamapg extension: source chunks to retrieve.")


def openai_error(status: int, message: str, kind: str, code: str | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"message": message, "type": kind, "code": code}})


def _question(messages: list[ChatMessage]) -> str | None:
    for message in reversed(messages):
        if message.role != "user":
            continue
        if isinstance(message.content, str):
            return message.content.strip() or None
        texts = [part["text"] for part in message.content or []
                 if part.get("type") == "text" and isinstance(part.get("text"), str)]
        return " ".join(t for t in texts if t).strip() or None
    return None


@router.get("/models")
def list_models(pool: ConnectionPool = Depends(get_pool), key: ApiKey = Depends(reader)) -> dict:
    """The collections this key may use, as models."""
    with pool.connection() as conn:
        rows = conn.execute("SELECT name, created_at FROM collections ORDER BY name").fetchall()
    return {
        "object": "list",
        "data": [{"id": r["name"], "object": "model", "created": int(r["created_at"].timestamp()), "owned_by": "llamapg"}
                 for r in rows if key.sees(r["name"])],
    }


@router.post("/chat/completions")
def chat_completions(
    body: ChatCompletionRequest,
    request: Request,
    pool: ConnectionPool = Depends(get_pool),
    engine: RagEngine = Depends(get_engine),
    settings: Settings = Depends(get_settings),
    key: ApiKey = Depends(reader),
):
    question = _question(body.messages)
    if question is None:
        return openai_error(400, "no user message with text content", "invalid_request_error")
    if too_long := question_too_long(question, settings):
        return openai_error(400, too_long, "invalid_request_error")
    if problem := text_problem(question):
        return openai_error(400, f"the question {problem}", "invalid_request_error")
    with pool.connection() as conn:
        # A collection outside the key's scope is answered as one that does not exist.
        known = key.sees(body.model) and collections.find(conn, body.model) is not None
    if not known:
        return openai_error(404, f"unknown model {body.model!r}: models are llamapg collections", "invalid_request_error",
                            "model_not_found")
    created = int(time.time())
    try:
        ask = Ask(question=question, collection=body.model, k=body.k)
        if body.stream:
            started = time.perf_counter()
            prepared = engine.prepare(pool, ask)
            return StreamingResponse(_chunks(request, engine, prepared, created, started),
                                     media_type="text/event-stream")
        result = engine.answer(pool, ask, endpoint="v1/chat/completions")
    except UnknownCollection as exc:
        return openai_error(404, str(exc), "invalid_request_error", "model_not_found")
    except AnswerError as exc:
        return openai_error(502, str(exc), "upstream_error")
    request.app.state.metrics.observe_stages(result.timings_ms)
    return {
        "id": f"chatcmpl-{result.query_id}",
        "object": "chat.completion",
        "created": created,
        "model": body.model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": result.answer}, "finish_reason": "stop"}],
        "usage": engine.usage(result.prepared, result.answer),
        "sources": [s.model_dump() for s in sources_out(result.search, result.prepared.citations)],
    }


def _chunks(request: Request, engine: RagEngine, prepared, created: int, started: float) -> Iterator[str]:
    model = prepared.ask.collection

    def chunk(delta: dict, finish: str | None = None, **extra) -> str:
        body = {"id": f"chatcmpl-{created}", "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(body)}\n\n"

    sources = [s.model_dump() for s in sources_out(prepared.search, prepared.citations)]
    yield chunk({"role": "assistant", "content": ""}, sources=sources)
    try:
        for item in answer_stream(request, engine, prepared, started, "v1/chat/completions"):
            if not isinstance(item, Done):
                yield chunk({"content": item})
    except AnswerError as exc:
        yield f"data: {json.dumps({'error': {'message': str(exc), 'type': 'upstream_error'}})}\n\n"
        return
    yield chunk({}, "stop")
    yield "data: [DONE]\n\n"
