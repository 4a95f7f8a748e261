"""The `llamapg` command end to end: ingest through Dagster, then query, with the real model."""

from __future__ import annotations

import json
import re
import socket

from click.testing import CliRunner

from llamapg.cli import main
from llamapg.settings import get_settings


def test_ingest_then_query(database_url, collection_dir):
    runner = CliRunner()
    ingested = runner.invoke(main, ["ingest", str(collection_dir), "--collection", "docs", "--quiet"])
    assert ingested.exit_code == 0, ingested.output
    assert "collection docs: 4 documents (4 new" in ingested.output
    assert "index built" in ingested.output

    answered = runner.invoke(main, ["query", "Who built the Pharos of Alexandria?", "-c", "docs", "-k", "2"])
    assert answered.exit_code == 0, answered.output
    assert "[1]" in answered.output and "lighthouses.txt" in answered.output
    # Each printed source says its citation number, rank, score (labelled) and similarity; the
    # numbers cited in the answer are those of printed sources.
    answer, _, listing = answered.output.partition("\nsources, best first")
    printed = re.findall(r"^\s+\[(\d+|-)\] rank (\d+)  score [\d.e-]+  similarity [\d.]+  ", listing, re.MULTILINE)
    assert [rank for _, rank in printed] == ["1", "2"]
    assert set(re.findall(r"\[(\d+)\]", answer)) <= {cited for cited, _ in printed if cited != "-"}
    assert "score = RRF" in listing

    as_json = runner.invoke(main, ["query", "crazy ones misfits rebels", "-c", "docs", "-k", "1", "--json"])
    result = json.loads(as_json.output)
    assert result["sources"][0]["source"] == "crazy-ones.pdf" and result["sources"][0]["page"] == 1

    again = runner.invoke(main, ["ingest", str(collection_dir), "--collection", "docs", "--quiet"])
    assert "0 new, 0 changed, 4 unchanged" in again.output and "0 chunks written, 0 vectors" in again.output


def test_errors_are_messages_not_tracebacks(database_url, tmp_path):
    runner = CliRunner()
    bad_name = runner.invoke(main, ["ingest", str(tmp_path), "--collection", "Bad Name"])
    assert bad_name.exit_code != 0 and "invalid collection name 'Bad Name'" in bad_name.output
    unknown = runner.invoke(main, ["query", "anything", "-c", "missing"])
    assert unknown.exit_code != 0 and "unknown collection 'missing'" in unknown.output


def test_db_commands(database_url):
    runner = CliRunner()
    assert runner.invoke(main, ["db", "migrate"]).output.strip() == "schema up to date"
    assert runner.invoke(main, ["db", "url"]).output.strip() == database_url
    assert "+psycopg2://" in runner.invoke(main, ["db", "url", "--dagster"]).output
    status = runner.invoke(main, ["db", "status"])
    assert status.exit_code == 0 and "schema up to date" in status.output
    listed = runner.invoke(main, ["models", "list"])
    assert "all-minilm-l6-v2" in listed.output and "active" in listed.output


def test_a_model_without_credentials_is_refused_when_added_and_before_a_backfill(database_url, monkeypatch):
    from llamapg import db, models

    for variable in ("LLAMAPG_OPENAI_API_KEY", "OPENAI_API_KEY", "LLAMAPG_OPENAI_BASE_URL"):
        monkeypatch.delenv(variable, raising=False)
    get_settings.cache_clear()
    runner = CliRunner()
    added = runner.invoke(main, ["models", "add", "te3", "--provider", "openai", "--model", "text-embedding-3-small",
                                 "--dimensions", "1536"])
    assert added.exit_code != 0
    assert added.output.strip().splitlines() == [
        "Error: te3: no API key for https://api.openai.com/v1: set LLAMAPG_OPENAI_API_KEY (or OPENAI_API_KEY), "
        "or give --base-url for an OpenAI-compatible server that needs none"]
    # Registered some other way (or the key removed since): the backfill refuses before it starts.
    with db.connection(database_url) as conn:
        models.register(conn, "te3", provider="openai", model="text-embedding-3-small", dimensions=1536,
                        max_input_tokens=8191)
        conn.commit()
    backfill = runner.invoke(main, ["models", "backfill", "te3"])
    assert backfill.exit_code != 0 and "te3: no API key" in backfill.output and "Traceback" not in backfill.output


def test_an_endpoint_failure_is_one_line_naming_the_model_and_url(database_url, collection_dir):
    runner = CliRunner()
    assert runner.invoke(main, ["ingest", str(collection_dir), "-c", "docs", "-q"]).exit_code == 0
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    monkeypatch_env = {"LLAMAPG_OPENAI_MAX_RETRIES": "0"}
    added = runner.invoke(main, ["models", "add", "bad", "--provider", "openai", "--model", "m", "--dimensions", "8",
                                 "--base-url", url])
    assert added.exit_code == 0, added.output
    failed = runner.invoke(main, ["models", "backfill", "bad", "-q"], env=monkeypatch_env)
    assert failed.exit_code != 0
    (line,) = failed.output.strip().splitlines()
    assert line.startswith(f"Error: embeddings [docs|bad] failed: bad: embeddings request to {url}/ failed: ")
    assert "DagsterExecutionStepExecutionError" not in line
    # Not quiet: progress lines, still no traceback; --debug: the stack trace too.
    loud = runner.invoke(main, ["models", "backfill", "bad"], env=monkeypatch_env)
    assert loud.exit_code != 0 and "Stack Trace" not in loud.output and "Traceback" not in loud.output
    debug = runner.invoke(main, ["--debug", "models", "backfill", "bad"], env={**monkeypatch_env, "LLAMAPG_DEBUG": None})
    assert "Stack Trace" in debug.output


def test_a_lost_database_is_a_readable_message_and_debug_shows_the_traceback(database_url, monkeypatch):
    from llamapg import bootstrap

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("LLAMAPG_DATABASE_URL", f"postgresql://llamapg:secret@127.0.0.1:{port}/llamapg")
    get_settings.cache_clear()
    bootstrap._prepared.clear()
    runner = CliRunner()
    listed = runner.invoke(main, ["models", "list"])
    assert listed.exit_code != 0
    (line,) = listed.output.strip().splitlines()
    assert line.startswith(f"Error: database unavailable (postgresql://llamapg:***@127.0.0.1:{port}/llamapg): ")
    assert "secret" not in line and "--debug" in line
    debug = runner.invoke(main, ["--debug", "models", "list"])
    assert debug.exit_code != 0 and debug.exception is not None
