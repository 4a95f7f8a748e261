"""A streamed answer, shared by POST /query and the OpenAI-compatible facade."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

from fastapi import Request

from llamapg.rag import PreparedAnswer, RagEngine


@dataclass(frozen=True)
class Done:
    query_id: int
    timings_ms: dict[str, float]


def answer_stream(
    request: Request, engine: RagEngine, prepared: PreparedAnswer, started: float, endpoint: str
) -> Iterator[str | Done]:
    """The answer's text deltas, then Done once the query is logged; AnswerError propagates."""
    generating = time.perf_counter()
    parts: list[str] = []
    for delta in engine.write_stream(prepared):
        parts.append(delta)
        yield delta
    timings = engine.finish(prepared, started, generating)
    # The request's connection is back in the pool once streaming starts: log on a fresh one.
    with request.app.state.pool.connection() as conn:
        query_id = engine.log(conn, endpoint, prepared, timings, "".join(parts))
    request.app.state.metrics.observe_stages(timings)
    yield Done(query_id, timings)
