"""Retrieval plans measured: exact scan vs HNSW (iterative scan) for collections of several sizes
inside one large table, with recall@k against exact search and median latency.

    .venv/bin/python -m benchmarks.retrieval [--rows 50000] [--queries 50]

Runs in a scratch database on the configured server (the embedded one by default) and drops it.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from psycopg import sql

from assets.index.hnsw import ensure_hnsw_index
from benchmarks.synthetic import add_synthetic_collection
from llamapg import db, migrations, models
from llamapg.retrieval import retrieve
from llamapg.settings import DEFAULT_MODEL_NAME, get_settings

SCRATCH = "llamapg_benchmark"


def clustered_vectors(rng: np.random.Generator, centres: np.ndarray, count: int) -> np.ndarray:
    """Vectors around shared topic centres: closer to real embeddings than uniform noise."""
    dimensions = centres.shape[1]
    labels = rng.integers(0, len(centres), size=count)
    return (centres[labels] + rng.normal(scale=0.6, size=(count, dimensions))).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=50_000, help="vectors in the table")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args()

    settings = get_settings()
    maintenance = db.server_url(settings)
    url = db._with_database(maintenance, SCRATCH)
    with db.connect(maintenance, autocommit=True, vectors=False) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(SCRATCH)))
    db.ensure_database(url, maintenance)
    try:
        with db.connect(url, vectors=False, autocommit=True) as conn:
            migrations.migrate(conn)
            model = models.register_default(conn, DEFAULT_MODEL_NAME)
        with db.connect(url, autocommit=True) as conn:
            run(conn, model, args)
    finally:
        with db.connect(maintenance, autocommit=True, vectors=False) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(SCRATCH)))


def run(conn, model, args) -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(200, model.dimensions))
    sizes = {"1%": args.rows // 100, "10%": args.rows // 10}
    rest = args.rows - sum(sizes.values())
    sizes["89%"] = rest
    started = time.perf_counter()
    ids = {}
    for label, size in sizes.items():
        ids[label] = add_synthetic_collection(conn, model, f"slice-{label.rstrip('%')}", clustered_vectors(rng, centres, size))
    print(f"loaded {args.rows} vectors in {time.perf_counter() - started:.1f}s")
    report = ensure_hnsw_index(conn, model, m=16, ef_construction=64)
    print(f"HNSW index {report.action} in {report.seconds:.1f}s ({report.size_bytes / 1e6:.0f} MB)")
    conn.execute("ANALYZE")

    queries = clustered_vectors(rng, centres, args.queries)
    print(f"\nk={args.k}, {args.queries} queries per row; recall is against the exact scan\n")
    print(f"{'collection':>12} {'rows':>7} {'plan':>6} {'median ms':>10} {'p90 ms':>8} {'recall@k':>9} {'rows returned':>14}")
    for label in sizes:
        truth = [
            [s.chunk_id for s in retrieve(conn, model, ids[label], q, args.k, plan="exact").sources] for q in queries
        ]
        for plan in ["exact", "hnsw"]:
            latencies, recalls, returned = [], [], []
            for query, expected in zip(queries, truth):
                t0 = time.perf_counter()
                found = retrieve(conn, model, ids[label], query, args.k, plan=plan).sources
                latencies.append((time.perf_counter() - t0) * 1000)
                returned.append(len(found))
                recalls.append(len({s.chunk_id for s in found} & set(expected)) / len(expected))
            p90 = statistics.quantiles(latencies, n=10)[-1]
            print(f"{label:>12} {sizes[label]:>7} {plan:>6} {statistics.median(latencies):>10.1f} {p90:>8.1f} "
                  f"{statistics.mean(recalls):>9.3f} {min(returned):>6}-{max(returned)}")


if __name__ == "__main__":
    main()
