"""The query service through FastAPI's TestClient, on a real database and the real model."""

from __future__ import annotations

import re
import time

import pytest
from fastapi.testclient import TestClient

from llamapg import collections, db, embedded
from llamapg.settings import get_settings
from query_service.main import create_app
from tests.support.api import api_client
from tests.support.servers import TEST_SHARED_BUFFERS


@pytest.fixture
def client(ingested):
    with api_client() as test_client:
        yield test_client


def test_health(client):
    response = client.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_query_returns_an_extractive_answer_with_scored_sources(client):
    response = client.post("/query", json={"question": "What lens do lighthouses use?", "collection": "docs", "k": 3,
                                            "mode": "vector"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mode"] == "extractive" and body["retrieval_mode"] == "vector"
    assert body["model"] == "all-minilm-l6-v2"
    assert body["plan"] == "exact"
    assert len(body["sources"]) == 3
    top = body["sources"][0]
    assert top["source"] == "lighthouses.txt" and top["title"] == "lighthouses"
    assert "Fresnel" in body["answer"] and "[1]" in body["answer"]
    similarities = [s["similarity"] for s in body["sources"]]
    assert similarities == sorted(similarities, reverse=True) and 0 < similarities[0] <= 1
    assert set(body["timings_ms"]) >= {"embed", "retrieve", "generate", "total"}


def test_hybrid_is_the_default_retrieval_mode(client):
    body = client.post("/query", json={"question": "Fresnel lenses", "collection": "docs", "k": 2}).json()
    assert body["retrieval_mode"] == "hybrid"
    assert body["sources"][0]["lexical_score"] > 0 and body["sources"][0]["source"] == "lighthouses.txt"


def test_query_reports_pdf_pages(client):
    body = client.post("/query", json={"question": "Here's to the crazy ones, the misfits", "collection": "docs",
                                       "k": 1}).json()
    assert body["sources"][0]["source"] == "crazy-ones.pdf"
    assert body["sources"][0]["page"] == 1


def test_unknown_collection_is_404(client):
    response = client.post("/query", json={"question": "anything", "collection": "nope"})
    assert response.status_code == 404
    assert "unknown collection 'nope'" in response.json()["detail"]


@pytest.mark.parametrize("body", [
    {"question": "", "collection": "docs"},
    {"question": "q", "collection": "docs", "k": 0},
    {"question": "q", "collection": "docs", "k": 101},
    {"collection": "docs"},
])
def test_invalid_requests_are_422(client, body):
    assert client.post("/query", json=body).status_code == 422


def test_answer_comes_from_the_configured_chat_model(ingested, chat_server):
    server = chat_server
    server.answer = "They use Fresnel lenses [1]."
    with api_client() as client:
        body = client.post("/query", json={"question": "What lens do lighthouses use?", "collection": "docs",
                                           "k": 2}).json()
    assert body["mode"] == "generated"
    assert body["answer"] == "They use Fresnel lenses [1]."
    chat = [r for r in server.requests if r["path"] == "/v1/chat/completions"][0]["body"]
    assert chat["model"] == "chat-test"
    prompt = chat["messages"][-1]["content"]
    assert "[1] (lighthouses" in prompt and "Question: What lens do lighthouses use?" in prompt


def test_database_outage_gives_503_and_recovers(tmp_path, monkeypatch):
    """A server of its own, stopped and started under a running app."""
    pgdata = tmp_path / "outage" / "pgdata"
    server_url = embedded.start(pgdata, TEST_SHARED_BUFFERS)
    monkeypatch.setenv("LLAMAPG_DATABASE_URL", db._with_database(server_url, "llamapg"))
    monkeypatch.setenv("LLAMAPG_POOL_TIMEOUT_S", "1")
    get_settings.cache_clear()
    settings = get_settings()
    try:
        with api_client(settings) as client:
            with db.connection(db.database_url(settings)) as conn:
                collections.register(conn, "empty", None)
            question = {"question": "anything at all", "collection": "empty"}
            assert client.post("/query", json=question).status_code == 200

            embedded.stop(pgdata)
            down = client.post("/query", json=question)
            assert down.status_code == 503
            assert "database unavailable" in down.json()["detail"] and int(down.headers["retry-after"]) >= 1
            assert client.get("/health").status_code == 200
            # The probe needs no key, so it tells nothing of the server: no socket path, no driver text.
            not_ready = client.get("/ready", headers={"Authorization": ""})
            assert (not_ready.status_code, not_ready.json()) == (503, {"status": "unavailable",
                                                                       "detail": "database unavailable"})

            embedded.start(pgdata, TEST_SHARED_BUFFERS)
            # The pool reconnects by itself, with the backoff it kept while the server was down:
            # answers come back without a restart (503 until then, never another error).
            deadline = time.monotonic() + 60
            while (recovered := client.post("/query", json=question)).status_code == 503 and time.monotonic() < deadline:
                time.sleep(0.5)
            assert recovered.status_code == 200, recovered.text
    finally:
        embedded.stop(pgdata)


@pytest.mark.parametrize("page, asset", [("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")])
def test_api_docs_load_nothing_from_the_network(database_url, page, asset):
    with api_client() as client:
        html = client.get(page)
        served = client.get(f"/docs-assets/{asset}")
    assert html.status_code == 200
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', html.text) + re.findall(r'<link[^>]+href="([^"]+)"', html.text)
    assert scripts and all(url.startswith("/docs-assets/") for url in scripts), scripts
    assert served.status_code == 200 and len(served.content) > 100_000
