"""Swapping the embedding model: register, backfill through Dagster, check, activate, retire,
while queries keep being answered, each wholly by one model."""

from __future__ import annotations

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
from tests.support.automation import Daemon
from tests.support.openai_server import hashed_embedding, openai_server

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

    with openai_server(dimensions=64) as server, TestClient(create_app(get_settings())) as client:
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


def test_auto_activation_once_checks_pass(conn, database_url, instance, ingested, monkeypatch):
    monkeypatch.setenv("LLAMAPG_AUTO_ACTIVATE", "true")
    get_settings.cache_clear()
    with openai_server(dimensions=64) as server:
        register_remote(conn, server.url)
        backfill_model("remote", instance=instance)
    assert models.active(conn).name == "remote"
