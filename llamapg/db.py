"""The one place that resolves database URLs and opens connections."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from llamapg import embedded
from llamapg.settings import Settings, get_settings


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached; callers answer 503 and retry later."""


def _with_database(url: str, database: str, driver: str | None = None) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql") and not parts.scheme.startswith("postgresql+"):
        raise ValueError(f"database URL must look like postgresql://user:pass@host:port/db, got {url!r}")
    scheme = f"postgresql+{driver}" if driver else "postgresql"
    return urlunsplit((scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def server_url(settings: Settings | None = None) -> str:
    """URL of the server's maintenance database; starts the embedded server when it is in use."""
    settings = settings or get_settings()
    if settings.database_url:
        return _with_database(settings.database_url, "postgres")
    return embedded.start(settings.pgdata_dir, settings.db_shared_buffers)


def database_url(settings: Settings | None = None) -> str:
    """URL of llamapg's own database."""
    settings = settings or get_settings()
    if settings.database_url:
        return _with_database(settings.database_url, urlsplit(settings.database_url).path.lstrip("/") or "postgres")
    return _with_database(server_url(settings), settings.database_name)


def where(settings: Settings | None = None) -> str:
    """Which database, for messages: the configured URL without its password, or the embedded
    server's data directory. Starts nothing."""
    settings = settings or get_settings()
    if not settings.database_url:
        return f"embedded server in {settings.pgdata_dir}"
    parts = urlsplit(settings.database_url)
    netloc = parts.netloc.rsplit("@", 1)
    if len(netloc) == 2 and ":" in netloc[0]:
        netloc[0] = netloc[0].split(":", 1)[0] + ":***"
    return urlunsplit((parts.scheme, "@".join(netloc), parts.path, "", ""))


def dagster_storage_url(settings: Settings | None = None) -> str:
    """URL for dagster-postgres: its own database on the same server.

    The `+psycopg2` driver is explicit: under SQLAlchemy 2.1 a bare `postgresql://` picks
    psycopg 3, with which Dagster's event storage fails on NOTIFY.
    """
    settings = settings or get_settings()
    return _with_database(server_url(settings), settings.dagster_database_name, driver="psycopg2")


def ensure_database(url: str, maintenance_url: str) -> None:
    """Create the database named in `url` if it does not exist yet."""
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def configure(conn: psycopg.Connection) -> None:
    """pgvector's types. Prepared statements keep PostgreSQL's default plan_cache_mode (auto): psycopg
    prepares a statement after 5 executions, and PostgreSQL then reuses a generic plan when it is
    costed no worse than the custom ones, pruning the vectors table's partitions when the plan
    starts. For retrieval's state probe and exact plan that saves planning each request (0.25 and
    0.3 ms of a 1 ms filtered search at 100k chunks, docs/performance.md); llamapg/retrieval.py has
    chosen the plan's shape already, from the request's collection and filters."""
    register_vector(conn)
    if not conn.autocommit:
        conn.commit()  # register_vector's type lookup opened a transaction


def connect(url: str | None = None, *, autocommit: bool = False, vectors: bool = True) -> psycopg.Connection:
    """A dict-row connection with pgvector's types registered (once the schema has the extension)."""
    try:
        conn = psycopg.connect(url or database_url(), autocommit=autocommit, row_factory=dict_row)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(str(exc).strip()) from exc
    if vectors:
        configure(conn)
    return conn


@contextmanager
def connection(url: str | None = None, *, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    conn = connect(url, autocommit=autocommit)
    try:
        with conn:
            yield conn
    finally:
        conn.close()


class SingleConnection:
    """One open connection offered the way a pool offers its connections: what the CLI and the
    evaluation give the query path, where the service gives its pool."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    @contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[psycopg.Connection]:
        yield self.conn


def create_pool(url: str | None = None, *, max_size: int | None = None) -> ConnectionPool:
    """The service's pool. Autocommit: a request that reads holds no transaction open while it
    embeds, waits or writes its response (at 64 clients, 8-9 of 10 connections sat "idle in
    transaction"); writes that must be atomic say so with `conn.transaction()`."""
    settings = get_settings()
    return ConnectionPool(
        url or database_url(settings),
        min_size=1,
        max_size=max_size or settings.pool_max_size,
        kwargs={"row_factory": dict_row, "autocommit": True},
        configure=configure,
        # Open lazily: the service must start (and answer 503) while the database is down.
        open=False,
        timeout=settings.pool_timeout_s,
        check=ConnectionPool.check_connection,
    )
