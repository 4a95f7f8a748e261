"""Retrieval at scale: every mode and filter selectivity on 100k and 1M synthetic chunks in llamapg's
own schema, beside bare pgvector SQL on the same vectors in the same run.

    .venv/bin/python -m benchmarks.retrieval [--chunks 100000] [--chunks 1000000] [--queries 100] [--json FILE]

For each size N a scratch database on the configured server (the embedded one by default) holds two
collections in the same tables: `main` (N chunks over N/100 documents, metadata
{"bucket": document % 1000, "year": 2000 + document % 25}) and `other` (N/9 chunks, so that the
table holds N + N/9 rows and `other` is 10% of it). Chunk texts are Zipf-distributed words (common
words shared by most chunks, rare ones by few); vectors are 384-d with the neighbourhood structure of
real sentence embeddings (benchmarks.synthetic.EmbeddingLike; `--vectors isotropic` for noise around
topic centres, a harder case for the graph than real embeddings). For each case it prints
the SQL time of `retrieve()` (p50/p99 ms, the state probe and settings included, the question's
embedding not), rows returned (min-max), recall@10 against exact search (vector: numpy over the same
vectors; lexical and hybrid: llamapg's exact plan, on the first 20 queries) and the plan chosen; and bare pgvector's best plan for
the same request: the HNSW index alone (at the same ef_search), or a btree on the filter column then an
exact scan. Before the first case each collection's index is warmed with 300 searches of stored
vectors, as a service's would be after a while, and within a case llamapg and bare pgvector take
each question in turn, the order rotated, so that neither finds the other's pages warmed for it.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from psycopg import sql

from benchmarks.synthetic import VECTOR_KINDS, SentenceMaker, add_synthetic_collection
from llamapg import db, migrations, models
from llamapg.indexes import ensure_hnsw_index
from llamapg.retrieval import Fusion, PlanTuning, apply_settings, collection_ef_search, plan_settings, retrieve
from llamapg.settings import DEFAULT_MODEL_NAME, get_settings

SCRATCH = "llamapg_benchmark"
K = 10
# Exact BM25 over a whole collection takes seconds at 1M: lexical and hybrid recall is measured
# against it on this many of the queries (all of them are timed).
EXACT_REFERENCES = 20
CHUNKS_PER_DOCUMENT = 100
WORDS_PER_CHUNK = 40

# Filters by selectivity over `main` (bucket = document % 1000).
FILTERS = {
    "0.1%": ({"bucket": 7}, lambda bucket: bucket == 7),
    "1%": ({"bucket": {"in": list(range(10))}}, lambda bucket: bucket < 10),
    "10% (range)": ({"bucket": {"lt": 100}}, lambda bucket: bucket < 100),
    "10% (in)": ({"bucket": {"in": list(range(100))}}, lambda bucket: bucket < 100),
    "50%": ({"bucket": {"gte": 500}}, lambda bucket: bucket >= 500),
}


@dataclass
class Case:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    recalls: list[float] = field(default_factory=list)
    plans: set[str] = field(default_factory=set)

    def summary(self) -> dict:
        quantiles = np.percentile(self.latencies_ms, [50, 99])
        return {"case": self.name, "p50_ms": round(float(quantiles[0]), 2), "p99_ms": round(float(quantiles[1]), 2),
                "rows_min": min(self.rows), "rows_max": max(self.rows),
                "recall_at_10": round(float(np.mean(self.recalls)), 4) if self.recalls else None,
                "plan": "+".join(sorted(self.plans))}


@dataclass
class Runner:
    """One system's side of a case: `step(number, query_vector, question)` runs and records one
    question in `case`; `close` releases what the runner opened."""
    case: Case
    step: Callable[[int, np.ndarray, str], None]
    close: Callable[[], None] = lambda: None


def interleaved(runners: list[Runner], inputs: list[tuple[np.ndarray, str]]) -> list[dict]:
    """Every question through every runner, the order rotated from one question to the next. The
    first to search a question's part of the graph brings its pages into memory: run all of
    llamapg's questions and then bare pgvector's, the same statement took 19.1 ms run first and
    12.9 ms run second at 1M (EXPLAIN ANALYZE, 30 questions), 12.4 and 12.1 ms alternated."""
    try:
        for number, (query, question) in enumerate(inputs):
            for offset in range(len(runners)):
                runners[(number + offset) % len(runners)].step(number, query, question)
    finally:
        for runner in runners:
            runner.close()
    return [runner.case.summary() for runner in runners]


def _recall(summary: dict) -> str:
    return "      -" if summary["recall_at_10"] is None else f"{summary['recall_at_10']:>7.3f}"


def timed(function):
    started = time.perf_counter()
    value = function()
    return value, (time.perf_counter() - started) * 1000


def build(conn, model, chunks: int, rng: np.random.Generator, reuse: bool, vectors_kind: str, queries: int,
          settings) -> dict:
    """The collections (generated again, identically, when reusing a kept database) and the questions' vectors."""
    generator = VECTOR_KINDS[vectors_kind](rng, model.dimensions)
    maker = SentenceMaker(rng)
    built = {}
    for name, size in (("main", chunks), ("other", chunks // 9)):
        started = time.perf_counter()
        vectors, questions = generator.chunks(size, CHUNKS_PER_DOCUMENT, queries if name == "main" else 0)
        built.setdefault("query_vectors", questions)
        texts = maker.texts(size, WORDS_PER_CHUNK)
        documents = max(1, size // CHUNKS_PER_DOCUMENT)
        existing = conn.execute("SELECT id FROM collections WHERE name = %s", (name,)).fetchone() if reuse else None
        collection_id = existing["id"] if existing else add_synthetic_collection(
            conn, model, name, vectors, documents=documents, texts=texts,
            metadata=lambda number: {"bucket": number % 1000, "year": 2000 + number % 25})
        loaded = time.perf_counter() - started
        print(f"{name}: {size:,} chunks over {documents:,} documents loaded in {loaded:.0f}s", flush=True)
        buckets = (np.arange(size) // -(-size // documents)) % 1000
        built[name] = {"name": name, "id": collection_id, "vectors": vectors, "texts": texts, "buckets": buckets,
                       "load_s": loaded}
    started = time.perf_counter()
    report = ensure_hnsw_index(conn, model, m=settings.hnsw_m, ef_construction=settings.hnsw_ef_construction)
    print(f"HNSW indexes (m={report.m}, ef_construction={report.ef_construction}): {report.partitions} partitions, "
          f"{report.vectors:,} vectors, "
          f"{report.size_bytes / 1e6:.0f} MB, {report.action} in {time.perf_counter() - started:.0f}s", flush=True)
    if not reuse:
        conn.execute("VACUUM ANALYZE")
    built["index_build_s"] = report.seconds
    built["maker"] = maker
    return built


def bare_setup(conn, collection: dict, model) -> None:
    """A bare filter column beside the same vectors: (content_hash, bucket) with a btree."""
    conn.execute("DROP TABLE IF EXISTS bare_meta")
    conn.execute("CREATE TABLE bare_meta (content_hash bytea PRIMARY KEY, bucket integer NOT NULL)")
    conn.execute("""INSERT INTO bare_meta
                    SELECT c.content_hash, (d.metadata ->> 'bucket')::int FROM chunks c JOIN documents d ON d.id = c.document_id
                    WHERE c.collection_id = %s""", (collection["id"],))
    conn.execute("CREATE INDEX ON bare_meta (bucket)")
    conn.execute("ANALYZE bare_meta")


def bare_queries(partition: str) -> dict[str, sql.Composable]:
    table = sql.Identifier(partition)
    return {
        "hnsw": sql.SQL("SELECT v.content_hash FROM {} v ORDER BY v.embedding <=> %(q)s LIMIT %(k)s").format(table),
        "hnsw+filter": sql.SQL(
            "SELECT v.content_hash FROM {} v JOIN bare_meta b ON b.content_hash = v.content_hash"
            " WHERE b.bucket = ANY(%(buckets)s) ORDER BY v.embedding <=> %(q)s LIMIT %(k)s").format(table),
        "btree+exact": sql.SQL(
            "SELECT content_hash FROM (SELECT v.content_hash, v.embedding <=> %(q)s AS distance"
            " FROM bare_meta b JOIN {} v ON v.content_hash = b.content_hash AND v.collection_id = %(collection_id)s"
            " WHERE b.bucket = ANY(%(buckets)s) OFFSET 0) s ORDER BY distance LIMIT %(k)s").format(table),
    }


WARM_UP_QUERIES = 300


def warm_up(conn, model, built: dict, settings) -> None:
    """A service that has been answering for a while has its index in PostgreSQL's buffers: before
    the first case, search each collection with stored vectors (not the measured questions) until
    that is so, since a freshly built or reloaded index would make whichever case runs first pay
    for reading it."""
    started = time.perf_counter()
    for name in ("main", "other"):
        collection = built[name]
        ef_search = collection_ef_search(settings.hnsw_ef_search, len(collection["vectors"]))
        statement = bare_queries(model.partition(collection["id"]))["hnsw"]
        picked = np.random.default_rng(0).integers(0, len(collection["vectors"]), WARM_UP_QUERIES)
        for vector in collection["vectors"][picked]:
            with conn.transaction():
                apply_settings(conn, plan_settings("hnsw", K, ef_search))
                conn.execute(statement, {"q": vector, "k": K}).fetchall()
    print(f"warmed up with {WARM_UP_QUERIES} stored vectors per collection in {time.perf_counter() - started:.0f}s",
          flush=True)


def plan_label(mode: str, plan: str, lexical_plan: str | None) -> str:
    """The plan column: the vector side's plan, with BM25's beside it in hybrid mode."""
    return f"{plan}/{lexical_plan}" if mode == "hybrid" else plan


def exact_truth(vectors: np.ndarray, normalised: np.ndarray, query: np.ndarray, allowed: np.ndarray | None) -> list[int]:
    similarity = normalised @ (query / np.linalg.norm(query))
    if allowed is not None:
        similarity = np.where(allowed, similarity, -np.inf)
    top = np.argpartition(-similarity, K)[:K]
    return [int(i) for i in top[np.argsort(-similarity[top])] if np.isfinite(similarity[i])]


def run_size(url: str, chunks: int, queries: int, settings, reuse: bool = False, only: str | None = None,
             vectors_kind: str = "embedding-like") -> dict:
    rng = np.random.default_rng(chunks)
    with db.connect(url, vectors=False, autocommit=True) as conn:
        migrations.migrate(conn)
        model = models.register_default(conn, DEFAULT_MODEL_NAME)
    results: list[dict] = []
    with db.connect(url, autocommit=True) as conn:
        built = build(conn, model, chunks, rng, reuse, vectors_kind, queries, settings)
        main = built["main"]
        bare_setup(conn, main, model)
        fusion = Fusion.from_settings(settings)
        options = dict(tuning=PlanTuning.from_settings(settings), fusion=fusion)
        for name in ("main", "other"):
            collection = built[name]
            ids = [row["id"] for row in conn.execute(
                "SELECT id FROM chunks WHERE collection_id = %s ORDER BY id", (collection["id"],))]
            collection["position"] = {chunk_id: position for position, chunk_id in enumerate(ids)}
            collection["hashes"] = {row["content_hash"]: collection["position"][row["id"]] for row in conn.execute(
                "SELECT id, content_hash FROM chunks WHERE collection_id = %s", (collection["id"],))}
            collection["normalised"] = collection["vectors"] / np.linalg.norm(collection["vectors"], axis=1, keepdims=True)
        query_vectors = built["query_vectors"]
        questions = [built["maker"].question(main["texts"][i]) for i in rng.integers(0, len(main["texts"]), queries)]
        warm_up(conn, model, built, settings)

        def llamapg_case(label, collection, *, mode="vector", filters=None, allowed=None) -> Runner:
            case = Case(label)

            def step(number: int, query: np.ndarray, question: str) -> None:
                result, ms = timed(lambda: retrieve(conn, model, collection["id"], query, K, mode=mode, question=question,
                                                    filters=filters, **options))
                case.latencies_ms.append(ms)
                case.rows.append(len(result.sources))
                fallback = "+fallback" if result.fallback else ""
                case.plans.add(plan_label(mode, result.plan, result.lexical_plan) + fallback)
                found = [collection["position"][s.chunk_id] for s in result.sources]
                if mode == "vector":
                    truth = exact_truth(collection["vectors"], collection["normalised"], query, allowed)
                elif number >= EXACT_REFERENCES:
                    return
                else:
                    reference = retrieve(conn, model, collection["id"], query, K, mode=mode, question=question,
                                         filters=filters, plan="exact", **options)
                    truth = [collection["position"][s.chunk_id] for s in reference.sources]
                case.recalls.append(len(set(found) & set(truth)) / max(1, len(truth)))
            return Runner(case, step)

        def bare_case(label, collection, statement, *, buckets=None, allowed=None, hnsw=True) -> Runner:
            case = Case(label)
            partition = model.partition(collection["id"])
            # The same index and ef_search as llamapg's plan for this collection.
            ef_search = collection_ef_search(settings.hnsw_ef_search, len(collection["vectors"]))

            def step(number: int, query: np.ndarray, question: str) -> None:
                params = {"q": query, "k": K, "buckets": buckets, "collection_id": collection["id"]}

                def run():  # plain SQL in a transaction: the baseline, not llamapg's own mechanism
                    with conn.transaction():
                        if hnsw:
                            apply_settings(conn, plan_settings("hnsw", K, ef_search,
                                                               max_scan_tuples=settings.hnsw_max_scan_tuples))
                        return conn.execute(bare_queries(partition)[statement], params).fetchall()
                rows, ms = timed(run)
                case.latencies_ms.append(ms)
                case.rows.append(len(rows))
                case.plans.add(statement)
                truth = exact_truth(collection["vectors"], collection["normalised"], query, allowed)
                case.recalls.append(len({collection["hashes"][r["content_hash"]] for r in rows} & set(truth)) / max(1, len(truth)))
            return Runner(case, step)

        size = f"{len(main['vectors']):,}"
        other = built["other"]
        # Each case runs when it is printed (and only those matching --only), llamapg and bare pgvector
        # interleaved question by question.
        cases = [
            ("vector, unfiltered", partial(llamapg_case, f"vector {size}", main),
             [partial(bare_case, "bare hnsw", main, "hnsw")]),
            (f"vector, other collection ({len(other['vectors']):,}, 10% of the table)",
             partial(llamapg_case, "vector", other), [partial(bare_case, "bare hnsw", other, "hnsw")]),
        ]
        for label, (filters, predicate) in FILTERS.items():
            allowed = predicate(main["buckets"])
            buckets = [int(b) for b in range(1000) if predicate(b)]
            cases.append((f"vector, filter {label} ({int(allowed.sum()):,} chunks)",
                          partial(llamapg_case, "vector", main, filters=filters, allowed=allowed),
                          [partial(bare_case, "bare btree+exact", main, "btree+exact", buckets=buckets,
                                   allowed=allowed, hnsw=False),
                           partial(bare_case, "bare hnsw+filter", main, "hnsw+filter", buckets=buckets,
                                   allowed=allowed)]))
        def search_api_case(label, collection, mode="hybrid") -> Runner:
            """/search through the app (in-process ASGI client), the question embedded by the bundled model."""
            import os

            from fastapi.testclient import TestClient

            from benchmarks.load import api_headers
            from query_service.main import create_app

            os.environ["LLAMAPG_DATABASE_URL"] = url
            get_settings.cache_clear()
            case = Case(label)
            headers = api_headers()
            client = TestClient(create_app(get_settings()), base_url="http://localhost")
            client.__enter__()

            def step(number: int, query: np.ndarray, question: str) -> None:
                response, ms = timed(lambda: client.post(
                    "/search", json={"question": question, "collection": collection["name"], "k": K, "mode": mode},
                    headers=headers))
                assert response.status_code == 200, response.text
                body = response.json()
                case.latencies_ms.append(ms)
                case.rows.append(len(body["sources"]))
                case.plans.add(plan_label(mode, body["plan"], body["lexical_plan"]))

            def close() -> None:
                client.__exit__(None, None, None)
                os.environ.pop("LLAMAPG_DATABASE_URL", None)
                get_settings.cache_clear()
            return Runner(case, step, close)

        cases += [
            ("lexical, unfiltered", partial(llamapg_case, "lexical", main, mode="lexical"), []),
            ("lexical, filter 1%", partial(llamapg_case, "lexical", main, mode="lexical", filters=FILTERS["1%"][0]), []),
            ("hybrid, unfiltered", partial(llamapg_case, "hybrid", main, mode="hybrid"), []),
            ("hybrid, filter 10%", partial(llamapg_case, "hybrid", main, mode="hybrid",
                                           filters=FILTERS["10% (range)"][0]), []),
            ("hybrid, /search end to end, question embedded", partial(search_api_case, "/search", main), []),
        ]

        print(f"\n{size} chunks in `main` ({len(main['vectors']) + len(other['vectors']):,} in the table), "
              f"{vectors_kind} vectors, k={K}, {queries} queries per case; recall@10 against exact search\n")
        header = f"{'case':<52} {'p50 ms':>8} {'p99 ms':>8} {'rows':>7} {'recall':>7}  plan"
        print(header)
        print("-" * len(header))
        for title, run_ours, run_baselines in cases:
            if only and only not in title:
                continue
            ours, *baselines = interleaved([run_ours(), *(run_bare() for run_bare in run_baselines)],
                                           list(zip(query_vectors, questions)))
            print(f"{title:<52} {ours['p50_ms']:>8.2f} {ours['p99_ms']:>8.2f} "
                  f"{ours['rows_min']:>3}-{ours['rows_max']:<3} {_recall(ours)}  {ours['plan']}", flush=True)
            for bare in baselines:
                print(f"{'  ' + bare['case']:<52} {bare['p50_ms']:>8.2f} {bare['p99_ms']:>8.2f} "
                      f"{bare['rows_min']:>3}-{bare['rows_max']:<3} {_recall(bare)}", flush=True)
            results.append({"case": title, "llamapg": ours, "bare": baselines})
    return {"chunks": chunks, "vectors": vectors_kind, "load_s": round(main["load_s"], 1),
            "index_build_s": round(built["index_build_s"], 1), "cases": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, action="append", help="chunks in the searched collection (repeatable)")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument("--database", default=SCRATCH, help="the scratch database (dropped first, unless --reuse)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    parser.add_argument("--reuse", action="store_true", help="reuse a kept scratch database of the same size")
    parser.add_argument("--only", help="run only the cases whose label contains this text")
    parser.add_argument("--vectors", choices=sorted(VECTOR_KINDS), default="embedding-like",
                        help="embedding-like: the neighbourhood structure of real sentence embeddings (default); "
                             "isotropic: noise around topic centres, a stress case for the HNSW graph")
    args = parser.parse_args()
    settings = get_settings()
    maintenance = db.server_url(settings)
    url = db._with_database(maintenance, args.database)
    report = {"machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}",
              "sizes": []}
    def drop() -> None:
        with db.connect(maintenance, autocommit=True, vectors=False) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(args.database)))

    for chunks in args.chunks or [100_000, 1_000_000]:
        if not args.reuse:
            drop()
        db.ensure_database(url, maintenance)
        try:
            report["sizes"].append(run_size(url, chunks, args.queries, settings, reuse=args.reuse, only=args.only,
                                            vectors_kind=args.vectors))
        finally:
            if not args.keep:
                drop()
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=2)


if __name__ == "__main__":
    main()
