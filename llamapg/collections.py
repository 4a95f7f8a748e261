"""Collections: named sets of documents with a source directory, one Dagster partition each."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

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


def validate_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise ValueError(
            f"invalid collection name {name!r}: use 1-63 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def register(conn: psycopg.Connection, name: str, source_uri: str | None) -> Collection:
    """Create the collection, or point an existing one at a new source directory."""
    row = conn.execute(
        "INSERT INTO collections (name, source_uri) VALUES (%s, %s)"
        " ON CONFLICT (name) DO UPDATE SET source_uri = coalesce(EXCLUDED.source_uri, collections.source_uri)"
        " RETURNING id, name, source_uri, language::text",
        (validate_name(name), source_uri),
    ).fetchone()
    return Collection(**row)


def find(conn: psycopg.Connection, name: str) -> Collection | None:
    row = conn.execute("SELECT id, name, source_uri, language::text FROM collections WHERE name = %s", (name,)).fetchone()
    return Collection(**row) if row else None


def get(conn: psycopg.Connection, name: str) -> Collection:
    found = find(conn, name)
    if found is None:
        raise UnknownCollection(f"unknown collection {name!r}")
    return found


def list_collections(conn: psycopg.Connection) -> list[Collection]:
    return [Collection(**row) for row in conn.execute(
        "SELECT id, name, source_uri, language::text FROM collections ORDER BY name")]


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
