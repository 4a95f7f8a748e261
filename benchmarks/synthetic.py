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
    """Isotropic noise around shared topic centres. Near neighbours are almost equidistant (local
    intrinsic dimension 27 at 16,591 vectors, 1st and 10th neighbour at 0.23 and 0.25, against 7.2,
    0.26 and 0.46 for all-MiniLM-L6-v2 on SciFact; `llamapg bench vector_shape`): a stress case for
    an HNSW graph, not a model of a corpus."""
    dimensions = centres.shape[1]
    labels = rng.integers(0, len(centres), size=count)
    return (centres[labels] + rng.normal(scale=0.6, size=(count, dimensions))).astype(np.float32)


class IsotropicClusters:
    """`clustered_vectors` for chunks and questions alike."""

    def __init__(self, rng: np.random.Generator, dimensions: int, topics: int = 200) -> None:
        self.rng, self.centres = rng, rng.normal(size=(topics, dimensions))

    def chunks(self, count: int, per_document: int, questions: int = 0) -> tuple[np.ndarray, np.ndarray]:
        return clustered_vectors(self.rng, self.centres, count), clustered_vectors(self.rng, self.centres, questions)


class EmbeddingLike:
    """Vectors with the neighbourhood structure of sentence embeddings of a real corpus.

    Documents sit around topic centres; a document's chunks drift along it (each chunk close to the
    one before it, an AR(1) walk), with noise on top; variance falls off over the dimensions as a
    power law, and every vector shares a common direction (real embeddings are not centred). The
    scales were fitted to all-MiniLM-L6-v2 chunk embeddings of SciFact (`llamapg bench vector_shape
    --collection scifact --dataset ../shared/data/scifact`: 16,591 vectors, 500 sampled points,
    k = 20): local intrinsic dimension 8.2 here against 7.2 there, relative contrast (mean distance /
    10th-neighbour distance) 2.03 against 1.91, cosine distance to the 1st and 10th neighbour 0.29
    and 0.45 against 0.26 and 0.46. So the graph's task is at least as hard as on real embeddings.
    Questions start where a chunk does and take more noise: nearest chunk at 0.32, 10th at 0.47 and
    100th at 0.57, against 0.32, 0.48 and 0.60 for SciFact's questions embedded by the same model.
    """

    TOPIC_SPREAD, DOCUMENT_SPREAD, WALK_SPREAD, WALK_CORRELATION = 1.0, 0.6, 1.5, 0.8
    CHUNK_NOISE, QUESTION_NOISE, COMMON_DIRECTION, SPECTRUM_DECAY = 1.2, 1.8, 0.8, 1.0

    def __init__(self, rng: np.random.Generator, dimensions: int, topics: int = 200) -> None:
        self.rng, self.dimensions = rng, dimensions
        decay = np.arange(1, dimensions + 1) ** (-self.SPECTRUM_DECAY / 2)
        self.scale = (decay * np.sqrt(dimensions / np.sum(decay ** 2))).astype(np.float32)
        self.rotation = np.linalg.qr(rng.normal(size=(dimensions, dimensions)))[0].astype(np.float32)
        self.common = (self.COMMON_DIRECTION * np.sqrt(dimensions) * self.rotation[:, 0]).astype(np.float32)
        self.topics = rng.normal(scale=self.TOPIC_SPREAD, size=(topics, dimensions)).astype(np.float32)

    def _noise(self, shape: tuple[int, ...], scale: float) -> np.ndarray:
        return self.rng.normal(scale=scale, size=shape).astype(np.float32)

    def _embedded(self, latent: np.ndarray) -> np.ndarray:
        return (latent * self.scale) @ self.rotation.T + self.common

    def chunks(self, count: int, per_document: int, questions: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """`count` vectors, `per_document` consecutive ones to a document, and `questions` question
        vectors: each starts where a chunk picked at random starts, before its noise, and takes
        QUESTION_NOISE instead."""
        documents = -(-count // per_document)
        latent = np.empty((documents, per_document, self.dimensions), dtype=np.float32)
        centres = self.topics[self.rng.integers(0, len(self.topics), documents)]
        centres += self._noise(centres.shape, self.DOCUMENT_SPREAD)
        walk = self._noise(centres.shape, self.WALK_SPREAD)
        step = np.sqrt(1 - self.WALK_CORRELATION ** 2)
        for position in range(per_document):
            latent[:, position] = centres + walk
            walk = self.WALK_CORRELATION * walk + step * self._noise(walk.shape, self.WALK_SPREAD)
        latent = latent.reshape(-1, self.dimensions)[:count]
        asked = latent[self.rng.integers(0, count, questions)] + self._noise((questions, self.dimensions),
                                                                             self.QUESTION_NOISE)
        latent += self._noise(latent.shape, self.CHUNK_NOISE)
        return self._embedded(latent), self._embedded(asked)


VECTOR_KINDS = {"embedding-like": EmbeddingLike, "isotropic": IsotropicClusters}


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
