"""Files uploaded through the API: written atomically into the collection's landing area and
registered as `pending` documents, which the pipeline's sensor then picks up."""

from __future__ import annotations

import hashlib
import os
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import psycopg

from llamapg import collections, documents
from llamapg.formats import SUPPORTED_SUFFIXES
from llamapg.private_files import create_private_file, private_dir
from llamapg.settings import Settings
from llamapg.textcheck import text_problem


class UploadRejected(ValueError):
    pass


@dataclass(frozen=True)
class StoredUpload:
    document_id: int
    source_uri: str
    content_hash: str
    size_bytes: int


# Characters refused in file names: they hide what a name says (bidirectional overrides turn
# "invoice_fdp.exe" around) or break the tools that list files. Control characters are refused too.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def safe_file_name(name: str | None, max_bytes: int) -> str:
    """The base name of an uploaded file, or UploadRejected saying what is wrong with it."""
    base = Path(name or "").name
    if not base or base.startswith("."):
        raise UploadRejected(f"invalid file name {name!r}: it must not be empty or start with a dot")
    problem = text_problem(base)
    if problem or any(unicodedata.category(char) == "Cc" or char in BIDI_CONTROLS for char in base):
        raise UploadRejected(f"invalid file name {base!r}: control and bidirectional-override characters "
                             "(and NUL) are not allowed")
    if len(base.encode()) > max_bytes:
        raise UploadRejected(f"file name {base[:40]!r}... is {len(base.encode())} bytes long; at most {max_bytes} "
                             "are allowed (LLAMAPG_MAX_FILE_NAME_BYTES)")
    if Path(base).suffix.lower() not in SUPPORTED_SUFFIXES:
        raise UploadRejected(f"unsupported file type {base!r}: supported are {', '.join(sorted(SUPPORTED_SUFFIXES))}")
    return base


class UploadTooLarge(UploadRejected):
    pass


def write_temporary(stream: BinaryIO, target: Path, max_bytes: int) -> tuple[Path, str, int]:
    """Copy to a hidden temporary file beside `target` (0600), at most `max_bytes`; returns it with
    the content's hash and size. The scan ignores hidden files, so it is never half-read."""
    temporary = target.parent / f".{target.name}.{uuid.uuid4().hex}.part"
    digest, size = hashlib.sha256(), 0
    try:
        with create_private_file(temporary) as out:
            while block := stream.read(1 << 20):
                size += len(block)
                if size > max_bytes:
                    raise UploadTooLarge(f"{target.name} is larger than {max_bytes:,} bytes, the limit per file "
                                         "(LLAMAPG_MAX_UPLOAD_FILE_BYTES)")
                digest.update(block)
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary, digest.hexdigest(), size


def store_all(
    conn: psycopg.Connection, settings: Settings, collection_name: str, files: list[tuple[str, BinaryIO]],
    metadata: dict,
) -> list[StoredUpload]:
    """Store every file or none: each is written to a temporary file first (where sizes are checked),
    then all are registered in one transaction and renamed into place before it commits. On any
    failure the temporary files are removed and no row is written."""
    try:
        collections.validate_name(collection_name)
    except ValueError as exc:
        raise UploadRejected(str(exc)) from exc
    names = [safe_file_name(name, settings.max_file_name_bytes) for name, _ in files]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise UploadRejected(f"file name(s) given twice in one upload: {', '.join(repeated)}")
    if len(files) > settings.max_upload_files:
        raise UploadRejected(f"{len(files)} files in one upload; at most {settings.max_upload_files} are allowed "
                             "(LLAMAPG_MAX_UPLOAD_FILES)")
    landing = private_dir(collections.landing_dir(collection_name, settings))
    written: list[tuple[Path, Path, str, int]] = []  # (temporary, target, hash, size)
    try:
        for name, (_, stream) in zip(names, files):
            temporary, content_hash, size = write_temporary(stream, landing / name, settings.max_upload_file_bytes)
            written.append((temporary, landing / name, content_hash, size))
        with conn.transaction():
            collection = collections.find(conn, collection_name) or collections.register(conn, collection_name, None)
            rows = [documents.DocumentRow(
                collections.UPLOADS_PREFIX + target.name, content_hash, target.stem,
                {**metadata, "file_name": target.name, "size_bytes": size}, "pending",
            ) for _, target, content_hash, size in written]
            ids = documents.upsert(conn, collection.id, rows)
            for temporary, target, _, _ in written:
                os.replace(temporary, target)
    finally:
        for temporary, _, _, _ in written:
            temporary.unlink(missing_ok=True)
    return [StoredUpload(ids[row.source_uri], row.source_uri, row.content_hash, row.metadata["size_bytes"])
            for row in rows]


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
