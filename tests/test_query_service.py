"""The production query service: every endpoint, its errors, filters, prompts, streaming, trace,
metrics and the OpenAI-compatible facade, on the real database and a real local chat server."""

from __future__ import annotations

import json
import re
import shutil

import openai
import pytest
from fastapi.testclient import TestClient

from llamapg import collections
from llamapg.embedders.local import load_tokenizer
from llamapg.models import BUNDLED_MINILM
from llamapg.settings import REPO_ROOT, get_settings
from query_service.main import create_app
from tests.support.api import api_client, issue_key
from tests.support.pipeline import materialize_collection
from tests.support.server import serving

ARTICLES = [
    # id, topic, year, published, text
    ("a1", "astronomy", 2019, "2019-03-01", "The moon's gravity raises two tidal bulges on the oceans."),
    ("a2", "astronomy", 2021, "2021-06-15", "Jupiter's moon Europa hides a salty ocean under its ice."),
    ("a3", "astronomy", 2023, "2023-01-20", "Saturn's rings are made mostly of water ice particles."),
    ("a4", "cooking", 2018, "2018-11-02", "A sourdough starter is a culture of wild yeast and bacteria."),
    ("a5", "cooking", 2020, "2020-07-07", "Searing meat browns it through the Maillard reaction."),
    ("a6", "cooking", 2022, "2022-09-09", "Bread dough rises as yeast ferments sugars into gas."),
    ("a7", "sailing", 2017, "2017-05-05", "Lighthouses guide ships with Fresnel lenses at night."),
    ("a8", "sailing", 2024, "2024-02-29", "Sailors read the tides to leave harbour at high water."),
]


@pytest.fixture
def articles(conn, instance, tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    rows = [{"_id": i, "title": f"Article {i}", "text": text, "topic": topic, "year": year, "published": published}
            for i, topic, year, published, text in ARTICLES]
    (folder / "articles.jsonl").write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    collections.register(conn, "articles", str(folder))
    materialize_collection(instance, "articles")
    return "articles"


@pytest.fixture
def client(articles):
    with api_client() as test_client:
        yield test_client


def post(client, path: str, **body):
    return client.post(path, json={"collection": "articles", **body})


def test_search_returns_ranked_sources_without_an_answer(client):
    body = post(client, "/search", question="What are Saturn's rings made of?", k=3).json()
    assert "answer" not in body
    assert [s["rank"] for s in body["sources"]] == [1, 2, 3]
    assert body["sources"][0]["metadata"]["row_id"] == "a3"
    assert body["model"] == "all-minilm-l6-v2" and set(body["timings_ms"]) == {"embed", "retrieve"}


def test_answer_citations_map_to_returned_sources(client):
    body = post(client, "/query", question="What are Saturn's rings made of?", k=3).json()
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", body["answer"])}
    by_citation = {s["citation"]: s for s in body["sources"] if s["citation"]}
    assert cited and cited <= set(by_citation)
    assert "water ice" in by_citation[1]["text"]
    assert isinstance(body["query_id"], int) and body["prompt"] == "answer"


@pytest.mark.parametrize("filters, expected", [
    ({"topic": "cooking"}, {"a4", "a5", "a6"}),
    ({"topic": {"in": ["sailing", "cooking"]}}, {"a4", "a5", "a6", "a7", "a8"}),
    ({"year": {"gte": 2021, "lt": 2024}}, {"a2", "a3", "a6"}),
    ({"published": {"gt": "2022-01-01"}}, {"a3", "a6", "a8"}),
    ({"topic": "astronomy", "year": {"lte": 2019}}, {"a1"}),
])
def test_metadata_filters(client, filters, expected):
    body = post(client, "/search", question="oceans, ice and yeast", k=8, filters=filters).json()
    assert {s["metadata"]["row_id"] for s in body["sources"]} == expected


def test_filters_still_return_k_rows_when_k_match(client):
    body = post(client, "/search", question="moon", k=2, filters={"topic": "cooking"}).json()
    assert len(body["sources"]) == 2 and all(s["metadata"]["topic"] == "cooking" for s in body["sources"])


def test_minimum_similarity(client):
    everything = post(client, "/search", question="tidal bulges from the moon", k=8).json()["sources"]
    threshold = (everything[0]["similarity"] + everything[1]["similarity"]) / 2
    kept = post(client, "/search", question="tidal bulges from the moon", k=8, min_similarity=threshold).json()["sources"]
    assert len(kept) == 1 and kept[0]["similarity"] >= threshold


@pytest.mark.parametrize("filters, message", [
    ({"year": {"between": [1, 2]}}, "unknown operator(s) between"),
    ({"published": {"gt": "last week"}}, "neither a number nor an ISO date"),
    ({"topic": ["a", "b"]}, "use {\"in\": [...]}"),
    ({"topic": {"in": []}}, "non-empty list"),
])
def test_bad_filters_are_422_with_the_reason(client, filters, message):
    response = post(client, "/search", question="q", filters=filters)
    assert response.status_code == 422 and message in response.json()["detail"]


def test_collections_endpoints(client):
    listed = client.get("/collections").json()
    assert listed == [{"name": "articles", "source": listed[0]["source"], "documents": 8, "ready": 8, "failed": 0,
                       "chunks": 8}]
    detail = client.get("/collections/articles", params={"limit": 3}).json()
    assert len(detail["documents_page"]) == 3 and detail["documents_page"][0]["status"] == "ready"
    (model,) = detail["models"]
    assert model["name"] == "all-minilm-l6-v2" and model["chunks_embedded"] == 8 and model["index_valid"]
    assert client.get("/collections/nope").status_code == 404


def test_ready_and_metrics(client):
    assert client.get("/ready").json() == {"status": "ready", "model": "all-minilm-l6-v2", "detail": None}
    post(client, "/query", question="yeast", k=2)
    text = client.get("/metrics").text
    for stage in ["embed", "retrieve", "context", "generate"]:
        assert f'llamapg_stage_seconds_count{{stage="{stage}"}} 1.0' in text
    assert 'llamapg_http_requests_total{method="POST",route="/query",status="200"} 1.0' in text


def test_trace_shows_every_stage(client):
    body = post(client, "/query", question="What are Saturn's rings made of?", k=4, debug=True,
                filters={"topic": "astronomy"}).json()
    trace = body["trace"]
    assert set(trace) == {"embed", "retrieve", "context", "generate"}
    retrieve = trace["retrieve"]
    assert retrieve["plan"] == "exact" and retrieve["index_used"] is False
    assert retrieve["filters"] == {"topic": "astronomy"} and retrieve["collection_chunks"] == 8
    assert [c["rank"] for c in retrieve["candidates"]] == [1, 2, 3]
    assert [c["chunk_id"] for c in retrieve["candidates"]] == [s["chunk_id"] for s in body["sources"]]
    assert trace["context"]["used_tokens"] <= trace["context"]["budget_tokens"]
    assert trace["generate"]["mode"] == "extractive"
    assert post(client, "/query", question="x").json()["trace"] is None


def test_query_log_and_feedback(client, conn):
    query_id = post(client, "/query", question="Why does bread rise?", k=2).json()["query_id"]
    logged = conn.execute("SELECT question, collection, model, chunk_ids FROM query_log WHERE id = %s", (query_id,)).fetchone()
    assert logged["question"] == "Why does bread rise?" and len(logged["chunk_ids"]) == 2
    assert client.post("/feedback", json={"query_id": query_id, "rating": -1, "comment": "wrong"}).status_code == 201
    assert conn.execute("SELECT rating FROM feedback WHERE query_id = %s", (query_id,)).fetchone()["rating"] == -1
    assert client.post("/feedback", json={"query_id": 999999, "rating": 1}).status_code == 404
    assert client.post("/feedback", json={"query_id": query_id, "rating": 9}).status_code == 422


def test_prompts_are_listed_selectable_and_reloaded_without_restart(articles, chat_server, tmp_path, monkeypatch):
    server = chat_server
    prompts = tmp_path / "prompts.yaml"
    shutil.copy(REPO_ROOT / "prompts.yaml", prompts)
    monkeypatch.setenv("LLAMAPG_PROMPTS_FILE", str(prompts))
    get_settings.cache_clear()
    with api_client() as client:
        assert {p["name"] for p in client.get("/prompts").json()} == {"answer", "concise"}
        unknown = post(client, "/query", question="q", prompt="pirate")
        assert unknown.status_code == 422 and "available: answer, concise" in unknown.json()["detail"]

        prompts.write_text(prompts.read_text() + (
            "  pirate:\n    description: Arr.\n    system: Answer like a pirate.\n"
            "    user: \"{context}\\n\\nQuestion: {question}\"\n"))
        assert "pirate" in {p["name"] for p in client.get("/prompts").json()}
        body = post(client, "/query", question="Why does bread rise?", prompt="pirate").json()
        assert body["prompt"] == "pirate" and body["mode"] == "generated"
        assert server.requests[-1]["body"]["messages"][0]["content"] == "Answer like a pirate."

        prompts.write_text("default: nope\nprompts: {}\n")  # a broken edit keeps the last good file
        assert "pirate" in {p["name"] for p in client.get("/prompts").json()}


def test_invalid_prompt_file_stops_start_up_with_a_clear_error(tmp_path, monkeypatch, database_url):
    from llamapg.prompts import PromptError

    broken = tmp_path / "prompts.yaml"
    broken.write_text("default: a\nprompts:\n  a:\n    system: hi\n    user: 'no placeholders here'\n")
    monkeypatch.setenv("LLAMAPG_PROMPTS_FILE", str(broken))
    get_settings.cache_clear()
    with pytest.raises(PromptError, match=r"prompts\.a: .*missing placeholder"):
        create_app(get_settings())


def read_events(response) -> list[tuple[str, dict]]:
    events = []
    for block in response.text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_streaming_sends_sources_first(articles, chat_server):
    chat_server.answer = "Yeast makes gas [1]."
    with api_client() as client:
        response = post(client, "/query", question="Why does bread rise?", k=2, stream=True)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = read_events(response)
    names = [name for name, _ in events]
    assert names[0] == "sources" and names[-1] == "done" and set(names[1:-1]) == {"delta"}
    assert len(events[0][1]["sources"]) == 2
    assert "".join(data["text"] for name, data in events if name == "delta").strip() == "Yeast makes gas [1]."
    assert isinstance(events[-1][1]["query_id"], int)


def test_chat_timeout_is_504_with_sources(articles, chat_server, monkeypatch):
    chat_server.chat_delay_s = 2.0
    monkeypatch.setenv("LLAMAPG_LLM_TIMEOUT_S", "0.3")
    monkeypatch.setenv("LLAMAPG_LLM_MAX_RETRIES", "0")
    get_settings.cache_clear()
    with api_client() as client:
        response = post(client, "/query", question="Why does bread rise?", k=2)
    assert response.status_code == 504
    assert "did not answer within 0.3s" in response.json()["detail"]
    assert len(response.json()["sources"]) == 2


@pytest.fixture
def live_server(articles):
    with serving(create_app(get_settings())) as url:
        yield url


def test_openai_client_talks_to_a_collection(live_server):
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{live_server}/v1", api_key="lpg_not-a-key", max_retries=0).models.list()
    client = openai.OpenAI(base_url=f"{live_server}/v1", api_key=issue_key(role="read"), max_retries=0)
    assert [m.id for m in client.models.list().data] == ["articles"]

    completion = client.chat.completions.create(
        model="articles", messages=[{"role": "user", "content": "What are Saturn's rings made of?"}])
    assert "water ice" in completion.choices[0].message.content
    assert completion.model_extra["sources"][0]["metadata"]["row_id"] == "a3"
    # Usage counts the answer's and the prompt's tokens (the bundled tokenizer's word pieces).
    answer_tokens = len(load_tokenizer(BUNDLED_MINILM)(completion.choices[0].message.content,
                                                       add_special_tokens=False)["input_ids"])
    assert completion.usage.completion_tokens == answer_tokens > 0
    assert completion.usage.prompt_tokens > answer_tokens
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens

    streamed = client.chat.completions.create(
        model="articles", messages=[{"role": "user", "content": "What are Saturn's rings made of?"}], stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in streamed if chunk.choices)
    assert "water ice" in text

    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "hi"}])
