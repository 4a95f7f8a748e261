"""Retrieval quality on a BEIR-format dataset: nDCG@10, Recall@100, MRR@10 and latency per mode.

Chunk hits are aggregated to documents (a document ranks where its best chunk ranks), and
documents are identified by the dataset's `_id`, kept in each document's metadata as `row_id`.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json

# Chunks asked for per query: enough for 100 distinct documents when documents have a few chunks.
CHUNKS_PER_QUERY = 300


@dataclass
class BeirDataset:
    corpus: Path
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def load_beir(directory: Path, split: str = "test") -> BeirDataset:
    """corpus.jsonl, queries.jsonl and qrels/<split>.tsv (CRLF line endings are fine)."""
    corpus, queries_path, qrels_path = directory / "corpus.jsonl", directory / "queries.jsonl", directory / "qrels" / f"{split}.tsv"
    for path in (corpus, queries_path, qrels_path):
        if not path.is_file():
            raise FileNotFoundError(f"not a BEIR dataset: {path} is missing")
    # Queries carry large, irregular metadata in some releases: read only the two columns needed.
    table = pa_json.read_json(queries_path, parse_options=pa_json.ParseOptions(
        explicit_schema=pa.schema([("_id", pa.string()), ("text", pa.string())]), unexpected_field_behavior="ignore"))
    queries = dict(zip(table["_id"].to_pylist(), table["text"].to_pylist()))
    qrels_table = pa_csv.read_csv(
        qrels_path,
        parse_options=pa_csv.ParseOptions(delimiter="\t"),
        convert_options=pa_csv.ConvertOptions(column_types={"query-id": pa.string(), "corpus-id": pa.string(), "score": pa.int64()}),
    )
    qrels: dict[str, dict[str, int]] = {}
    for row in qrels_table.to_pylist():
        if row["score"] > 0:
            qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = row["score"]
    missing = [qid for qid in qrels if qid not in queries]
    if missing:
        raise ValueError(f"qrels name {len(missing)} queries that queries.jsonl lacks, e.g. {missing[0]!r}")
    return BeirDataset(corpus, queries, qrels)


def ndcg_at(ranked: Sequence[str], relevant: dict[str, int], k: int = 10) -> float:
    """nDCG@k with linear gain, as trec_eval (and so BEIR) computes it."""
    dcg = sum(relevant.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k]))
    ideal = sum(gain / math.log2(rank + 2) for rank, gain in enumerate(sorted(relevant.values(), reverse=True)[:k]))
    return dcg / ideal if ideal else 0.0


def recall_at(ranked: Sequence[str], relevant: dict[str, int], k: int = 100) -> float:
    return len(set(ranked[:k]) & set(relevant)) / len(relevant) if relevant else 0.0


def mrr_at(ranked: Sequence[str], relevant: dict[str, int], k: int = 10) -> float:
    return next((1.0 / (rank + 1) for rank, doc in enumerate(ranked[:k]) if doc in relevant), 0.0)


def documents_in_order(document_ids: Sequence[str]) -> list[str]:
    """Each document once, at the rank of its best chunk."""
    return list(dict.fromkeys(document_ids))


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def evaluate(
    dataset: BeirDataset, search: Callable[[str, str], list[str]], modes: Sequence[str],
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, dict[str, float]]:
    """`search(question, mode)` returns document ids of chunk hits in rank order."""
    results = {}
    for mode in modes:
        ndcg, recall, mrr, latencies = [], [], [], []
        for position, (query_id, relevant) in enumerate(sorted(dataset.qrels.items()), start=1):
            started = time.perf_counter()
            ranked = documents_in_order(search(dataset.queries[query_id], mode))
            latencies.append((time.perf_counter() - started) * 1000)
            ndcg.append(ndcg_at(ranked, relevant))
            recall.append(recall_at(ranked, relevant))
            mrr.append(mrr_at(ranked, relevant))
            if progress and position % 50 == 0:
                progress(mode, position, len(dataset.qrels))
        results[mode] = {
            "ndcg@10": round(statistics.fmean(ndcg), 4),
            "recall@100": round(statistics.fmean(recall), 4),
            "mrr@10": round(statistics.fmean(mrr), 4),
            "p50_ms": round(percentile(latencies, 50), 1),
            "p99_ms": round(percentile(latencies, 99), 1),
            "queries": len(latencies),
        }
    return results


def format_table(results: dict[str, dict[str, float]]) -> str:
    lines = [f"{'mode':<8} {'nDCG@10':>8} {'Recall@100':>10} {'MRR@10':>7} {'p50 ms':>7} {'p99 ms':>7} {'queries':>7}"]
    for mode, m in results.items():
        lines.append(f"{mode:<8} {m['ndcg@10']:>8.4f} {m['recall@100']:>10.4f} {m['mrr@10']:>7.4f} "
                     f"{m['p50_ms']:>7.1f} {m['p99_ms']:>7.1f} {m['queries']:>7}")
    return "\n".join(lines)
