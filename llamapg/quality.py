"""Checks a model must pass before it answers queries: complete coverage, a valid index, recall."""

from __future__ import annotations

import numpy as np
import psycopg

from llamapg import queries
from llamapg.models import EmbeddingModel
from llamapg.indexes import hnsw_index_ready
from llamapg.retrieval import collection_ef_search, plan_settings, run_with_settings

RECALL_TARGET = 0.95


def missing_embeddings(conn: psycopg.Connection, model: EmbeddingModel, collection_id: int) -> tuple[int, int]:
    """(chunks without a vector, chunks) for one collection."""
    row = conn.execute(
        queries.load("checks/missing_embeddings", vectors=model.vectors_table), {"collection_id": collection_id}
    ).fetchone()
    return row["missing"], row["chunks"]


def live_coverage(conn: psycopg.Connection, model: EmbeddingModel, collection_id: int) -> tuple[int, int]:
    """(live chunks, live chunks with a vector for the model) of one collection."""
    row = conn.execute(
        queries.load("checks/live_coverage", vectors=model.vectors_table), {"collection_id": collection_id}
    ).fetchone()
    return row["live"], row["embedded"]


def awaits_backfill(conn: psycopg.Connection, model: EmbeddingModel, collection_id: int) -> bool:
    """True when the collection has live chunks and the model has embedded none of them: the model
    was added but not backfilled here, which only a deliberate backfill should do."""
    live, embedded = live_coverage(conn, model, collection_id)
    return live > 0 and embedded == 0


def vector_column_matches(conn: psycopg.Connection, model: EmbeddingModel) -> tuple[bool, str]:
    row = conn.execute(queries.load("checks/vector_column_type"), {"table": model.vectors_table}).fetchone()
    found = row["type"] if row else "missing"
    return found == f"vector({model.dimensions})", found


def coverage(conn: psycopg.Connection, model: EmbeddingModel) -> list[dict]:
    return conn.execute(queries.load("models/coverage", vectors=model.vectors_table)).fetchall()


def hnsw_recall(
    conn: psycopg.Connection, model: EmbeddingModel, *, k: int = 10, sample: int = 50, ef_search: int = 100
) -> tuple[float, int]:
    """Mean recall@k of the HNSW index against exact search, with stored vectors as queries, each at
    the ef_search that queries of its collection get."""
    probes = conn.execute(queries.load("checks/sample_vectors", vectors=model.vectors_table), {"sample": sample}).fetchall()
    if not probes:
        return 1.0, 0
    exact_sql = queries.load("checks/nearest_exact", vectors=model.vectors_table)
    hnsw_sql = queries.load("checks/nearest_hnsw", vectors=model.vectors_table)
    recalls = []
    for probe in probes:
        # Each probe is searched within its own collection: its partition and that partition's index.
        query = {"query": probe["embedding"], "collection_id": probe["collection_id"], "k": k}
        truth = {row["content_hash"] for row in conn.execute(exact_sql, query)}
        found = {row["content_hash"] for row in run_with_settings(
            conn, hnsw_sql, query,
            plan_settings("hnsw", k, collection_ef_search(ef_search, probe["collection_chunks"]), iterative_scan="off"))}
        recalls.append(len(truth & found) / len(truth))
    return float(np.mean(recalls)), len(probes)


def readiness(conn: psycopg.Connection, model: EmbeddingModel) -> list[str]:
    """What stops `model` from answering queries; empty when it may be activated."""
    problems = []
    incomplete = [row for row in coverage(conn, model) if row["embedded"] < row["chunks"]]
    for row in incomplete:
        problems.append(f"collection {row['collection']}: {row['embedded']}/{row['chunks']} chunks embedded")
    if not hnsw_index_ready(conn, model):
        problems.append("no valid HNSW index on every collection (materialize hnsw_index)")
    recall = (model.checks or {}).get("recall_at_10")
    if recall is None:
        problems.append("the index recall check has not run")
    elif recall < RECALL_TARGET:
        problems.append(f"index recall@10 {recall:.3f} is below {RECALL_TARGET}")
    return problems
