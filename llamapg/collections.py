"""Collections: named sets of documents with a source directory, one Dagster partition each."""

from __future__ import annotations

import logging
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import psycopg

from llamapg import queries
from llamapg.settings import Settings

# Uploaded files are listed under this prefix, beside the files of the collection's source directory.
UPLOADS_PREFIX = "uploads/"

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")


class UnknownCollection(LookupError):
    pass


@dataclass(frozen=True)
class Collection:
    id: int
    name: str
    source_uri: str | None
    language: str = "english"
    # Chunks carry the document's title and their section's heading path (see Chunker).
    context_headers: bool = True
    # The source files as the last ingest saw them (see files_fingerprint).
    files_fingerprint: str | None = None


def validate_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise ValueError(
            f"invalid collection name {name!r}: use 1-63 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


COLUMNS = "id, name, source_uri, language::text, context_headers, files_fingerprint"


def register(conn: psycopg.Connection, name: str, source_uri: str | None,
             context_headers: bool | None = None) -> Collection:
    """Create the collection, or point an existing one at a new source directory; settings left
    as None keep their current (or default) value."""
    row = conn.execute(
        "INSERT INTO collections (name, source_uri, context_headers) VALUES (%s, %s, coalesce(%s, true))"
        " ON CONFLICT (name) DO UPDATE SET source_uri = coalesce(EXCLUDED.source_uri, collections.source_uri),"
        " context_headers = coalesce(%s, collections.context_headers)"
        f" RETURNING {COLUMNS}",
        (validate_name(name), source_uri, context_headers, context_headers),
    ).fetchone()
    return Collection(**row)


def find(conn: psycopg.Connection, name: str) -> Collection | None:
    row = conn.execute(f"SELECT {COLUMNS} FROM collections WHERE name = %s", (name,)).fetchone()
    return Collection(**row) if row else None


def unknown_collection(name: str) -> UnknownCollection:
    """The one message for a collection that does not exist (or that the asking key may not see)."""
    return UnknownCollection(f"unknown collection {name!r}")


def get(conn: psycopg.Connection, name: str) -> Collection:
    found = find(conn, name)
    if found is None:
        raise unknown_collection(name)
    return found


def list_collections(conn: psycopg.Connection) -> list[Collection]:
    return [Collection(**row) for row in conn.execute(f"SELECT {COLUMNS} FROM collections ORDER BY name")]


def landing_dir(name: str, settings: Settings) -> Path:
    """Where files uploaded through the API wait for the pipeline."""
    return settings.uploads_dir / validate_name(name)


def source_roots(collection: Collection, settings: Settings) -> list[tuple[str, Path]]:
    """(source URI prefix, directory) pairs the pipeline reads for this collection."""
    roots = []
    if collection.source_uri:
        roots.append(("", Path(collection.source_uri)))
    landing = landing_dir(collection.name, settings)
    if landing.is_dir():
        roots.append((UPLOADS_PREFIX, landing))
    return roots


# Work on a collection that must not run twice at once, whatever started it (CLI, sensor, schedule,
# upload, UI): reading its documents and chunking them ("documents"), or embedding it with one model
# ("embeddings:<model>"). A session-level advisory lock: a killed run's lock goes with its connection.
def _lock_key(collection: Collection, stage: str) -> dict:
    return {"stage": f"llamapg:{stage}", "collection_id": collection.id}


def _try_lock(conn: psycopg.Connection, key: dict) -> bool:
    return conn.execute(queries.load("collections/try_lock"), key).fetchone()["taken"]


def _unlock(conn: psycopg.Connection, key: dict) -> None:
    conn.execute(queries.load("collections/unlock"), key)


@contextmanager
def exclusive(conn: psycopg.Connection, collection: Collection, stage: str, *,
              logger: logging.Logger | None = None, every_s: float = 10.0) -> Iterator[None]:
    """Hold the collection's `stage` lock for the block, waiting (and saying so) while another
    run holds it."""
    key = _lock_key(collection, stage)
    started = time.monotonic()
    said = None
    while not _try_lock(conn, key):
        waited = time.monotonic() - started
        if logger is not None and (said is None or waited - said >= every_s):
            said = waited
            logger.info(f"{collection.name}: waiting for another {stage} run of this collection to finish "
                        f"({waited:.0f}s so far)")
        time.sleep(0.5)
    try:
        yield
    finally:
        _unlock(conn, key)


def busy(conn: psycopg.Connection, collection: Collection, stage: str) -> bool:
    """Whether a run holds the collection's `stage` lock right now."""
    key = _lock_key(collection, stage)
    if not _try_lock(conn, key):
        return True
    _unlock(conn, key)
    return False
