"""JSONL and Parquet datasets: one document per row, read with pyarrow."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterator

from assets.ingestion.readers.base import DocumentError, Page, SourceDocument

# Column names tried, in order, for a dataset row's id, title and text (BEIR uses _id/title/text).
ID_COLUMNS = ("_id", "id", "doc_id", "docid")
TITLE_COLUMNS = ("title", "name")
TEXT_COLUMNS = ("text", "content", "body", "contents")


def dataset_documents(path: Path, relative: str) -> Iterator[SourceDocument]:
    """One document per row of a JSONL or Parquet file."""
    try:
        table = _read_table(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises ArrowInvalid and friends
        yield _broken_dataset(path, relative, f"{type(exc).__name__}: {exc}")
        return
    columns = table.column_names
    id_column = next((c for c in ID_COLUMNS if c in columns), None)
    text_column = next((c for c in TEXT_COLUMNS if c in columns), None)
    title_column = next((c for c in TITLE_COLUMNS if c in columns), None)
    if text_column is None:
        yield _broken_dataset(path, relative, f"no text column: expected one of {', '.join(TEXT_COLUMNS)}")
        return
    for row_number, row in enumerate(table.to_pylist()):
        row_id = str(row[id_column]) if id_column and row.get(id_column) is not None else str(row_number)
        text = row.get(text_column) or ""
        title = row.get(title_column) if title_column else None
        extra = {k: v for k, v in row.items() if k not in {id_column, text_column, title_column}}
        metadata = {"file_name": path.name, "row_id": row_id, **_json_safe(extra)}
        digest = hashlib.sha256(json.dumps([title, text, metadata], sort_keys=True, default=str).encode()).hexdigest()
        yield SourceDocument(
            source_uri=f"{relative}#{row_id}",
            content_hash=digest,
            title=title or row_id,
            metadata=metadata,
            # The title is the document's, not a piece of its text: chunks carry it in their header.
            pages=[Page(None, text)],
        )


def _read_table(path: Path):
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path)
    import pyarrow.json as pj

    return pj.read_json(path)


def _broken_dataset(path: Path, relative: str, reason: str) -> SourceDocument:
    def fail(budget):
        raise DocumentError(f"unreadable dataset file: {reason}")

    data = path.read_bytes()
    return SourceDocument(relative, hashlib.sha256(data).hexdigest(), path.stem, {"file_name": path.name}, read=fail)


def _json_safe(value):
    return json.loads(json.dumps(value, default=str))
