"""How hard a set of vectors is for a nearest-neighbour index: the stored embeddings of a collection
beside the retrieval benchmark's synthetic vectors (benchmarks.synthetic), at the same size.

    .venv/bin/python -m benchmarks.vector_shape --collection scifact [--dataset ../shared/data/scifact]

Ingest first (`llamapg eval ../shared/data/scifact --collection scifact`). For 500 sampled points
(k = 20, cosine distance): the local intrinsic dimension (maximum-likelihood estimate; higher is
harder: neighbours are nearly equidistant), the relative contrast (mean distance / distance to the
10th neighbour), and the distances to the 1st and 10th neighbour. With `--dataset`, the dataset's
questions are embedded by the bundled model and their distances to the 1st, 10th and 100th chunk
are reported beside the synthetic questions'.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from psycopg import sql

from benchmarks.synthetic import VECTOR_KINDS
from llamapg import db, models
from llamapg.bootstrap import prepare_database
from llamapg.settings import get_settings

PROBES = 500
NEIGHBOURS = 20


def normalised(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def shape(vectors: np.ndarray, rng: np.random.Generator) -> dict:
    points = normalised(vectors)
    probes = rng.choice(len(points), min(PROBES, len(points)), replace=False)
    distances = 1 - points[probes] @ points.T
    distances[np.arange(len(probes)), probes] = np.inf  # not its own neighbour
    nearest = np.sort(distances, axis=1)[:, :NEIGHBOURS]
    intrinsic = -1 / np.mean(np.log(nearest[:, :-1] / nearest[:, -1:]), axis=1)
    mean = np.array([row[np.isfinite(row)].mean() for row in distances])
    return {"local_intrinsic_dimension": float(np.median(intrinsic)),
            "relative_contrast": float(np.median(mean / nearest[:, 9])),
            "neighbour_1": float(np.median(nearest[:, 0])), "neighbour_10": float(np.median(nearest[:, 9])),
            "mean_distance": float(np.median(mean))}


def question_distances(questions: np.ndarray, chunks: np.ndarray) -> dict:
    distances = np.sort(1 - normalised(questions) @ normalised(chunks).T, axis=1)
    return {f"question_to_chunk_{rank}": float(np.median(distances[:, rank - 1])) for rank in (1, 10, 100)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--collection", required=True)
    parser.add_argument("--dataset", type=Path, help="a BEIR dataset whose queries.jsonl to embed")
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args()
    with db.connection(prepare_database(get_settings())) as conn:
        model = models.active(conn)
        collection = conn.execute("SELECT id FROM collections WHERE name = %s", (args.collection,)).fetchone()
        if collection is None:
            raise SystemExit(f"no collection {args.collection!r}: ingest it first")
        stored = np.array([row["embedding"] for row in conn.execute(
            sql.SQL("SELECT embedding FROM {}").format(sql.Identifier(model.partition(collection["id"]))))])
    rng = np.random.default_rng(0)
    results = {args.collection: shape(stored, rng)}
    questions = {}
    for kind, generator in VECTOR_KINDS.items():
        vectors, questions[kind] = generator(np.random.default_rng(1), stored.shape[1]).chunks(len(stored), 100, PROBES)
        results[kind] = shape(vectors, rng) | question_distances(questions[kind], vectors)
    if args.dataset:
        from llamapg.embedders import embedder_for

        texts = [json.loads(line)["text"] for line in (args.dataset / "queries.jsonl").open()][:PROBES]
        embedded = np.array([embedder_for(model).embed_query(text) for text in texts])
        results[args.collection] |= question_distances(embedded, stored)
    columns = ["local_intrinsic_dimension", "relative_contrast", "neighbour_1", "neighbour_10", "mean_distance",
               "question_to_chunk_1", "question_to_chunk_10", "question_to_chunk_100"]
    print(f"{len(stored):,} vectors each; medians over {PROBES} points, k = {NEIGHBOURS}, cosine distance\n")
    print(f"{'':<34}" + "".join(f"{name:>16}" for name in results))
    for column in columns:
        print(f"{column:<34}" + "".join(f"{values[column]:>16.3f}" if column in values else f"{'-':>16}"
                                       for values in results.values()))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
