"""Vector retrieval with the plan chosen here, not by the planner.

pgvector's HNSW index filters after its scan, so a selective collection filter can return fewer
than k rows; iterative scans fix the count but not the recall. Small collections are therefore
searched exactly (complete, and faster on a small slice); large ones through HNSW with an
iterative scan.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import psycopg

from llamapg import queries
from llamapg.models import EmbeddingModel

Plan = Literal["auto", "exact", "hnsw"]


@dataclass(frozen=True)
class Source:
    chunk_id: int
    document_id: int
    title: str | None
    source: str
    page: int | None
    text: str
    similarity: float
    metadata: dict = field(default_factory=dict)


@dataclass
class Retrieval:
    sources: list[Source]
    plan: str
    collection_chunks: int
    ef_search: int | None
    seconds: float


def hnsw_index_ready(conn: psycopg.Connection, model: EmbeddingModel) -> bool:
    row = conn.execute(queries.load("index/hnsw_status"), {"index": model.hnsw_index_name}).fetchone()
    return bool(row and row["valid"])


def choose_plan(collection_chunks: int, index_ready: bool, exact_max_rows: int) -> str:
    if not index_ready or collection_chunks <= exact_max_rows:
        return "exact"
    return "hnsw"


def plan_settings(plan: str, k: int, ef_search: int, iterative_scan: str = "relaxed_order") -> dict[str, str]:
    """Session settings, LOCAL to the query's transaction, that make the chosen plan the one that runs.

    For HNSW: ef_search of at least k; an iterative scan so the collection filter, applied after
    the index scan, still yields k rows; and sorting disabled, so the planner cannot trade the
    index scan for a sort of the collection's slice.
    """
    if plan != "hnsw":
        return {}
    return {
        "hnsw.ef_search": str(max(ef_search, k)),
        "hnsw.iterative_scan": iterative_scan,
        "enable_sort": "off",
    }


def apply_settings(conn: psycopg.Connection, settings: dict[str, str]) -> None:
    for name, value in settings.items():
        conn.execute("SELECT set_config(%s, %s, true)", (name, value))


def retrieve(
    conn: psycopg.Connection,
    model: EmbeddingModel,
    collection_id: int,
    query_vector: np.ndarray,
    k: int,
    *,
    plan: Plan = "auto",
    exact_max_rows: int = 5_000,
    ef_search: int = 100,
) -> Retrieval:
    started = time.perf_counter()
    if len(query_vector) != model.dimensions:
        raise ValueError(
            f"query vector has {len(query_vector)} dimensions, model {model.name} has {model.dimensions}"
        )
    size = conn.execute(queries.load("retrieval/collection_size"), {"collection_id": collection_id}).fetchone()
    chunks = size["chunks"]
    if plan == "auto":
        plan = choose_plan(chunks, hnsw_index_ready(conn, model), exact_max_rows)
    settings = plan_settings(plan, k, ef_search)
    with conn.transaction():
        # LOCAL settings end with this transaction and never leak into pooled connections.
        apply_settings(conn, settings)
        rows = conn.execute(
            queries.load(f"retrieval/{plan}", vectors=model.vectors_table),
            {"query": np.asarray(query_vector, dtype=np.float32), "collection_id": collection_id, "k": k},
        ).fetchall()
    sources = [Source(**{**row, "similarity": float(row["similarity"])}) for row in rows]
    effective_ef = int(settings["hnsw.ef_search"]) if settings else None
    return Retrieval(sources, plan, chunks, effective_ef, time.perf_counter() - started)
