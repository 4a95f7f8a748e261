"""Bring a collection's documents in line with its source directory (used by `raw_documents`)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

from assets.ingestion.readers import DocumentError, SourceDocument, scan
from llamapg import queries
from llamapg.collections import Collection

log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    seen: int = 0
    new: int = 0
    changed: int = 0
    skipped: int = 0
    failed: int = 0
    deleted: int = 0
    pages: int = 0
    characters: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def sync_documents(
    conn: psycopg.Connection,
    collection: Collection,
    roots: list[tuple[str, Path]],
    *,
    progress_every: int = 25,
    logger: logging.Logger | None = None,
) -> SyncReport:
    """Parse new and changed documents, record failures on their own document, drop removed ones.

    `roots` are (source URI prefix, directory) pairs: the source directory and the upload landing area.

    `conn` must be in autocommit mode: each document is written in its own transaction, so a crash
    or a bad file loses nothing already done.
    """
    logger = logger or log
    started = time.perf_counter()
    report = SyncReport()
    existing = {
        row["source_uri"]: row
        for row in conn.execute(queries.load("ingestion/existing_documents"), {"collection_id": collection.id})
    }
    seen: list[str] = []
    for document in (doc for prefix, root in roots for doc in scan(root, prefix)):
        report.seen += 1
        seen.append(document.source_uri)
        previous = existing.get(document.source_uri)
        # An upload registered by the API waits as `pending` with its hash already known.
        if previous and previous["content_hash"] == document.content_hash and previous["status"] != "pending":
            report.skipped += 1
        else:
            _store(conn, collection, document, report, changed=previous is not None)
        if report.seen % progress_every == 0:
            logger.info(
                "%s: %d documents scanned (%d new, %d changed, %d failed, %d unchanged)",
                collection.name, report.seen, report.new, report.changed, report.failed, report.skipped,
            )
    deleted = conn.execute(
        queries.load("ingestion/delete_removed_documents"), {"collection_id": collection.id, "seen": seen}
    ).fetchall()
    report.deleted = len(deleted)
    report.seconds = time.perf_counter() - started
    return report


def _store(
    conn: psycopg.Connection, collection: Collection, document: SourceDocument, report: SyncReport, *, changed: bool
) -> None:
    try:
        pages = document.load()
        status, error = "processing", None
    except DocumentError as exc:
        pages, status, error = [], "failed", str(exc)
        report.failed += 1
        report.failures[document.source_uri] = error
    with conn.transaction():
        document_id = conn.execute(
            queries.load("ingestion/upsert_document"),
            {
                "collection_id": collection.id,
                "source_uri": document.source_uri,
                "content_hash": document.content_hash,
                "title": document.title,
                "metadata": Jsonb(document.metadata),
                "status": status,
                "error": error,
                "page_count": len(pages) or None,
            },
        ).fetchone()["id"]
        conn.execute("DELETE FROM document_pages WHERE document_id = %s", (document_id,))
        if status == "failed":
            # A document that cannot be read any more must not keep answering with its old text.
            conn.execute("DELETE FROM chunks WHERE document_id = %s", (document_id,))
        with conn.cursor().copy("COPY document_pages (document_id, page, ordinal, text) FROM STDIN") as copy:
            for ordinal, page in enumerate(pages):
                copy.write_row((document_id, page.number, ordinal, page.text.replace("\x00", "")))
    if status == "processing":
        report.changed += changed
        report.new += not changed
        report.pages += len(pages)
        report.characters += sum(len(page.text) for page in pages)
