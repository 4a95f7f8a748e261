"""Synthetic collections in llamapg's own schema, for retrieval benchmarks and tests.

Chunks are written with COPY through the same tables and triggers as ingestion (documents and
their typed metadata fields, chunks with their BM25 postings and statistics, vectors in the
collection's partition), so what is measured is what a real collection of that size costs.
"""

from __future__ import annotations

import hashlib
from typing import Callable, Sequence

import numpy as np
import psycopg
from psycopg.types.json import Jsonb

from llamapg import collections, models
from llamapg.models import EmbeddingModel

COPY_SLICE = 50_000


def clustered_vectors(rng: np.random.Generator, centres: np.ndarray, count: int) -> np.ndarray:
    """Vectors around shared topic centres: closer to real embeddings than uniform noise."""
    dimensions = centres.shape[1]
    labels = rng.integers(0, len(centres), size=count)
    return (centres[labels] + rng.normal(scale=0.6, size=(count, dimensions))).astype(np.float32)


class SentenceMaker:
    """English-like sentences: words drawn from a Zipf distribution over a fixed vocabulary, so that
    common words are shared by most chunks (the case that makes BM25 expensive) and rare ones by few."""

    def __init__(self, rng: np.random.Generator, vocabulary: int = 20_000) -> None:
        syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "si", "pe", "da", "gu", "be", "zo", "fi", "he", "ja"]
        words = set()
        while len(words) < vocabulary:
            words.add("".join(rng.choice(syllables, size=rng.integers(2, 5))))
        self.words = rng.permutation(np.array(sorted(words)))  # frequency rank independent of spelling
        weights = 1.0 / np.arange(1, vocabulary + 1) ** 1.05
        self.cumulative = np.cumsum(weights / weights.sum())
        self.rng = rng

    def texts(self, count: int, words: int) -> list[str]:
        drawn = np.searchsorted(self.cumulative, self.rng.random((count, words)) * self.cumulative[-1])
        return [" ".join(row) for row in self.words[drawn]]

    def text(self, words: int) -> str:
        return self.texts(1, words)[0]

    def question(self, text: str, words: int = 8) -> str:
        """A question made of words of a chunk: lexical search has something to find."""
        picked = self.rng.choice(text.split(), size=min(words, len(text.split())), replace=False)
        return " ".join(picked)


def add_synthetic_collection(
    conn: psycopg.Connection,
    model: EmbeddingModel,
    name: str,
    vectors: np.ndarray,
    *,
    documents: int = 1,
    texts: Sequence[str] | None = None,
    metadata: Callable[[int], dict] | None = None,
) -> int:
    """A collection whose chunks carry `vectors`, spread evenly over `documents` documents, with
    `metadata(document_number)` on each; returns the collection id. `conn` must be in autocommit mode."""
    collection = collections.register(conn, name, None)
    texts = list(texts) if texts is not None else [f"{name} chunk {ordinal}" for ordinal in range(len(vectors))]
    with conn.transaction():
        with conn.cursor().copy(
            "COPY documents (collection_id, source_uri, content_hash, status, metadata) FROM STDIN"
        ) as copy:
            for number in range(documents):
                copy.write_row((collection.id, f"{name}/{number}.txt", f"synthetic-{number}", "ready",
                                Jsonb(metadata(number) if metadata else {})))
    document_ids = [row["id"] for row in conn.execute(
        "SELECT id FROM documents WHERE collection_id = %s ORDER BY id", (collection.id,))]
    hashes = [hashlib.sha256(f"{name}\0{text}\0{i}".encode()).digest() for i, text in enumerate(texts)]
    per_document = -(-len(vectors) // documents)
    # In slices: the BM25 triggers handle each COPY statement's chunks as one set.
    for start in range(0, len(texts), COPY_SLICE):
        with conn.transaction():
            with conn.cursor().copy(
                "COPY chunks (document_id, collection_id, ordinal, text, token_count, char_start, char_end,"
                " content_hash) FROM STDIN"
            ) as copy:
                for position in range(start, min(start + COPY_SLICE, len(texts))):
                    text = texts[position]
                    copy.write_row((document_ids[position // per_document], collection.id, position % per_document,
                                    text, len(text.split()), 0, len(text), hashes[position]))
    partition = models.ensure_partition(conn, model, collection.id)
    with conn.transaction():
        with conn.cursor().copy(
            psycopg.sql.SQL("COPY {} (collection_id, content_hash, embedding) FROM STDIN WITH (FORMAT BINARY)").format(
                psycopg.sql.Identifier(partition)
            )
        ) as copy:
            copy.set_types(["int8", "bytea", "vector"])
            for digest, vector in zip(hashes, vectors):
                copy.write_row((collection.id, digest, vector))
    return collection.id
