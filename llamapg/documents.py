"""Document-level operations shared by the pipeline, the API and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from llamapg import queries
from llamapg.models import EmbeddingModel


class UnknownDocument(LookupError):
    pass


@dataclass(frozen=True)
class Document:
    id: int
    collection: str
    source_uri: str
    title: str | None
    status: str
    error: str | None
    metadata: dict
    chunks: int
    created_at: datetime
    updated_at: datetime


def get(conn: psycopg.Connection, document_id: int) -> Document:
    row = conn.execute(queries.load("documents/get_document"), {"id": document_id}).fetchone()
    if row is None:
        raise UnknownDocument(f"unknown document {document_id}")
    return Document(**row)


def promote_ready(conn: psycopg.Connection, collection_id: int, model: EmbeddingModel) -> tuple[int, int]:
    """Swap in the pending chunks of every document the active model has fully embedded.

    Per document, in one transaction: its old chunks go, its pending chunks go live, and it is
    marked ready. A query sees either the whole old version or the whole new one.
    Returns (documents, chunks) promoted.
    """
    ready = [
        row["id"]
        for row in conn.execute(
            queries.load("ingestion/documents_to_promote", vectors=model.vectors_table),
            {"collection_id": collection_id},
        )
    ]
    promoted = 0
    for document_id in ready:
        with conn.transaction():
            conn.execute("DELETE FROM chunks WHERE document_id = %s AND NOT pending", (document_id,))
            promoted += conn.execute(
                "UPDATE chunks SET pending = false WHERE document_id = %s AND pending", (document_id,)
            ).rowcount
            conn.execute(
                "UPDATE documents SET status = 'ready', error = NULL, updated_at = now() WHERE id = %s",
                (document_id,),
            )
    return len(ready), promoted
