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

from psycopg import sql

from llamapg import queries
from llamapg.filters import compile_filters
from llamapg.models import EmbeddingModel

Plan = Literal["auto", "exact", "hnsw"]
Mode = Literal["vector", "lexical", "hybrid"]


@dataclass(frozen=True)
class Fusion:
    """Reciprocal Rank Fusion and BM25 parameters."""

    rrf_k: float = 60.0
    vector_weight: float = 1.0
    lexical_weight: float = 1.0
    candidates: int = 100
    k1: float = 1.2
    b: float = 0.75


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
    char_start: int = 0
    char_end: int = 0
    lexical_score: float | None = None
    score: float | None = None
    vector_rank: int | None = None
    lexical_rank: int | None = None
    rerank_score: float | None = None


@dataclass
class Retrieval:
    sources: list[Source]
    plan: str
    collection_chunks: int
    ef_search: int | None
    seconds: float
    settings: dict[str, str] = field(default_factory=dict)
    index_used: bool | None = None
    mode: str = "vector"


def index_status(conn: psycopg.Connection, index: str) -> dict | None:
    """{name, valid, options, size_bytes} of an index, or None when it does not exist."""
    return conn.execute(queries.load("index/hnsw_status"), {"index": index}).fetchone()


def hnsw_index_ready(conn: psycopg.Connection, model: EmbeddingModel) -> bool:
    row = index_status(conn, model.hnsw_index_name)
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


def build_query(
    plan: str,
    model: EmbeddingModel,
    query_vector: np.ndarray,
    collection_id: int,
    k: int,
    filters: dict | None = None,
    min_similarity: float | None = None,
    *,
    mode: str = "vector",
    question: str = "",
    language: str = "english",
    fusion: Fusion = Fusion(),
) -> tuple[sql.Composable, dict]:
    """The statement of `mode` (sql/retrieval/<mode>.sql, composed with the candidate queries of
    `plan` and BM25) and its bound parameters."""
    filter_sql, filter_params = compile_filters(filters)
    candidates = queries.load(f"retrieval/candidates_{plan}", fragments={"filters": filter_sql},
                              vectors=model.vectors_table)
    lexical = queries.load("lexical/candidates", fragments={"filters": filter_sql})
    statement = queries.load(f"retrieval/{mode}", fragments={"candidates": candidates, "lexical": lexical},
                             vectors=model.vectors_table)
    params = {
        "query": np.asarray(query_vector, dtype=np.float32),
        "collection_id": collection_id,
        "k": k,
        # Hybrid fuses two longer candidate lists; the other modes need only k.
        "n": max(k, fusion.candidates) if mode == "hybrid" else k,
        # Cosine distance is at most 2: no threshold, no bound.
        "max_distance": 2.0 if min_similarity is None else 1.0 - min_similarity,
        "question": question,
        "language": language,
        "k1": fusion.k1,
        "b": fusion.b,
        "rrf_k": fusion.rrf_k,
        "vector_weight": fusion.vector_weight,
        "lexical_weight": fusion.lexical_weight,
        **filter_params,
    }
    return statement, params


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
    filters: dict | None = None,
    min_similarity: float | None = None,
    explain: bool = False,
    mode: Mode = "vector",
    question: str = "",
    language: str = "english",
    fusion: Fusion = Fusion(),
) -> Retrieval:
    """The k nearest live chunks of the collection that pass the metadata filters and threshold.

    With `explain`, the query's plan is read first to report whether the HNSW index is used.
    Raises FilterError for a filter that cannot be applied.
    """
    started = time.perf_counter()
    if len(query_vector) != model.dimensions:
        raise ValueError(
            f"query vector has {len(query_vector)} dimensions, model {model.name} has {model.dimensions}"
        )
    size = conn.execute(queries.load("retrieval/collection_size"), {"collection_id": collection_id}).fetchone()
    chunks = size["chunks"]
    if plan == "auto":
        plan = choose_plan(chunks, hnsw_index_ready(conn, model), exact_max_rows)
    statement, params = build_query(plan, model, query_vector, collection_id, k, filters, min_similarity,
                                    mode=mode, question=question, language=language, fusion=fusion)
    settings = plan_settings(plan, params["n"], ef_search) if mode != "lexical" else {}
    index_used = None
    with conn.transaction():
        # LOCAL settings end with this transaction and never leak into pooled connections.
        apply_settings(conn, settings)
        if explain:
            plan_rows = conn.execute(sql.SQL("EXPLAIN ") + statement, params).fetchall()
            index_used = any(model.hnsw_index_name in row["QUERY PLAN"] for row in plan_rows)
        rows = conn.execute(statement, params).fetchall()
    sources = [Source(**{**row, **{key: _float(row[key]) for key in ("similarity", "lexical_score", "score")}})
               for row in rows]
    effective_ef = int(settings["hnsw.ef_search"]) if settings else None
    return Retrieval(sources, plan, chunks, effective_ef, time.perf_counter() - started, settings, index_used, mode)


def _float(value) -> float | None:
    return None if value is None else float(value)
