"""Synthetic collections with given vectors, for retrieval benchmarks and tests."""

from __future__ import annotations

import hashlib

import numpy as np
import psycopg

from llamapg import collections
from llamapg.models import EmbeddingModel


def add_synthetic_collection(conn: psycopg.Connection, model: EmbeddingModel, name: str, vectors: np.ndarray) -> int:
    """A collection of one document whose chunks carry `vectors`; returns the collection id."""
    collection = collections.register(conn, name, None)
    document_id = conn.execute(
        "INSERT INTO documents (collection_id, source_uri, content_hash, status)"
        " VALUES (%s, %s, 'synthetic', 'ready') RETURNING id",
        (collection.id, f"{name}.txt"),
    ).fetchone()["id"]
    texts = [f"{name} chunk {ordinal}" for ordinal in range(len(vectors))]
    hashes = [hashlib.sha256(text.encode()).digest() for text in texts]
    with conn.cursor().copy(
        "COPY chunks (document_id, collection_id, ordinal, text, token_count, char_start, char_end, content_hash)"
        " FROM STDIN"
    ) as copy:
        for ordinal, (text, digest) in enumerate(zip(texts, hashes)):
            copy.write_row((document_id, collection.id, ordinal, text, 5, 0, len(text), digest))
    with conn.cursor().copy(
        psycopg.sql.SQL("COPY {} (content_hash, embedding) FROM STDIN WITH (FORMAT BINARY)").format(
            psycopg.sql.Identifier(model.vectors_table)
        )
    ) as copy:
        copy.set_types(["bytea", "vector"])
        for digest, vector in zip(hashes, vectors):
            copy.write_row((digest, vector))
    return collection.id
