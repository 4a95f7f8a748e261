"""Sensor-driven ingestion, updates, deletes and uploads, end to end on a real database."""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from llamapg import collections, db
from llamapg.settings import get_settings
from query_service.main import create_app
from tests.support.api import api_client
from tests.conftest import FIXTURES, SHARED_DATA
from tests.support.automation import Daemon


@pytest.fixture
def watch_root(tmp_path, monkeypatch, database_url):
    root = tmp_path / "watched"
    root.mkdir()
    monkeypatch.setenv("LLAMAPG_WATCH_ROOTS", str(root))
    get_settings.cache_clear()
    return root


@pytest.fixture
def daemon(instance, database_url):
    return Daemon(instance)


def ask(client, question: str, collection: str, k: int = 5) -> dict:
    response = client.post("/query", json={"question": question, "collection": collection, "k": k})
    assert response.status_code == 200, response.text
    return response.json()


def test_new_folder_and_dropped_file_are_ingested_after_a_sensor_tick(conn, watch_root, daemon):
    assert daemon.tick() == []  # nothing to watch yet
    shutil.copytree(FIXTURES / "docs", watch_root / "notes")

    requests = daemon.tick()

    assert [r.partition_key for r in requests] == ["notes"]
    assert collections.find(conn, "notes") is not None
    assert ("embeddings", "notes|all-minilm-l6-v2") in daemon.runs  # requested by declarative automation
    statuses = [row["status"] for row in conn.execute("SELECT status FROM documents")]
    assert statuses == ["ready"] * 4

    (watch_root / "notes" / "tides.md").write_text("# Tides\n\nThe moon's gravity raises two tidal bulges.\n")
    assert [r.partition_key for r in daemon.tick()] == ["notes"]
    assert conn.execute("SELECT status FROM documents WHERE source_uri = 'tides.md'").fetchone()["status"] == "ready"
    assert daemon.tick() == []  # nothing changed: no run


def test_modified_and_removed_files_leave_no_duplicates_or_ghosts(conn, watch_root, daemon):
    folder = watch_root / "notes"
    shutil.copytree(FIXTURES / "docs", folder)
    daemon.tick()
    with api_client() as client:
        before = ask(client, "Who built the Pharos of Alexandria?", "notes", k=1)
        assert before["sources"][0]["source"] == "lighthouses.txt"

        (folder / "lighthouses.txt").write_text("Lighthouse keepers trimmed the wicks every evening.\n")
        (folder / "sourdough.html").unlink()
        daemon.tick()

        texts = [r["text"] for r in conn.execute(
            "SELECT c.text FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.source_uri = 'lighthouses.txt'")]
        assert texts == ["Lighthouse keepers trimmed the wicks every evening."]
        sources = {s["source"] for s in ask(client, "sourdough starter yeast bread", "notes", k=10)["sources"]}
        assert "sourdough.html" not in sources and sources  # the deleted file is gone from results
        assert conn.execute("SELECT count(*) AS n FROM chunks WHERE pending").fetchone()["n"] == 0


def test_changed_document_swaps_atomically(conn, instance, collection_dir):
    """Between re-chunking and embedding, queries see the whole old version; afterwards the whole new one."""
    import dagster as dg

    from assets import ALL_ASSETS, chunks, raw_documents
    from pipelines.resources import default_resources
    from tests.support.pipeline import materialize_collection

    collections.register(conn, "docs", str(collection_dir))
    materialize_collection(instance, "docs")
    (collection_dir / "lighthouses.txt").write_text("Lighthouse keepers trimmed the wicks every evening.\n")
    dg.materialize(ALL_ASSETS, selection=[raw_documents, chunks], partition_key="docs", instance=instance,
                   resources=default_resources())

    with api_client() as client:
        during = ask(client, "lighthouse", "docs", k=10)["sources"]
        live = [s["text"] for s in during if s["source"] == "lighthouses.txt"]
        assert live and all("Pharos" in text for text in live)  # only the old version, complete

        metadata = materialize_collection(instance, "docs")
        after = ask(client, "lighthouse", "docs", k=10)["sources"]
        live = [s["text"] for s in after if s["source"] == "lighthouses.txt"]
        assert live == ["Lighthouse keepers trimmed the wicks every evening."]
    assert metadata["embeddings"]["documents_promoted"] == 1


def test_metadata_only_edit_reembeds_nothing(conn, instance, tmp_path):
    from tests.support.pipeline import materialize_collection

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    row = '{{"_id": "a1", "title": "Tides", "text": "The moon raises two tidal bulges.", "metadata": {{"year": {year}}}}}\n'
    (corpus / "rows.jsonl").write_text(row.format(year=1990))
    collections.register(conn, "rows", str(corpus))
    first = materialize_collection(instance, "rows")
    assert first["embeddings"]["vectors_written"] == 1

    (corpus / "rows.jsonl").write_text(row.format(year=2024))
    second = materialize_collection(instance, "rows")

    assert second["raw_documents"]["documents_changed"] == 1
    assert second["embeddings"]["vectors_written"] == 0
    assert second["embeddings"]["chunks_reused"] == second["embeddings"]["chunks_pending"] == 1
    assert conn.execute("SELECT metadata FROM documents").fetchone()["metadata"]["metadata"] == {"year": 2024}


def test_uploads_reach_ready_or_failed_and_can_be_deleted(conn, database_url, daemon):
    with api_client() as client:
        good = (FIXTURES / "docs" / "lighthouses.txt").read_bytes()
        bad = (SHARED_DATA / "pdfs-bad" / "truncated-latex-two-column-first30000bytes.pdf").read_bytes()
        response = client.post(
            "/collections/inbox/documents",
            files=[("files", ("lighthouses.txt", good, "text/plain")), ("files", ("broken.pdf", bad, "application/pdf"))],
            data={"metadata": '{"team": "ops"}'},
        )
        assert response.status_code == 202, response.text
        uploaded = {d["source"]: d for d in response.json()["documents"]}
        assert set(uploaded) == {"uploads/lighthouses.txt", "uploads/broken.pdf"}
        status_url = uploaded["uploads/lighthouses.txt"]["status_url"]
        assert client.get(status_url).json()["status"] == "pending"

        daemon.tick()

        ready = client.get(status_url).json()
        assert ready["status"] == "ready" and ready["chunks"] >= 1 and ready["metadata"]["team"] == "ops"
        failed = client.get(uploaded["uploads/broken.pdf"]["status_url"]).json()
        assert failed["status"] == "failed" and "not a readable PDF" in failed["error"]
        assert ask(client, "Pharos of Alexandria", "inbox")["sources"][0]["source"] == "uploads/lighthouses.txt"

        document_id = uploaded["uploads/lighthouses.txt"]["id"]
        assert client.delete(f"/documents/{document_id}").status_code == 204
        assert client.get(f"/documents/{document_id}").status_code == 404
        assert ask(client, "Pharos of Alexandria", "inbox")["sources"] == []
        assert not (get_settings().uploads_dir / "inbox" / "lighthouses.txt").exists()


@pytest.mark.parametrize("files, data, message", [
    ([("files", ("notes.exe", b"x", "application/octet-stream"))], {}, "unsupported file type"),
    ([("files", ("notes.txt", b"x", "text/plain"))], {"metadata": "[1, 2]"}, "must be a JSON object"),
    ([("files", ("notes.txt", b"x", "text/plain"))], {"metadata": "{oops"}, "not valid JSON"),
])
def test_bad_uploads_are_422_with_a_reason(database_url, files, data, message):
    with api_client() as client:
        response = client.post("/collections/inbox/documents", files=files, data=data)
    assert response.status_code == 422 and message in response.json()["detail"]


def test_source_directory_documents_cannot_be_deleted_over_http(conn, ingested):
    document_id = conn.execute("SELECT id FROM documents LIMIT 1").fetchone()["id"]
    with api_client() as client:
        response = client.delete(f"/documents/{document_id}")
    assert response.status_code == 409 and "source directory" in response.json()["detail"]


def test_nightly_rescan_requests_every_collection(conn, database_url, instance):
    import dagster as dg

    from pipelines.resources import default_resources
    from pipelines.schedules import nightly_rescan

    for name in ["alpha", "beta"]:
        collections.register(conn, name, None)
    from datetime import datetime, timezone

    tick = datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)
    with dg.build_schedule_context(
        instance=instance, resources=default_resources(), scheduled_execution_time=tick
    ) as context:
        requests = nightly_rescan(context)
    assert sorted(r.partition_key for r in requests) == ["alpha", "beta"]
    assert requests[0].run_key == f"rescan:alpha:{tick.isoformat()}"
    assert nightly_rescan.cron_schedule == get_settings().rescan_cron


def test_a_fresh_sensor_does_not_ingest_again_what_the_cli_ingested(conn, watch_root, instance):
    from pipelines.ingest import ingest

    shutil.copytree(FIXTURES / "docs", watch_root / "notes")
    ingest("notes", watch_root / "notes", instance=instance, log_level="WARNING")
    # A new daemon (no sensor cursor), as on a fresh `make run`: nothing changed since the ingest.
    fresh = Daemon(instance)
    assert fresh.tick() == []
    (watch_root / "notes" / "tides.md").write_text("# Tides\n\nThe moon's gravity raises two tidal bulges.\n")
    assert [r.partition_key for r in fresh.tick()] == ["notes"]


def test_one_ingestion_at_a_time_per_collection(conn, database_url, watch_root, instance):
    import threading

    from tests.support.pipeline import materialize_collection

    shutil.copytree(FIXTURES / "docs", watch_root / "notes")
    notes = collections.register(conn, "notes", str(watch_root / "notes"))
    daemon = Daemon(instance)
    with db.connection(database_url, autocommit=True) as other_run:
        with collections.exclusive(other_run, notes, "documents"):
            # The sensor leaves a collection alone while another run ingests it...
            assert daemon.tick() == []
            # ...and a run started meanwhile (here: the CLI's steps) waits for it.
            second = threading.Thread(target=materialize_collection, args=(instance, "notes"))
            second.start()
            second.join(timeout=5)
            assert second.is_alive()
            assert conn.execute("SELECT count(*) AS n FROM documents").fetchone()["n"] == 0
        second.join(timeout=120)
    assert not second.is_alive()
    statuses = [row["status"] for row in conn.execute("SELECT status FROM documents")]
    assert statuses == ["ready"] * 4
    assert daemon.tick() == []  # the files are as that ingest saw them


def test_documents_left_processing_by_an_interrupted_run_are_picked_up(conn, instance, collection_dir):
    import dagster as dg

    from assets import chunks, raw_documents
    from pipelines.resources import default_resources
    from tests.support.pipeline import materialize_collection

    collections.register(conn, "docs", str(collection_dir))
    materialize_collection(instance, "docs")
    daemon = Daemon(instance)
    (collection_dir / "lighthouses.txt").write_text("Lighthouse keepers trimmed the wicks every evening.\n")
    # The ingest is cancelled after chunking: its embedding never runs.
    dg.materialize([raw_documents, chunks], partition_key="docs", instance=instance, resources=default_resources())
    stuck = "SELECT status FROM documents WHERE source_uri = 'lighthouses.txt'"
    assert conn.execute(stuck).fetchone()["status"] == "processing"

    # The next run of the collection (the nightly rescan; nothing changed since) materializes chunks
    # again, saying why, so that declarative automation embeds and promotes the document.
    daemon.ingest_run("docs")
    assert ("embeddings", "docs|all-minilm-l6-v2") in daemon.runs
    assert conn.execute(stuck).fetchone()["status"] == "ready"
    resumed = instance.get_latest_materialization_event(dg.AssetKey("chunks"))
    assert resumed.asset_materialization.metadata["documents_resumed"].value == 1
