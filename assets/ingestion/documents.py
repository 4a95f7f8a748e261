"""Bring a collection's documents in line with its source directory (used by `raw_documents`)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from assets.ingestion.readers import (
    DocumentError, IsolatedReader, ReadOptions, SourceDocument, expected_documents, headings_json, scan,
)
from llamapg import queries
from llamapg.collections import Collection
from llamapg.documents import DocumentRow, upsert
from llamapg.progress import Progress

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
    ocr_pages: int = 0
    characters: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def sync_documents(
    conn: psycopg.Connection,
    collection: Collection,
    roots: list[tuple[str, Path]],
    *,
    options: ReadOptions | None = None,
    batch_size: int = 500,
    progress_every_s: float = 10.0,
    logger: logging.Logger | None = None,
) -> SyncReport:
    """Parse new and changed documents, record failures on their own document, drop removed ones.

    `roots` are (source URI prefix, directory) pairs: the source directory and the upload landing area.
    `options` are the per-document limits and OCR (defaults: ReadOptions()).

    `conn` must be in autocommit mode. Documents are written in batches of `batch_size`, each batch
    in one transaction (a few statements for the whole batch), so a crash loses at most the batch in
    flight; a batch the database refuses is written again document by document, so that a bad
    document fails alone.
    """
    logger = logger or log
    options = options or ReadOptions()
    started = time.perf_counter()
    progress = Progress(logger, "documents", total=expected_documents(roots), every_s=progress_every_s)
    report = SyncReport()
    existing = {
        row["source_uri"]: row
        for row in conn.execute(queries.load("ingestion/existing_documents"), {"collection_id": collection.id})
    }
    seen: list[str] = []
    batch: list[tuple[SourceDocument, bool]] = []
    # PDFs and Office files are read in a child process: their time limit is a hard one.
    with IsolatedReader(options) as reader:
        for document in (doc for prefix, root in roots for doc in scan(root, prefix)):
            report.seen += 1
            seen.append(document.source_uri)
            previous = existing.get(document.source_uri)
            # An upload registered by the API waits as `pending` with its hash already known.
            if previous and previous["content_hash"] == document.content_hash and previous["status"] != "pending":
                report.skipped += 1
            else:
                batch.append((document, previous is not None))
            if len(batch) >= batch_size:
                _store_batch(conn, collection, batch, report, options, reader)
                batch = []
            progress.update(report.seen, lambda: (
                f"{collection.name}: {report.seen} documents scanned ({report.new} new, {report.changed} changed, "
                f"{report.failed} failed, {report.skipped} unchanged)"))
        _store_batch(conn, collection, batch, report, options, reader)
    deleted = conn.execute(
        queries.load("ingestion/delete_removed_documents"), {"collection_id": collection.id, "seen": seen}
    ).fetchall()
    report.deleted = len(deleted)
    report.seconds = time.perf_counter() - started
    return report


def _parse(document: SourceDocument, options: ReadOptions,
           reader: IsolatedReader) -> tuple[DocumentRow, list]:
    try:
        pages = document.load(options, reader)
        status, error = "processing", None
    except DocumentError as exc:
        pages, status, error = [], "failed", str(exc)
    row = DocumentRow(document.source_uri, document.content_hash, document.title, document.metadata, status, error,
                      len(pages) or None, document.ocr_pages if pages else None)
    return row, pages


def _store_batch(
    conn: psycopg.Connection, collection: Collection, batch: list[tuple[SourceDocument, bool]], report: SyncReport,
    options: ReadOptions, reader: IsolatedReader,
) -> None:
    if not batch:
        return
    # A source listed twice (a dataset with a repeated id) is one document: the last one wins, as
    # it would one statement at a time (one statement cannot upsert the same row twice).
    batch = list({document.source_uri: (document, changed) for document, changed in batch}.values())
    parsed = [(_parse(document, options, reader), changed) for document, changed in batch]
    try:
        _write(conn, collection.id, [row_pages for row_pages, _ in parsed])
    except psycopg.DataError as exc:
        if len(batch) == 1:
            # The database refuses this document's text or metadata: it fails alone, with the reason,
            # and without what was refused.
            row = parsed[0][0][0]
            failed = DocumentRow(row.source_uri, row.content_hash, None, {}, "failed",
                                 f"cannot be stored: {str(exc).strip()}")
            _write(conn, collection.id, [(failed, [])])
            parsed = [((failed, []), parsed[0][1])]
        else:
            for item in batch:
                _store_batch(conn, collection, [item], report, options, reader)
            return
    for (row, pages), changed in parsed:
        if row.status == "failed":
            report.failed += 1
            report.failures[row.source_uri] = row.error
            continue
        report.changed += changed
        report.new += not changed
        report.pages += len(pages)
        report.ocr_pages += sum(page.ocr for page in pages)
        report.characters += sum(len(page.text) for page in pages)


def _write(conn: psycopg.Connection, collection_id: int, parsed: list[tuple[DocumentRow, list]]) -> None:
    """One batch in one transaction: the documents, their pages, no chunks for failed ones."""
    with conn.transaction():
        ids = upsert(conn, collection_id, [row for row, _ in parsed])
        conn.execute("DELETE FROM document_pages WHERE document_id = ANY(%s)", (list(ids.values()),))
        # A document that cannot be read any more must not keep answering with its old text.
        failed = [ids[row.source_uri] for row, _ in parsed if row.status == "failed"]
        if failed:
            conn.execute("DELETE FROM chunks WHERE document_id = ANY(%s)", (failed,))
        with conn.cursor().copy("COPY document_pages (document_id, page, ordinal, text, headings, ocr) FROM STDIN") as copy:
            for row, pages in parsed:
                for ordinal, page in enumerate(pages):
                    copy.write_row((ids[row.source_uri], page.number, ordinal, page.text.replace("\x00", ""),
                                    headings_json(page.headings), page.ocr))
