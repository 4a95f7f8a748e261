"""Run a BEIR evaluation against a collection with the query path the service uses."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import psycopg
from psycopg.types.json import Jsonb

from llamapg import collections, db, models
from llamapg.evaluation import CHUNKS_PER_QUERY, BeirDataset, evaluate, load_beir
from llamapg.rag import Ask, RagEngine

MODES = ("vector", "lexical", "hybrid")


def remember_dataset(conn: psycopg.Connection, collection: str, dataset_dir: Path) -> None:
    """The Dagster evaluation asset finds the dataset of a collection here."""
    conn.execute(
        "UPDATE collections SET metadata = metadata || %s WHERE name = %s",
        (Jsonb({"eval_dataset": str(dataset_dir.resolve())}), collection),
    )


def dataset_of(conn: psycopg.Connection, collection: str) -> Path | None:
    row = conn.execute("SELECT metadata ->> 'eval_dataset' AS path FROM collections WHERE name = %s",
                       (collection,)).fetchone()
    return Path(row["path"]) if row and row["path"] else None


def run(
    conn: psycopg.Connection,
    engine: RagEngine,
    collection: str,
    dataset: BeirDataset,
    modes: Sequence[str] = MODES,
    model_name: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, dict[str, float]]:
    collections.get(conn, collection)
    model = models.get(conn, model_name) if model_name else None

    def search(question: str, mode: str) -> list[str]:
        found = engine.search(db.SingleConnection(conn), Ask(question, collection, CHUNKS_PER_QUERY, mode=mode, rerank=False), model=model)
        return [s.metadata.get("row_id", str(s.document_id)) for s in found.retrieval.sources]

    return evaluate(dataset, search, modes, progress)


def staging_dir(home: Path, collection: str, dataset: BeirDataset) -> Path:
    """A folder holding only the corpus (queries.jsonl beside it must not become documents)."""
    folder = home / "eval" / collections.validate_name(collection)
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / "corpus.jsonl"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(dataset.corpus.resolve())
    return folder


__all__ = ["MODES", "dataset_of", "load_beir", "remember_dataset", "run", "staging_dir"]
