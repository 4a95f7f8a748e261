"""Document-level operations shared by the pipeline, the API and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

import psycopg
from psycopg.types.json import Jsonb

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
    pages: int | None
    ocr_pages: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class DocumentRow:
    """A new or changed document as the pipeline and uploads record it."""

    source_uri: str
    content_hash: str
    title: str | None
    metadata: dict
    status: str
    error: str | None = None
    page_count: int | None = None
    ocr_pages: int | None = None


def upsert(conn: psycopg.Connection, collection_id: int, rows: list[DocumentRow]) -> dict[str, int]:
    """Insert or update a batch of documents in one statement; their ids by source URI."""
    if not rows:
        return {}
    columns = {name: [getattr(row, name) for row in rows] for name in DocumentRow.__dataclass_fields__}
    columns["metadata"] = [Jsonb(value) for value in columns["metadata"]]
    return {row["source_uri"]: row["id"] for row in conn.execute(
        queries.load("ingestion/upsert_documents"), {"collection_id": collection_id, **columns})}


def get(conn: psycopg.Connection, document_id: int, sees: Callable[[str], bool] = lambda collection: True) -> Document:
    """The document; UnknownDocument when there is none, or when its collection is one `sees` hides."""
    row = conn.execute(queries.load("documents/get_document"), {"id": document_id}).fetchone()
    if row is None or not sees(row["collection"]):
        raise UnknownDocument(f"unknown document {document_id}")
    return Document(**row)


def promote_ready(conn: psycopg.Connection, collection_id: int, model: EmbeddingModel,
                  batch_size: int = 1000) -> tuple[int, int]:
    """Swap in the pending chunks of every document the active model has fully embedded.

    Set-wise, for up to `batch_size` documents per transaction: their old chunks go, their pending
    chunks go live, and they are marked ready. Each document is swapped whole inside its batch's
    transaction, so a query sees either the whole old version or the whole new one.
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
    for first in range(0, len(ready), batch_size):
        ids = ready[first:first + batch_size]
        with conn.transaction():
            conn.execute("DELETE FROM chunks WHERE document_id = ANY(%s) AND NOT pending", (ids,))
            promoted += conn.execute(
                "UPDATE chunks SET pending = false WHERE document_id = ANY(%s) AND pending", (ids,)
            ).rowcount
            conn.execute(
                "UPDATE documents SET status = 'ready', error = NULL, updated_at = now() WHERE id = ANY(%s)", (ids,)
            )
    return len(ready), promoted
