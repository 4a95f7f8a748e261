"""Files uploaded through the API: written atomically into the collection's landing area and
registered as `pending` documents, which the pipeline's sensor then picks up."""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import psycopg

from llamapg import collections, documents
from llamapg.formats import SUPPORTED_SUFFIXES
from llamapg.settings import Settings



class UploadRejected(ValueError):
    pass


@dataclass(frozen=True)
class StoredUpload:
    document_id: int
    source_uri: str
    content_hash: str
    size_bytes: int


def safe_file_name(name: str | None) -> str:
    base = Path(name or "").name
    if not base or base.startswith("."):
        raise UploadRejected(f"invalid file name {name!r}")
    if Path(base).suffix.lower() not in SUPPORTED_SUFFIXES:
        raise UploadRejected(f"unsupported file type {base!r}: supported are {', '.join(sorted(SUPPORTED_SUFFIXES))}")
    return base


def write_atomically(stream: BinaryIO, target: Path) -> tuple[str, int]:
    """Copy to a hidden temporary file beside `target`, then rename: readers never see half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.parent / f".{target.name}.{uuid.uuid4().hex}.part"
    digest, size = hashlib.sha256(), 0
    try:
        with temporary.open("wb") as out:
            while block := stream.read(1 << 20):
                digest.update(block)
                size += len(block)
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return digest.hexdigest(), size


def store(
    conn: psycopg.Connection, settings: Settings, collection_name: str, file_name: str, stream: BinaryIO,
    metadata: dict,
) -> StoredUpload:
    name = safe_file_name(file_name)
    collection = collections.find(conn, collection_name) or collections.register(conn, collection_name, None)
    content_hash, size = write_atomically(stream, collections.landing_dir(collection.name, settings) / name)
    source_uri = collections.UPLOADS_PREFIX + name
    document_id = documents.upsert(conn, collection.id, [documents.DocumentRow(
        source_uri, content_hash, Path(name).stem, {**metadata, "file_name": name, "size_bytes": size}, "pending",
    )])[source_uri]
    return StoredUpload(document_id, source_uri, content_hash, size)


def delete(conn: psycopg.Connection, settings: Settings, document_id: int) -> bool:
    """Delete an uploaded document: its file, its row, its chunks. False if it is not an upload."""
    row = conn.execute(
        "SELECT d.source_uri, c.name FROM documents d JOIN collections c ON c.id = d.collection_id WHERE d.id = %s",
        (document_id,),
    ).fetchone()
    if row is None or not row["source_uri"].startswith(collections.UPLOADS_PREFIX):
        return False
    with conn.transaction():
        conn.execute("DELETE FROM documents WHERE id = %s", (document_id,))
        file_name = row["source_uri"][len(collections.UPLOADS_PREFIX):]
        (collections.landing_dir(row["name"], settings) / file_name).unlink(missing_ok=True)
    return True
