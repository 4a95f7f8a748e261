"""The query log and feedback: find poor answers, turn them into evaluation cases."""

from __future__ import annotations

from typing import Callable

import psycopg
from psycopg.types.json import Jsonb

from llamapg import queries


class UnknownQuery(LookupError):
    pass


def record(conn: psycopg.Connection, *, endpoint: str, question: str, collection: str, model: str,
           sources, timings_ms: dict, filters: dict | None = None, prompt: str | None = None,
           mode: str | None = None, answer: str | None = None) -> int:
    row = conn.execute(queries.load("querylog/insert"), {
        "endpoint": endpoint, "question": question, "collection": collection, "model": model,
        "prompt": prompt, "mode": mode, "filters": Jsonb(filters or {}),
        "chunk_ids": [s.chunk_id for s in sources], "similarities": [s.similarity for s in sources],
        "timings_ms": Jsonb(timings_ms), "answer": answer,
    }).fetchone()
    return row["id"]


def add_feedback(conn: psycopg.Connection, query_id: int, rating: int, comment: str | None,
                 sees: Callable[[str], bool] = lambda collection: True) -> int:
    """Record a rating; UnknownQuery when there is no such query, or when it asked a collection
    that `sees` hides."""
    logged = conn.execute("SELECT collection FROM query_log WHERE id = %s", (query_id,)).fetchone()
    if logged is None or not sees(logged["collection"]):
        raise UnknownQuery(f"unknown query {query_id}")
    return conn.execute(
        "INSERT INTO feedback (query_id, rating, comment) VALUES (%s, %s, %s) RETURNING id",
        (query_id, rating, comment),
    ).fetchone()["id"]
