"""The `llamapg` command end to end: ingest through Dagster, then query, with the real model."""

from __future__ import annotations

import json

from click.testing import CliRunner

from llamapg.cli import main


def test_ingest_then_query(database_url, collection_dir):
    runner = CliRunner()
    ingested = runner.invoke(main, ["ingest", str(collection_dir), "--collection", "docs", "--quiet"])
    assert ingested.exit_code == 0, ingested.output
    assert "collection docs: 4 documents (4 new" in ingested.output
    assert "index built" in ingested.output

    answered = runner.invoke(main, ["query", "Who built the Pharos of Alexandria?", "-c", "docs", "-k", "2"])
    assert answered.exit_code == 0, answered.output
    assert "[1]" in answered.output and "lighthouses.txt" in answered.output

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
