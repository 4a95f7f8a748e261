"""What the vectors stored by document must hold: exactly the live chunks' vectors (migration 0013)."""

from __future__ import annotations

from psycopg import sql

from llamapg.models import EmbeddingModel


def assert_vectors_by_document_are_the_live_chunks(conn, model: EmbeddingModel) -> int:
    """Every live chunk with a vector of `model` has its row, with that vector, and nothing else has
    one; returns how many rows there are."""
    expected = sql.SQL(
        "SELECT c.collection_id, c.document_id, c.id AS chunk_id, v.embedding::text FROM chunks c"
        " JOIN {vectors} v ON v.collection_id = c.collection_id AND v.content_hash = c.content_hash"
        " WHERE NOT c.pending").format(vectors=sql.Identifier(model.vectors_table))
    stored = sql.SQL("SELECT collection_id, document_id, chunk_id, embedding::text FROM {}").format(
        sql.Identifier(model.vectors_by_document_table))
    missing = conn.execute(sql.SQL("SELECT count(*) AS n FROM ({} EXCEPT ALL {}) d").format(expected, stored)).fetchone()
    extra = conn.execute(sql.SQL("SELECT count(*) AS n FROM ({} EXCEPT ALL {}) d").format(stored, expected)).fetchone()
    assert (missing["n"], extra["n"]) == (0, 0), f"{missing['n']} rows missing, {extra['n']} rows that should not be there"
    return conn.execute(sql.SQL("SELECT count(*) AS n FROM {}").format(
        sql.Identifier(model.vectors_by_document_table))).fetchone()["n"]
