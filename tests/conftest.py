"""Test fixtures: a real embedded PostgreSQL + pgvector for the session, a fresh database per test."""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

import dagster as dg
import psycopg
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from llamapg import db, embedded, migrations, models  # noqa: E402
from llamapg.bootstrap import _prepared  # noqa: E402
from llamapg.settings import DEFAULT_MODEL_NAME, get_settings  # noqa: E402
from tests.support.servers import TEST_SHARED_BUFFERS  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TEMPLATE = "llamapg_template"
_database_numbers = itertools.count()


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory) -> str:
    """URL of the `postgres` database of an embedded server private to this test session."""
    pgdata = tmp_path_factory.mktemp("pg") / "pgdata"
    url = embedded.start(pgdata, TEST_SHARED_BUFFERS)
    yield url
    embedded.stop(pgdata)


@pytest.fixture(scope="session")
def template_database(pg_server) -> str:
    """A migrated database with the default model registered, cloned for each test."""
    template_url = db._with_database(pg_server, TEMPLATE)
    db.ensure_database(template_url, pg_server)
    with db.connect(template_url, vectors=False) as conn:
        migrations.migrate(conn)
        models.register_default(conn, DEFAULT_MODEL_NAME)
        conn.commit()
    return template_url


@pytest.fixture
def database_url(pg_server, template_database, monkeypatch, tmp_path) -> str:
    """A fresh database for one test; LLAMAPG settings point at it."""
    name = f"test_{os.getpid()}_{next(_database_numbers)}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            psycopg.sql.Identifier(name), psycopg.sql.Identifier(TEMPLATE)))
    url = db._with_database(pg_server, name)
    monkeypatch.setenv("LLAMAPG_DATABASE_URL", url)
    monkeypatch.setenv("LLAMAPG_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()
    _prepared.discard(url)


@pytest.fixture
def conn(database_url):
    with db.connection(database_url, autocommit=True) as connection:
        yield connection


@pytest.fixture
def instance():
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture
def collection_dir(tmp_path) -> Path:
    """A small collection: Markdown, text, HTML and a one-page PDF, copied so tests may edit it."""
    target = tmp_path / "docs"
    shutil.copytree(FIXTURES / "docs", target)
    return target


@pytest.fixture
def ingested(conn, instance, collection_dir) -> str:
    """The `collection_dir` documents ingested as collection "docs" through the four assets."""
    from llamapg import collections
    from tests.support.pipeline import materialize_collection

    collections.register(conn, "docs", str(collection_dir))
    materialize_collection(instance, "docs")
    return "docs"


@pytest.fixture
def chat_server(database_url, monkeypatch):
    """A real OpenAI-compatible chat server on localhost, configured as llamapg's chat model."""
    from tests.support.openai_server import openai_server

    with openai_server() as server:
        monkeypatch.setenv("LLAMAPG_LLM_BASE_URL", server.url)
        monkeypatch.setenv("LLAMAPG_LLM_MODEL", "chat-test")
        get_settings.cache_clear()
        yield server
