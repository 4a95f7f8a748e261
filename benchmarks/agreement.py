"""The index plans (HNSW, BM25 over impact-ordered postings) against the exact plans on a BEIR
collection already ingested: per mode, the mean overlap@10 of the top-10 documents and nDCG@10 of each.

    .venv/bin/python -m benchmarks.agreement ../shared/data/scifact --collection scifact [--json FILE]

Ingest first with `llamapg eval DATASET --collection NAME` (which also reports the quality of the
plans chosen automatically).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from llamapg import db
from llamapg.bootstrap import prepare_database
from llamapg.embedders.local import use_threads
from llamapg.evaluation import CHUNKS_PER_QUERY, documents_in_order, load_beir, ndcg_at
from llamapg.rag import Ask, RagEngine
from llamapg.settings import get_settings

MODES = ("vector", "lexical", "hybrid")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--collection", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    settings = get_settings()
    use_threads(settings.query_threads)
    dataset = load_beir(args.dataset, args.split)
    engine = RagEngine(settings)
    report = {}
    with db.connection(prepare_database(settings), autocommit=True) as conn:
        source = db.SingleConnection(conn)

        def ranked(question: str, mode: str, plan: str) -> list[str]:
            found = engine.search(source, Ask(question, args.collection, CHUNKS_PER_QUERY, mode=mode, rerank=False),
                                  plan=plan)
            return documents_in_order([s.metadata.get("row_id", str(s.document_id)) for s in found.retrieval.sources])

        print(f"{'mode':<8} {'overlap@10':>10} {'nDCG@10 exact':>14} {'nDCG@10 index':>14} {'queries':>8}")
        for mode in MODES:
            overlaps, exact_ndcg, index_ndcg = [], [], []
            for query_id, relevant in sorted(dataset.qrels.items()):
                question = dataset.queries[query_id]
                exact, index = ranked(question, mode, "exact"), ranked(question, mode, "hnsw")
                overlaps.append(len(set(exact[:10]) & set(index[:10])) / max(1, min(10, len(exact))))
                exact_ndcg.append(ndcg_at(exact, relevant))
                index_ndcg.append(ndcg_at(index, relevant))
            report[mode] = {"overlap_at_10": round(statistics.fmean(overlaps), 4),
                            "ndcg_at_10_exact": round(statistics.fmean(exact_ndcg), 4),
                            "ndcg_at_10_index": round(statistics.fmean(index_ndcg), 4), "queries": len(overlaps)}
            row = report[mode]
            print(f"{mode:<8} {row['overlap_at_10']:>10.4f} {row['ndcg_at_10_exact']:>14.4f} "
                  f"{row['ndcg_at_10_index']:>14.4f} {row['queries']:>8}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
