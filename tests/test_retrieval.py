"""Retrieval plans against a real pgvector: the HNSW query uses the index, and a small collection
inside a large table still gets k rows."""

from __future__ import annotations

import numpy as np
import pytest
from psycopg import sql

from assets.index.hnsw import ensure_hnsw_index
from benchmarks.synthetic import add_synthetic_collection
from llamapg import models
from llamapg.retrieval import apply_settings, build_query, choose_plan, plan_settings, retrieve

DIMENSIONS = 384


@pytest.fixture
def big_and_small(conn):
    """3,000 chunks in one collection, 10 in another whose vectors lie far from the query's."""
    rng = np.random.default_rng(7)
    big = rng.normal(size=(3000, DIMENSIONS)).astype(np.float32)
    query = big[:50].mean(axis=0)
    # The small collection points away from the query, so none of it is among the HNSW scan's
    # first candidates: exactly the case where post-filtering comes back short.
    small = (-query + rng.normal(scale=0.5, size=(10, DIMENSIONS))).astype(np.float32)
    model = models.get(conn, "all-minilm-l6-v2")
    big_id = add_synthetic_collection(conn, model, "big", big)
    small_id = add_synthetic_collection(conn, model, "small", small)
    ensure_hnsw_index(conn, model, m=16, ef_construction=64)
    conn.execute("ANALYZE")
    return model, big_id, small_id, query, small


def run_plan(conn, plan: str, model, collection_id: int, query: np.ndarray, *, explain: bool = False,
             ef_search: int = 10, iterative_scan: str = "relaxed_order") -> list[dict]:
    """The retrieval SQL with exactly the settings `retrieve` uses for the plan."""
    statement, params = build_query(plan, model, query, collection_id, 5)
    if explain:
        statement = sql.SQL("EXPLAIN (FORMAT TEXT) ") + statement
    with conn.transaction():
        apply_settings(conn, plan_settings(plan, 5, ef_search, iterative_scan))
        return conn.execute(statement, params).fetchall()


def plan_text(rows: list[dict]) -> str:
    return "\n".join(row["QUERY PLAN"] for row in rows)


@pytest.mark.parametrize("collection", ["big", "small"])
def test_hnsw_query_uses_the_index_and_exact_query_does_not(conn, big_and_small, collection):
    model, big_id, small_id, query, _ = big_and_small
    collection_id = big_id if collection == "big" else small_id
    hnsw_plan = plan_text(run_plan(conn, "hnsw", model, collection_id, query, explain=True))
    exact_plan = plan_text(run_plan(conn, "exact", model, collection_id, query, explain=True))
    assert f"Index Scan using {model.hnsw_index_name}" in hnsw_plan, hnsw_plan
    assert model.hnsw_index_name not in exact_plan, exact_plan


@pytest.mark.parametrize("plan", ["exact", "hnsw"])
def test_small_collection_in_large_table_returns_k_rows(conn, big_and_small, plan):
    model, _, small_id, query, small = big_and_small
    result = retrieve(conn, model, small_id, query, 5, plan=plan, ef_search=10)
    assert result.plan == plan
    assert len(result.sources) == 5
    assert {s.source for s in result.sources} == {"small.txt"}
    similarities = [s.similarity for s in result.sources]
    assert similarities == sorted(similarities, reverse=True)
    # The exact scan's answer is the ground truth.
    expected = small @ query / (np.linalg.norm(small, axis=1) * np.linalg.norm(query))
    if plan == "exact":
        assert np.allclose(similarities, np.sort(expected)[::-1][:5], atol=1e-5)


def test_plain_hnsw_scan_comes_back_short_without_iterative_scan(conn, big_and_small):
    """Why the plan is routed: with the filter applied after a plain HNSW scan, rows go missing."""
    model, _, small_id, query, _ = big_and_small
    rows = run_plan(conn, "hnsw", model, small_id, query, iterative_scan="off")
    assert len(rows) < 5


def test_auto_plan_is_exact_for_small_collections_and_hnsw_for_large(conn, big_and_small):
    model, big_id, small_id, query, _ = big_and_small
    assert retrieve(conn, model, small_id, query, 5, exact_max_rows=1000).plan == "exact"
    assert retrieve(conn, model, big_id, query, 5, exact_max_rows=1000).plan == "hnsw"
    assert choose_plan(10**6, index_ready=False, exact_max_rows=1000) == "exact"


def test_wrong_dimension_query_vector_is_refused(conn, big_and_small):
    model, big_id, *_ = big_and_small
    with pytest.raises(ValueError, match="384"):
        retrieve(conn, model, big_id, np.zeros(12, dtype=np.float32), 5)
