"""Retrieval with the plan chosen here, from the request's own filter, not by the planner.

pgvector's HNSW index filters after its scan, so a selective filter can return fewer than k rows;
iterative scans fix the count only up to hnsw.max_scan_tuples, and the rarer the matching chunks,
the more of the nearest ones the scan misses. So the plan follows how many live chunks the request
matches (summed over the matching documents' maintained counts, no further than the exact plan's
limit): few, in number or as a share of the collection, an exact scan of exactly those (complete,
and fast on a small set); many, the HNSW index of the collection's own partition with an iterative
scan, completed by the exact plan whenever it still comes back short. Every request returns
min(k, matches) rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import psycopg

from psycopg import sql

from llamapg import queries
from llamapg.filters import CompiledFilters, parse_filters
from llamapg.models import EmbeddingModel
from llamapg.settings import get_settings

Plan = Literal["auto", "exact", "hnsw"]
LexicalPlan = Literal["exact", "postings"]
Mode = Literal["vector", "lexical", "hybrid"]
# Which chunks BM25 scores under each of its plans (sql/lexical/chunks_*.sql): on a small slice every
# matching chunk, on a large one the best postings of each term.
LEXICAL_CHUNKS = {"exact": "lexical/chunks_exact", "postings": "lexical/chunks_postings"}
# An unfiltered collection up to this size is scored straight from its query terms' whole posting
# lists (lexical/all_postings.sql): exact, and at 2,884 chunks 1.3 ms against 3.5 ms for bounded
# reads and per-chunk rescoring.
ALL_POSTINGS_MAX_CHUNKS = 5_000
# With filters the postings read per term are filtered after reading: read more of each list.
FILTERED_POSTINGS_FACTOR = 4


@dataclass(frozen=True)
class Fusion:
    """Reciprocal Rank Fusion and BM25 parameters."""

    rrf_k: float = 60.0
    vector_weight: float = 1.0
    lexical_weight: float = 1.0
    candidates: int = 100
    k1: float = 1.2
    b: float = 0.75
    # BM25 on the index plan: postings read per query term (impact order), and how many of the
    # chunks read are then scored exactly (at least the number of candidates asked for).
    postings_per_term: int = 2000
    rescore: int = 500

    @classmethod
    def from_settings(cls, settings) -> "Fusion":
        return cls(rrf_k=settings.rrf_k, vector_weight=settings.rrf_vector_weight,
                   lexical_weight=settings.rrf_lexical_weight, candidates=settings.hybrid_candidates,
                   k1=settings.bm25_k1, b=settings.bm25_b, postings_per_term=settings.lexical_postings_per_term,
                   rescore=settings.lexical_rescore)


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
    headings: list[str] = field(default_factory=list)  # the heading path of the chunk's section
    lexical_score: float | None = None
    score: float | None = None
    vector_rank: int | None = None
    lexical_rank: int | None = None
    rerank_score: float | None = None


@dataclass
class Retrieval:
    sources: list[Source]
    # The vector side's plan ("exact" or "hnsw"); in lexical mode, BM25's ("exact" or "postings").
    plan: str
    collection_chunks: int
    ef_search: int | None
    seconds: float
    settings: dict[str, str] = field(default_factory=dict)
    index_used: bool | None = None
    mode: str = "vector"
    # Live chunks matching the filters, exact up to the exact plan's limit and at least one more
    # above it (None without filters).
    matches: int | None = None
    # The HNSW scan came back short and the exact plan completed the answer.
    fallback: bool = False
    # BM25's plan in lexical and hybrid mode: every matching chunk scored, or the best postings of
    # each query term (None in vector mode).
    lexical_plan: str | None = None


@dataclass(frozen=True)
class PlanTuning:
    """How retrieve() chooses its plan and tunes the HNSW scan (LLAMAPG_* settings, see Settings)."""

    exact_max_rows: int
    exact_max_fraction: float
    exact_selective_max_rows: int
    lexical_exact_max_fraction: float
    lexical_exact_selective_max_rows: int
    ef_search: int
    max_scan_tuples: int
    filtered_candidates: int

    @classmethod
    def from_settings(cls, settings) -> "PlanTuning":
        return cls(exact_max_rows=settings.exact_search_max_rows,
                   exact_max_fraction=settings.exact_search_max_fraction,
                   exact_selective_max_rows=settings.exact_search_selective_max_rows,
                   lexical_exact_max_fraction=settings.lexical_exact_max_fraction,
                   lexical_exact_selective_max_rows=settings.lexical_exact_selective_max_rows,
                   ef_search=settings.hnsw_ef_search, max_scan_tuples=settings.hnsw_max_scan_tuples,
                   filtered_candidates=settings.hnsw_filtered_candidates)


@dataclass(frozen=True)
class CollectionState:
    chunks: int
    index_ready: bool
    matches: int
    # The most matching chunks the exact vector plan, and exact BM25, search in this collection
    # (sql/retrieval/collection_state.sql).
    exact_limit: int
    lexical_exact_limit: int


def collection_state(
    conn: psycopg.Connection, model: EmbeddingModel, collection_id: int, filters: CompiledFilters, tuning: PlanTuning
) -> CollectionState:
    """Live chunks, index validity, the exact plans' limits and (with filters) matching chunks, counted
    exactly up to the larger limit, in one round trip."""
    matches = sql.SQL("NULL::bigint")
    if filters:
        matches = queries.load("retrieval/count_matches",
                               fragments={"document_filters": filters.on(sql.SQL("n.document_id"))})
    row = conn.execute(
        queries.load("retrieval/collection_state", fragments={"matches": matches}),
        {"collection_id": collection_id, "index": model.hnsw_index_name(collection_id),
         "exact_max_rows": tuning.exact_max_rows, "exact_max_fraction": tuning.exact_max_fraction,
         "exact_selective_max_rows": tuning.exact_selective_max_rows,
         "lexical_exact_max_fraction": tuning.lexical_exact_max_fraction,
         "lexical_exact_selective_max_rows": tuning.lexical_exact_selective_max_rows, **filters.params},
    ).fetchone()
    chunks = row["chunks"]
    return CollectionState(chunks, row["index_ready"], chunks if row["matches"] is None else row["matches"],
                           row["exact_limit"], row["lexical_exact_limit"])


def choose_plan(state: CollectionState) -> str:
    """The vector side's plan: exact when the request matches few chunks, in number or as a share of
    the collection (or there is no index yet); HNSW otherwise.

    The share matters because HNSW filters after its scan: the rarer the matching chunks, the more
    of the graph a scan reads to find k of them, and the more of the nearest it misses, while an
    exact scan reads only the matching chunks, stored together by document. Each plan forced over
    30 questions on embedding-like chunks (docs/performance.md): at 100k, a 10% filter took 5.8 ms
    exactly against 14.2 ms through the index at recall@10 0.98, 20% 10.5 against 8.1 ms at 0.99;
    at 1M, 1% took 6.5 ms exactly against 63 ms at 0.90, 5% 26 against 34 ms at 0.95, 10% 49
    against 18 ms at 0.95. The share's limit in rows keeps an exact scan of a larger collection
    interactive: beyond it, the index's answer, however incomplete, is the better one."""
    if not state.index_ready or state.matches <= state.exact_limit:
        return "exact"
    return "hnsw"


def choose_lexical_plan(state: CollectionState) -> LexicalPlan:
    """BM25's plan: every matching chunk scored when the request matches few chunks (its own share
    and cap, lower than the vector side's: scoring a chunk's terms costs 2-4x finding its
    vector), the best postings of each query term otherwise. It needs no HNSW index. At 100k chunks
    the postings agreed with exact BM25 on the whole top 10 under 1-20% filters, in 7.5-10.5 ms
    where exact took 5.9-88 ms; at 1M, exact took 50 ms for a 1% filter against 9 ms from the
    postings at agreement@10 0.87 (docs/performance.md)."""
    return "exact" if state.matches <= state.lexical_exact_limit else "postings"


def lexical_plan_beside(plan: str) -> LexicalPlan:
    """BM25's plan that goes with a forced vector plan: every matching chunk scored beside the exact
    scan, the postings beside the HNSW index."""
    return "exact" if plan == "exact" else "postings"


# pgvector's largest hnsw.ef_search.
MAX_EF_SEARCH = 1000
# The collection size up to which the configured search budgets (ef_search, BM25's rescoring) apply
# as they are; above it they grow with the square root of the size (see grown_with_collection).
REFERENCE_CHUNKS = 100_000
# BM25's rescoring budget grows at most this many times (reached at 1.6M chunks): rescoring 2,000
# chunks took 25 ms at 1M, and more would make every question pay for the rarest ones.
MAX_RESCORE_GROWTH = 4


def grown_with_collection(budget: int, chunks: int, most: int) -> int:
    """`budget` up to 100k chunks, then grown with the square root of the collection's size, at most
    `most`: an approximate search that reads a fixed amount finds less of the true top k as the
    collection grows."""
    if chunks <= REFERENCE_CHUNKS:
        return budget
    return min(most, round(budget * (chunks / REFERENCE_CHUNKS) ** 0.5))


def collection_ef_search(ef_search: int, chunks: int) -> int:
    """The ef_search for a collection of `chunks`: the configured one up to 100k chunks, then grown
    with the square root of the size, at most pgvector's 1,000.

    At a fixed ef_search an HNSW graph's recall falls as it grows: on embedding-like vectors (m = 16,
    ef_construction = 64), ef_search 200 gave recall@10 0.987 at 100k chunks and 0.896 at 1M, where
    400 gave 0.954 (docs/performance.md). A denser graph did not buy recall more cheaply at 1M
    (ef_construction 128: 0.950 at 300; m = 24: 0.952 at 250, in the same time) and took 1.6-2.2x
    as long to build."""
    return grown_with_collection(ef_search, chunks, MAX_EF_SEARCH)


def collection_rescore(rescore: int, chunks: int) -> int:
    """How many of the chunks BM25 reads from its bounded postings are scored exactly, for a
    collection of `chunks`. With each term's 2,000 best postings, rescoring 500 agreed with exact
    BM25 on 0.900 of the top 10 at 100k chunks and 0.595 at 1M; 1,581 (grown with the size) on
    0.800 at 1M, in 21.7 ms against 13.0 ms (docs/performance.md)."""
    return grown_with_collection(rescore, chunks, MAX_RESCORE_GROWTH * rescore)


def plan_settings(plan: str, k: int, ef_search: int, iterative_scan: str = "relaxed_order",
                  max_scan_tuples: int = 20_000) -> dict[str, str]:
    """Session settings, LOCAL to the query's transaction, that make the chosen plan the one that runs.

    For HNSW: ef_search of at least k; an iterative scan so that the metadata filters, applied
    after the index scan, still yield k rows, up to max_scan_tuples; and sorting disabled, so that
    the planner cannot trade the index scan for a sort of the collection. The exact plan needs none.
    (A prepared statement may run a generic plan, see db.configure: the settings are read when it
    runs, and each statement's text belongs to one plan and one set of settings.)
    """
    if plan != "hnsw":
        return {}
    return {
        "hnsw.ef_search": str(max(ef_search, k)),
        "hnsw.iterative_scan": iterative_scan,
        "hnsw.max_scan_tuples": str(max_scan_tuples),
        "enable_sort": "off",
    }


def apply_settings(conn: psycopg.Connection, settings: dict[str, str]) -> None:
    """One round trip for all of them."""
    if not settings:
        return
    calls = sql.SQL(", ").join(sql.SQL("set_config(%s, %s, true)") for _ in settings)
    conn.execute(sql.SQL("SELECT ") + calls, [part for pair in settings.items() for part in pair])


def run_with_settings(conn: psycopg.Connection, statement: sql.Composable, params: dict,
                      settings: dict[str, str]) -> list[dict]:
    """The statement under LOCAL settings, which end with its transaction and never leak into a pooled
    connection. Pipelined: BEGIN, the settings and the statement are sent without waiting for each
    other's answers. Without settings, the statement alone (a transaction costs 0.15 ms)."""
    if not settings:
        return conn.execute(statement, params).fetchall()
    with conn.pipeline(), conn.transaction():
        apply_settings(conn, settings)
        cursor = conn.execute(statement, params)
    return cursor.fetchall()


def build_query(
    plan: str,
    model: EmbeddingModel,
    query_vector: np.ndarray,
    collection_id: int,
    k: int,
    filters: CompiledFilters = CompiledFilters(),
    min_similarity: float | None = None,
    *,
    mode: str = "vector",
    question: str = "",
    language: str = "english",
    fusion: Fusion = Fusion(),
    collection_chunks: int | None = None,
    filtered_candidates: int,
    lexical_plan: LexicalPlan | None = None,
) -> tuple[sql.Composable, dict]:
    """The statement of `mode` (sql/retrieval/<mode>.sql, composed with the vector candidates of
    `plan` and BM25's of `lexical_plan`, by default the one that matches `plan`) and its bound
    parameters. `collection_chunks`, the collection's live chunks
    when known: an unfiltered small collection's BM25 reads its terms' whole posting lists, and a
    large one's rescores more (collection_rescore). `filtered_candidates`: the vector candidates an
    HNSW scan with metadata filters reads before the best k are kept (see
    Settings.hnsw_filtered_candidates)."""
    lexical_plan = lexical_plan or lexical_plan_beside(plan)
    filter_sql = filters.on(sql.SQL("c.document_id"))
    candidate_filters = filters.on_documents_listed(sql.SQL("c.document_id")) if plan == "exact" else filter_sql
    candidates = queries.load(f"retrieval/candidates_{plan}", fragments={"filters": candidate_filters},
                              vectors=model.vectors_table, vectors_by_document=model.vectors_by_document_table)
    filtered = (queries.load("lexical/filter_hits", fragments={"filters": filters.on(sql.SQL("r.document_id"))})
                if filters else sql.SQL(""))
    terms = queries.load("lexical/terms")
    if collection_chunks is not None and collection_chunks <= ALL_POSTINGS_MAX_CHUNKS and not filters:
        lexical = queries.load("lexical/all_postings", fragments={"terms": terms})
    else:
        scored = queries.load(LEXICAL_CHUNKS[lexical_plan], fragments={"filters": filter_sql, "filtered": filtered})
        lexical = queries.load("lexical/candidates", fragments={"terms": terms, "chunks": scored})
    statement = queries.load(f"retrieval/{mode}", fragments={"candidates": candidates, "lexical": lexical},
                             vectors=model.vectors_table)
    params = {
        "query": np.asarray(query_vector, dtype=np.float32),
        "collection_id": collection_id,
        "k": k,
        "n": _vector_candidates(plan, mode, k, bool(filters), fusion, filtered_candidates),
        # Cosine distance is at most 2: no threshold, no bound.
        "max_distance": 2.0 if min_similarity is None else 1.0 - min_similarity,
        "question": question,
        "language": language,
        "k1": fusion.k1,
        "b": fusion.b,
        "rrf_k": fusion.rrf_k,
        "vector_weight": fusion.vector_weight,
        "lexical_weight": fusion.lexical_weight,
        "postings_per_term": fusion.postings_per_term * (FILTERED_POSTINGS_FACTOR if filters else 1),
        "rescore": max(collection_rescore(fusion.rescore, collection_chunks or 0), k,
                       fusion.candidates if mode == "hybrid" else 0),
        **filters.params,
    }
    return statement, params


def _vector_candidates(plan: str, mode: str, k: int, filtered: bool, fusion: Fusion, filtered_candidates: int) -> int:
    """How many vector candidates the statement reads: hybrid fuses two longer lists; an HNSW scan
    with filters reads more than k and keeps the best k; otherwise k."""
    if mode == "hybrid":
        return max(k, fusion.candidates)
    if plan == "hnsw" and filtered:
        return max(k, filtered_candidates)
    return k


def retrieve(
    conn: psycopg.Connection,
    model: EmbeddingModel,
    collection_id: int,
    query_vector: np.ndarray,
    k: int,
    *,
    plan: Plan = "auto",
    tuning: PlanTuning | None = None,
    filters: dict | None = None,
    min_similarity: float | None = None,
    explain: bool = False,
    mode: Mode = "vector",
    question: str = "",
    language: str = "english",
    fusion: Fusion = Fusion(),
) -> Retrieval:
    """The k best live chunks of the collection that pass the metadata filters and threshold.

    `plan` "auto" lets each side choose (choose_plan, choose_lexical_plan); "exact" or "hnsw" forces
    both: every matching chunk scored, or the HNSW index beside BM25's postings. `tuning` defaults to
    the settings' (PlanTuning.from_settings). With `explain`, the query's plan is read first to
    report whether the HNSW index is used. Raises FilterError for a filter that
    cannot be applied.
    """
    started = time.perf_counter()
    if len(query_vector) != model.dimensions:
        raise ValueError(
            f"query vector has {len(query_vector)} dimensions, model {model.name} has {model.dimensions}"
        )
    tuning = tuning or PlanTuning.from_settings(get_settings())
    compiled = parse_filters(filters)  # once: the state probe and each statement place it on their columns
    state = collection_state(conn, model, collection_id, compiled, tuning)
    if plan == "auto":
        plan, lexical_plan = choose_plan(state), choose_lexical_plan(state)
    else:  # forced: both sides exact, or both through their indexes
        lexical_plan = lexical_plan_beside(plan)
    options = dict(mode=mode, question=question, language=language, fusion=fusion,
                   collection_chunks=state.chunks,
                   filtered_candidates=tuning.filtered_candidates, lexical_plan=lexical_plan)
    statement, params = build_query(plan, model, query_vector, collection_id, k, compiled, min_similarity, **options)
    # Lexical mode reads no vectors: it takes none of the HNSW plan's settings.
    settings = plan_settings("exact" if mode == "lexical" else plan, params["n"],
                             collection_ef_search(tuning.ef_search, state.chunks),
                             max_scan_tuples=tuning.max_scan_tuples)
    index_used = None
    if explain:
        plan_rows = run_with_settings(conn, sql.SQL("EXPLAIN ") + statement, params, settings)
        index_used = any(model.hnsw_index_name(collection_id) in row["QUERY PLAN"] for row in plan_rows)
    rows = run_with_settings(conn, statement, params, settings)
    fallback = plan == "hnsw" and mode != "lexical" and len(rows) < min(k, state.matches)
    if fallback:
        # The index scan stopped (max_scan_tuples) before k rows passed the filters: complete exactly
        # (BM25 keeps its plan).
        statement, params = build_query("exact", model, query_vector, collection_id, k, compiled, min_similarity,
                                        **options)
        rows = run_with_settings(conn, statement, params, plan_settings("exact", k, tuning.ef_search))
    sources = [Source(**{**row, **{key: _float(row[key]) for key in ("similarity", "lexical_score", "score")}})
               for row in rows]
    effective_ef = int(settings["hnsw.ef_search"]) if "hnsw.ef_search" in settings else None
    return Retrieval(sources, lexical_plan if mode == "lexical" else plan, state.chunks, effective_ef,
                     time.perf_counter() - started, settings, index_used, mode, state.matches if filters else None,
                     fallback, None if mode == "vector" else lexical_plan)


def _float(value) -> float | None:
    return None if value is None else float(value)
