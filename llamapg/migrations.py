"""Ordered, idempotent schema migrations from `sql/migrations/`."""

from __future__ import annotations

import logging

import psycopg

from llamapg.queries import SQL_DIR

log = logging.getLogger(__name__)
MIGRATIONS_DIR = SQL_DIR / "migrations"
# Any constant works; it only has to be the same for every process that migrates.
_MIGRATION_LOCK = 7_161_426_700


def pending(conn: psycopg.Connection) -> list[str]:
    applied = _applied(conn)
    return [path.stem for path in sorted(MIGRATIONS_DIR.glob("*.sql")) if path.stem not in applied]


def _applied(conn: psycopg.Connection) -> set[str]:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    return {row[0] if isinstance(row, tuple) else row["version"]
            for row in conn.execute("SELECT version FROM schema_migrations")}


def migrate(conn: psycopg.Connection) -> list[str]:
    """Apply every migration not yet recorded, each in its own transaction; returns their versions.

    An advisory lock serialises concurrent callers (the API, Dagster and the CLI start together).
    """
    done: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        for version in pending(conn):
            with conn.transaction():
                conn.execute((MIGRATIONS_DIR / f"{version}.sql").read_text())
                conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
            log.info("applied migration %s", version)
            done.append(version)
    return done
