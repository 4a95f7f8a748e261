"""The asset graph materialized with dagster.materialize against a real database and the real model."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import dagster as dg
import pytest

from assets import ALL_ASSETS, chunks, embeddings, raw_documents
from assets.ingestion.chunking import ChunkingConfigError
from llamapg import collections, models
from llamapg.settings import get_settings
from pipelines.ingest import IngestError, ingest, register_partitions
from pipelines.resources import default_resources
from tests.conftest import SHARED_DATA
from tests.support.openai_server import openai_server
from tests.support.pipeline import MODEL, materialize_collection
from tests.support.vectors import assert_vectors_by_document_are_the_live_chunks


def table_counts(conn) -> dict[str, int]:
    return {
        "documents": conn.execute("SELECT count(*) AS n FROM documents").fetchone()["n"],
        "pages": conn.execute("SELECT count(*) AS n FROM document_pages").fetchone()["n"],
        "chunks": conn.execute("SELECT count(*) AS n FROM chunks").fetchone()["n"],
        "vectors": conn.execute("SELECT count(*) AS n FROM vectors_1").fetchone()["n"],
    }


@pytest.fixture
def docs(conn, collection_dir):
    collections.register(conn, "docs", str(collection_dir))
    return collection_dir


def test_asset_graph_ingests_a_collection(conn, instance, docs):
    metadata = materialize_collection(instance, "docs")

    assert metadata["raw_documents"]["documents_new"] == 4
    assert metadata["raw_documents"]["documents_failed"] == 0
    counts = table_counts(conn)
    assert counts["documents"] == 4
    assert counts["chunks"] == metadata["chunks"]["chunks_written"] > 0
    assert counts["vectors"] == metadata["embeddings"]["vectors_written"] == counts["chunks"]
    # The collection's index is built by the embeddings run once its first load is in.
    assert metadata["embeddings"]["index_built"] is True
    assert metadata["hnsw_index"]["action"] == "up to date" and metadata["hnsw_index"]["partitions"] == 1
    statuses = {row["status"] for row in conn.execute("SELECT status FROM documents")}
    assert statuses == {"ready"}
    pdf_chunk = conn.execute(
        "SELECT c.page, c.text FROM chunks c JOIN documents d ON d.id = c.document_id"
        " WHERE d.source_uri = 'crazy-ones.pdf'"
    ).fetchone()
    assert pdf_chunk["page"] == 1 and "crazy ones" in pdf_chunk["text"].lower()
    html = conn.execute(
        "SELECT title, string_agg(p.text, '') AS text FROM documents d JOIN document_pages p ON p.document_id = d.id"
        " WHERE source_uri = 'sourdough.html' GROUP BY title"
    ).fetchone()
    assert html["title"] == "Baking sourdough bread"
    assert "wild yeast" in html["text"] and "tracking" not in html["text"] and "<p>" not in html["text"]


def test_rematerializing_adds_no_rows(conn, instance, docs):
    materialize_collection(instance, "docs")
    before = table_counts(conn)

    again = materialize_collection(instance, "docs")

    assert table_counts(conn) == before
    assert again["raw_documents"]["documents_skipped"] == 4
    assert "chunks" not in again  # nothing changed, so no materialization to trigger embedding runs
    assert again["embeddings"]["vectors_written"] == 0
    assert again["embeddings"]["index_built"] is False
    assert again["hnsw_index"]["action"] == "up to date"


def test_changed_file_replaces_its_chunks_and_removed_file_disappears(conn, instance, docs):
    materialize_collection(instance, "docs")
    (docs / "lighthouses.txt").write_text(
        "Lighthouse keepers trimmed the wicks every evening.\nThe last keeper left in 1990.\n"
    )
    (docs / "postgres-vacuum.md").unlink()

    metadata = materialize_collection(instance, "docs")

    assert metadata["raw_documents"]["documents_changed"] == 1
    assert metadata["raw_documents"]["documents_removed"] == 1
    texts = [row["text"] for row in conn.execute(
        "SELECT c.text FROM chunks c JOIN documents d ON d.id = c.document_id"
        " WHERE d.source_uri = 'lighthouses.txt' ORDER BY c.ordinal")]
    assert texts and all("Pharos" not in text for text in texts)
    assert any("wicks" in text for text in texts)
    assert conn.execute("SELECT count(*) AS n FROM documents WHERE source_uri = 'postgres-vacuum.md'").fetchone()["n"] == 0
    orphans = conn.execute(
        "SELECT count(*) AS n FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM documents d WHERE d.id = c.document_id)"
    ).fetchone()["n"]
    assert orphans == 0
    # The removed and replaced texts' vectors are gone too: one vector per distinct live text.
    assert metadata["embeddings"]["orphan_vectors_removed"] >= 2
    assert table_counts(conn)["vectors"] == conn.execute(
        "SELECT count(DISTINCT content_hash) AS n FROM chunks").fetchone()["n"]
    # The exact plan's copy by document follows the swap and the removal.
    live = conn.execute("SELECT count(*) AS n FROM chunks WHERE NOT pending").fetchone()["n"]
    assert assert_vectors_by_document_are_the_live_chunks(conn, models.active(conn)) == live > 0


def test_broken_pdfs_fail_their_own_document_only(conn, instance, docs):
    bad = sorted((SHARED_DATA / "pdfs-bad").glob("*.pdf"))
    assert bad, "the shared broken-PDF set is missing"
    for path in bad:
        shutil.copy(path, docs / path.name)

    metadata = materialize_collection(instance, "docs")

    rows = {row["source_uri"]: row for row in conn.execute("SELECT source_uri, status, error FROM documents")}
    for name in ["crazy-ones.pdf", "lighthouses.txt", "postgres-vacuum.md", "sourdough.html"]:
        assert rows[name]["status"] == "ready", name
    failed = {uri: row["error"] for uri, row in rows.items() if row["status"] == "failed"}
    # Every broken file that has no readable text fails, with a message a person can act on.
    for name in ["empty-zero-bytes.pdf", "encrypted-aes256-r6-userpw-foo.pdf", "invalid-header-and-eof-only.pdf",
                 "not-a-pdf-png-renamed.pdf", "truncated-latex-two-column-first30000bytes.pdf"]:
        assert name in failed, name
    assert "empty file" in failed["empty-zero-bytes.pdf"]
    assert "password" in failed["encrypted-aes256-r6-userpw-foo.pdf"]
    assert "not a readable PDF" in failed["not-a-pdf-png-renamed.pdf"]
    assert metadata["raw_documents"]["documents_failed"] == len(failed)
    assert all(uri in metadata["raw_documents"]["failures"] for uri in failed)
    assert conn.execute(
        "SELECT count(*) AS n FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.status = 'failed'"
    ).fetchone()["n"] == 0


def test_chunk_size_above_model_limit_is_refused(conn, instance, docs):
    register_partitions(instance, "docs", [MODEL])
    dg.materialize(ALL_ASSETS, selection=[raw_documents], partition_key="docs", instance=instance,
                   resources=default_resources())
    with pytest.raises(ChunkingConfigError) as raised:
        dg.materialize(
            ALL_ASSETS, selection=[chunks], partition_key="docs", instance=instance, resources=default_resources(),
            run_config={"ops": {"chunks": {"config": {"chunk_size": 512}}}},
        )
    message = str(raised.value)
    assert "512" in message and "256" in message and "silently dropped" in message
    assert conn.execute("SELECT count(*) AS n FROM chunks").fetchone()["n"] == 0


def test_ingest_runs_through_a_persistent_instance(conn, database_url, docs):
    """The CLI path: the persistent dagster-postgres instance records the runs for the UI."""
    from pipelines.instance import dagster_instance

    persistent = dagster_instance()
    assert type(persistent._run_storage).__name__ == "PostgresRunStorage"
    result = ingest("docs", docs, instance=persistent)

    assert result.model == MODEL
    assert result.metadata["embeddings"]["vectors_written"] == table_counts(conn)["vectors"] > 0
    materialized = persistent.get_latest_materialization_event(dg.AssetKey("hnsw_index"))
    assert materialized is not None
    with pytest.raises(IngestError, match="not a directory"):
        ingest("docs", Path(docs) / "missing", instance=persistent)


def test_embedding_resumes_after_a_crash(conn, instance, docs, monkeypatch):
    """After a failure mid-way, every batch that was embedded is kept (whichever of the requests in
    flight failed), and a re-run embeds only what is missing."""
    monkeypatch.setenv("LLAMAPG_EMBED_BATCH_SIZE", "1")
    monkeypatch.setenv("LLAMAPG_OPENAI_MAX_RETRIES", "0")
    get_settings.cache_clear()
    with openai_server(dimensions=64) as server:
        remote = models.register(conn, "remote", provider="openai", model="stand-in", dimensions=64,
                                 max_input_tokens=8191, base_url=server.url)
        register_partitions(instance, "docs", [MODEL, "remote"])
        dg.materialize(ALL_ASSETS, selection=[raw_documents, chunks], partition_key="docs", instance=instance,
                       resources=default_resources())
        distinct_texts = conn.execute("SELECT count(DISTINCT content_hash) AS n FROM chunks").fetchone()["n"]
        assert distinct_texts >= 4
        key = dg.MultiPartitionKey({"collection": "docs", "model": "remote"})

        server.fail_after = 2
        failed = dg.materialize(ALL_ASSETS, selection=[embeddings], partition_key=key, instance=instance,
                                resources=default_resources(), raise_on_error=False)
        assert not failed.success
        stored = f"SELECT count(*) AS n FROM {remote.vectors_table}"
        assert conn.execute(stored).fetchone()["n"] == 2  # the two requests that succeeded are kept

        server.fail_after = None
        resumed = dg.materialize(ALL_ASSETS, selection=[embeddings], partition_key=key, instance=instance,
                                 resources=default_resources())
    (event,) = resumed.get_asset_materialization_events()
    assert event.materialization.metadata["vectors_written"].value == distinct_texts - 2
    assert conn.execute(stored).fetchone()["n"] == distinct_texts


def test_a_refused_document_fails_alone_and_a_repeated_id_is_one_document(conn, tmp_path):
    """A NUL in a metadata value is valid JSON but not valid jsonb: that document fails with the
    reason, and the rest of its batch is stored."""
    from assets.ingestion.documents import sync_documents
    from llamapg import collections

    folder = tmp_path / "rows"
    folder.mkdir()
    rows = [{"_id": "good-1", "text": "Lighthouses guide ships."},
            {"_id": "bad", "text": "Sourdough rises.", "team": "a\u0000b"},
            {"_id": "good-2", "text": "Tides follow the moon."},
            {"_id": "good-1", "text": "Lighthouses guide ships at night."}]  # a repeated id: the last row wins
    (folder / "rows.jsonl").write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    collection = collections.register(conn, "rows", str(folder))

    report = sync_documents(conn, collection, [("", folder)])

    assert (report.new, report.failed) == (2, 1)
    statuses = {row["source_uri"]: (row["status"], row["error"]) for row in conn.execute(
        "SELECT source_uri, status, error FROM documents WHERE collection_id = %s", (collection.id,))}
    failed = [uri for uri, (status, _) in statuses.items() if status == "failed"]
    assert len(failed) == 1 and "bad" in failed[0]
    assert "cannot be stored" in statuses[failed[0]][1]
    assert sorted(status for status, _ in statuses.values()) == ["failed", "processing", "processing"]
    (text,) = [row["text"] for row in conn.execute(
        "SELECT p.text FROM document_pages p JOIN documents d ON d.id = p.document_id"
        " WHERE d.source_uri LIKE %s", ("%#good-1",))]
    assert text == "Lighthouses guide ships at night."


def test_documents_chunks_and_embeddings_log_progress_with_rate_and_time_left(conn, tmp_path, caplog):
    import logging

    from assets.embeddings.vectors import embed_collection
    from assets.ingestion.assets import chunker_for
    from assets.ingestion.chunking import chunk_documents
    from assets.ingestion.documents import sync_documents
    from llamapg.embedders import embedder_for

    folder = tmp_path / "rows"
    folder.mkdir()
    (folder / "rows.jsonl").write_text("".join(json.dumps({"_id": str(i), "text": f"Row number {i}."}) + "\n"
                                               for i in range(30)))
    collection = collections.register(conn, "rows", str(folder))
    logger = logging.getLogger("test.progress")
    with caplog.at_level(logging.INFO, logger="test.progress"):
        sync_documents(conn, collection, collections.source_roots(collection, get_settings()), batch_size=10,
                       progress_every_s=0, logger=logger)
        chunk_documents(conn, collection.id, chunker_for(conn, 256, 32), batch_size=10, progress_every_s=0,
                        logger=logger)
        model = models.active(conn)
        embed_collection(conn, collection.id, model, embedder_for(model), batch_size=10, progress_every_s=0,
                         logger=logger)
    lines = [record.getMessage() for record in caplog.records]
    for stage in ("documents scanned", "chunked", "embedded"):
        said = [line for line in lines if stage in line and "/s" in line]  # progress lines, not summaries
        assert said and all(re.search(r"/s, about \d+s left$", line) for line in said), (stage, lines)


def test_check_results_name_their_partition(conn, instance, docs):
    from pipelines.runs import materialize_step

    materialize_collection(instance, "docs")
    outcome = materialize_step(instance, [embeddings], dg.MultiPartitionKey({"collection": "docs", "model": MODEL}),
                               resources=default_resources())
    evaluations = outcome.get_asset_check_evaluations()
    assert {e.check_name for e in evaluations} == {"all_chunks_embedded", "dimensions_match"}
    for evaluation in evaluations:
        assert evaluation.passed
        assert evaluation.metadata["collection"].value == "docs" and evaluation.metadata["model"].value == MODEL
