"""Swapping the embedding model: register, backfill through Dagster, check, activate, retire,
while queries keep being answered, each wholly by one model."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from llamapg import models
from llamapg.cli import main
from llamapg.embedders.local import LocalEmbedder
from llamapg.settings import get_settings
from pipelines.backfill import backfill_model
from query_service.main import create_app
from tests.support.api import api_client
from tests.support.automation import Daemon
from tests.support.openai_server import hashed_embedding, openai_server
from tests.support.vectors import assert_vectors_by_document_are_the_live_chunks

QUESTION = "How do lighthouses focus their light?"


def register_remote(conn, url: str):
    return models.register(conn, "remote", provider="openai", model="stand-in", dimensions=64,
                           max_input_tokens=8191, base_url=url)


def similarity_in_db(conn, model, chunk_id: int, query: np.ndarray) -> float:
    row = conn.execute(
        f"SELECT 1 - (v.embedding <=> %s) AS similarity FROM chunks c JOIN {model.vectors_table} v"
        " ON v.content_hash = c.content_hash WHERE c.id = %s",
        (query.astype(np.float32), chunk_id),
    ).fetchone()
    return float(row["similarity"])


def test_adding_a_model_backfills_nothing_by_itself(conn, instance, ingested):
    daemon = Daemon(instance)
    with openai_server(dimensions=64) as server:
        register_remote(conn, server.url)
        from pipelines.ingest import register_partitions

        register_partitions(instance, None, ["remote"])
        daemon.tick()
        assert server.requests == []
    assert not any(key.endswith("|remote") for _, key in daemon.runs)


def test_activation_is_refused_until_backfilled_and_checked(conn, database_url, ingested):
    with openai_server(dimensions=64) as server:
        register_remote(conn, server.url)
        refused = CliRunner().invoke(main, ["models", "activate", "remote"])
        assert refused.exit_code != 0
        assert "collection docs: 0/" in refused.output and "no valid HNSW index" in refused.output
        assert models.active(conn).name == "all-minilm-l6-v2"


def test_model_swap_under_continuous_queries(conn, database_url, instance, ingested):
    answers: list[dict] = []
    failures: list[str] = []
    stop = threading.Event()

    with openai_server(dimensions=64) as server, api_client() as client:
        def keep_asking() -> None:
            while not stop.is_set():
                response = client.post("/query", json={"question": QUESTION, "collection": "docs", "k": 3})
                if response.status_code == 200:
                    answers.append(response.json())
                else:
                    failures.append(f"{response.status_code}: {response.text}")

        asker = threading.Thread(target=keep_asking)
        asker.start()
        try:
            remote = register_remote(conn, server.url)
            result = backfill_model("remote", instance=instance)
            assert result.checks and all(result.checks.values()), result.checks
            activated = CliRunner().invoke(main, ["models", "activate", "remote"])
            assert activated.exit_code == 0, activated.output
            served_before = len(answers)
            while len(answers) < served_before + 5 and asker.is_alive():
                stop.wait(0.05)
        finally:
            stop.set()
            asker.join()

    assert failures == []
    used = [answer["model"] for answer in answers]
    assert "all-minilm-l6-v2" in used and used[-1] == "remote"
    assert used == sorted(used, key=lambda name: name == "remote")  # one switch, never back
    minilm = models.get(conn, "all-minilm-l6-v2")
    # Each model's copy by document holds every live chunk: the backfill's, laid out by document.
    live = conn.execute("SELECT count(*) AS n FROM chunks WHERE NOT pending").fetchone()["n"]
    for model in (minilm, remote):
        assert assert_vectors_by_document_are_the_live_chunks(conn, model) == live > 0
    in_storage_order = [row["document_id"] for row in conn.execute(
        f"SELECT document_id FROM {remote.vectors_by_document_table} ORDER BY ctid")]
    assert in_storage_order == sorted(in_storage_order)  # the backfill's rows, rewritten by document
    question_vectors = {
        "all-minilm-l6-v2": LocalEmbedder("m", "all-MiniLM-L6-v2", 384, 256).embed_query(QUESTION),
        "remote": np.array(hashed_embedding(QUESTION, 64)),
    }
    by_name = {"all-minilm-l6-v2": minilm, "remote": remote}
    for answer in answers:
        model = by_name[answer["model"]]
        for source in answer["sources"]:
            expected = similarity_in_db(conn, model, source["chunk_id"], question_vectors[answer["model"]])
            assert source["similarity"] == pytest.approx(expected, abs=1e-4)


def test_models_list_and_retire(conn, database_url, instance, ingested):
    with openai_server(dimensions=64) as server:
        register_remote(conn, server.url)
        backfill_model("remote", instance=instance)
    runner = CliRunner()
    listed = runner.invoke(main, ["models", "list"]).output
    assert "remote  [registered]" in listed and "100%" in listed and "recall@10: 1.0" in listed

    assert "is active" in runner.invoke(main, ["models", "retire", "all-minilm-l6-v2"]).output
    retired = runner.invoke(main, ["models", "retire", "remote"])
    assert retired.exit_code == 0, retired.output
    assert models.get(conn, "remote").status == "retired"
    assert conn.execute("SELECT to_regclass('vectors_2') AS t").fetchone()["t"] is None
    assert conn.execute("SELECT to_regclass('vectors_2_by_document') AS t").fetchone()["t"] is None


def test_auto_activation_once_checks_pass(conn, database_url, instance, ingested, monkeypatch):
    monkeypatch.setenv("LLAMAPG_AUTO_ACTIVATE", "true")
    get_settings.cache_clear()
    with openai_server(dimensions=64) as server:
        register_remote(conn, server.url)
        backfill_model("remote", instance=instance)
    assert models.active(conn).name == "remote"


def test_the_readme_swap_section_followed_literally_ends_on_the_new_model(conn, database_url, ingested, tmp_path):
    """Steps 1-5 of "Swapping the embedding model" through the CLI, the default model retired too;
    then every command, a restarted API and a new collection's ingest work on the new model."""
    from llamapg import bootstrap

    runner = CliRunner()

    def cli(*arguments: str) -> str:
        outcome = runner.invoke(main, list(arguments))
        assert outcome.exit_code == 0, outcome.output
        return outcome.output

    with openai_server(dimensions=64) as server:
        assert "next: llamapg models backfill te3" in cli(
            "models", "add", "te3", "--provider", "openai", "--model", "stand-in", "--dimensions", "64",
            "--base-url", server.url)
        backfilled = cli("models", "backfill", "te3", "--quiet")
        assert "all checks passed" in backfilled and "next: llamapg models activate te3" in backfilled
        assert "te3  [registered]" in cli("models", "list")
        assert "te3 is active" in cli("models", "activate", "te3")
        assert "all-minilm-l6-v2 retired" in cli("models", "retire", "all-minilm-l6-v2")

        # Start-up (here: a process that never prepared this database) neither re-registers nor
        # requires the retired default model.
        bootstrap._prepared.clear()
        listed = cli("models", "list")
        assert "all-minilm-l6-v2  [retired]" in listed and "te3  [active]" in listed
        answered = json.loads(cli("query", "How do lighthouses focus their light?", "-c", "docs", "--json"))
        assert answered["model"] == "te3" and answered["sources"]
        bootstrap._prepared.clear()
        with api_client() as client:
            found = client.post("/search", json={"question": "lighthouses", "collection": "docs"})
            assert found.status_code == 200 and found.json()["model"] == "te3"

        (tmp_path / "recipes").mkdir()
        (tmp_path / "recipes" / "bread.md").write_text("# Bread\n\nKnead the dough for ten minutes.\n")
        assert "1 new" in cli("ingest", str(tmp_path / "recipes"), "-c", "recipes", "--quiet")
        assert models.get(conn, "all-minilm-l6-v2").status == "retired"

        # A retired name stays retired; the same model comes back under a new name.
        again = runner.invoke(main, ["models", "add", "all-minilm-l6-v2", "--provider", "local",
                                     "--model", "all-MiniLM-L6-v2", "--dimensions", "384"])
        assert again.exit_code != 0 and "was retired" in again.output
        assert "registered minilm2" in cli("models", "add", "minilm2", "--provider", "local",
                                           "--model", "all-MiniLM-L6-v2", "--dimensions", "384")


def test_a_backfill_embeds_collections_registered_while_it_runs(conn, database_url, instance, ingested,
                                                                 tmp_path, monkeypatch):
    import pipelines.backfill as backfill
    from llamapg import collections
    from tests.support.pipeline import materialize_collection

    late = tmp_path / "late"
    late.mkdir()
    (late / "note.txt").write_text("A collection uploaded while the backfill was running.")
    real_step = backfill.materialize_step

    def step_then_register_a_collection(instance_, selection, key, **kwargs):
        outcome = real_step(instance_, selection, key, **kwargs)
        if not collections.find(conn, "late"):
            collections.register(conn, "late", str(late))
            materialize_collection(instance_, "late")  # chunked and embedded by the active model only
        return outcome

    monkeypatch.setattr(backfill, "materialize_step", step_then_register_a_collection)
    with openai_server(dimensions=64) as server:
        register_remote(conn, server.url)
        result = backfill.backfill_model("remote", instance=instance)
    assert result.collections == ["docs", "late"]
    assert result.problems == []
    assert CliRunner().invoke(main, ["models", "activate", "remote"]).exit_code == 0


def test_an_automated_run_for_a_model_not_backfilled_is_a_success_with_checks_skipped(conn, instance, ingested):
    import dagster as dg

    from assets import embeddings
    from assets.embeddings.assets import AUTOMATION_TAG
    from pipelines.ingest import register_partitions
    from pipelines.resources import default_resources

    with openai_server(dimensions=64) as server:
        register_remote(conn, server.url)
        register_partitions(instance, "docs", ["remote"])
        outcome = dg.materialize([embeddings], partition_key=dg.MultiPartitionKey({"collection": "docs", "model": "remote"}),
                                 instance=instance, resources=default_resources(), tags={AUTOMATION_TAG: "true"},
                                 raise_on_error=False)
        assert server.requests == []
    assert outcome.success
    assert outcome.get_asset_materialization_events() == [] and outcome.get_asset_check_evaluations() == []
