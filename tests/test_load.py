"""The query service under a concurrent burst: no 5xx while the database is healthy, an honest 503
"busy" with Retry-After when the queue is full, and batched question embedding."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

from llamapg.embedders.base import Embedder
from llamapg.embedders.batching import QueryBatcher
from llamapg.embedders.local import LocalEmbedder
from llamapg.settings import get_settings
from query_service.main import create_app
from tests.support.api import bearer, issue_key
from tests.support.server import serving


async def burst(url: str, clients: int, requests_per_client: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=60, headers=bearer(issue_key(role="read"))) as http:
        async def client(number: int) -> list[httpx.Response]:
            return [await http.post("/search", json={"question": f"question {number} {i} about wild yeast",
                                                     "collection": "docs", "k": 3})
                    for i in range(requests_per_client)]
        results = await asyncio.gather(*(client(n) for n in range(clients)))
    return [response for responses in results for response in responses]


def test_a_burst_far_beyond_the_pool_is_answered_without_5xx(ingested, monkeypatch):
    """64 clients against 3 connections: with connections held only around SQL and requests queued
    before they take a thread, every request is answered (it used to be 503 "database unavailable")."""
    monkeypatch.setenv("LLAMAPG_POOL_MAX_SIZE", "3")
    monkeypatch.setenv("LLAMAPG_MAX_CONCURRENT_REQUESTS", "3")
    monkeypatch.setenv("LLAMAPG_POOL_TIMEOUT_S", "2")
    get_settings.cache_clear()
    app = create_app(get_settings())
    with serving(app) as url:
        responses = asyncio.run(burst(url, clients=64, requests_per_client=3))
    statuses = [r.status_code for r in responses]
    assert statuses == [200] * len(responses), {s: statuses.count(s) for s in set(statuses)}
    assert all(len(r.json()["sources"]) == 3 for r in responses)


def test_a_full_queue_answers_busy_with_retry_after(ingested, monkeypatch):
    monkeypatch.setenv("LLAMAPG_POOL_MAX_SIZE", "2")
    monkeypatch.setenv("LLAMAPG_MAX_CONCURRENT_REQUESTS", "1")
    monkeypatch.setenv("LLAMAPG_MAX_QUEUED_REQUESTS", "2")
    get_settings.cache_clear()
    with serving(create_app(get_settings())) as url:
        responses = asyncio.run(burst(url, clients=32, requests_per_client=1))
        assert httpx.get(f"{url}/health").status_code == 200  # probes bypass the queue
    busy = [r for r in responses if r.status_code == 503]
    assert {r.status_code for r in responses} == {200, 503}
    assert all("service busy" in r.json()["detail"] and int(r.headers["retry-after"]) >= 1 for r in busy)


class RecordingEmbedder(Embedder):
    """A deterministic embedder that takes 30 ms per call and records each call's batch size."""

    def __init__(self) -> None:
        super().__init__("recording", 4, 256)
        self.calls: list[int] = []

    def _embed(self, texts):
        self.calls.append(len(texts))
        time.sleep(0.03)
        return np.array([[len(t), t.count("a"), t.count("e"), 1.0] for t in texts], dtype=np.float32)


def test_concurrent_questions_are_embedded_together():
    inner = RecordingEmbedder()
    batcher = QueryBatcher(inner, max_batch=8)
    texts = [f"question {'a' * i} {'e' * (i % 3)}" for i in range(24)]
    with ThreadPoolExecutor(max_workers=24) as pool:
        vectors = list(pool.map(batcher.embed_query, texts))
    for text, vector in zip(texts, vectors):
        assert vector.tolist() == [len(text), text.count("a"), text.count("e"), 1.0]
    assert sum(inner.calls) == 24 and max(inner.calls) <= 8
    assert len(inner.calls) < 24 / 2  # batches formed while the model was busy
    single = batcher.embed_query("alone")  # a lone question is embedded at once, alone
    assert inner.calls[-1] == 1 and single[0] == 5


def test_errors_reach_the_waiting_question_and_the_worker_goes_on():
    class Failing(RecordingEmbedder):
        def _embed(self, texts):
            raise RuntimeError("embedding server down")

    batcher = QueryBatcher(Failing())
    with pytest.raises(RuntimeError, match="embedding server down"):
        batcher.embed_query("anything")
    with pytest.raises(RuntimeError, match="embedding server down"):
        batcher.embed_query("again")


@pytest.mark.model
def test_batched_embeddings_equal_one_by_one():
    embedder = LocalEmbedder("minilm", "all-MiniLM-L6-v2", 384, 256)
    batcher = QueryBatcher(embedder, max_batch=16)
    questions = ["What is sourdough?", "How do lighthouses work at night and why do they use Fresnel lenses?",
                 "vacuum", "Which moon of Jupiter hides an ocean under its ice shell?"] * 4
    barrier = threading.Barrier(len(questions))

    def ask(question: str) -> np.ndarray:
        barrier.wait()
        return batcher.embed_query(question)

    with ThreadPoolExecutor(max_workers=len(questions)) as pool:
        batched = list(pool.map(ask, questions))
    assert batcher.batches < len(questions)
    for question, vector in zip(questions, batched):
        assert np.allclose(vector, embedder.embed_query(question), atol=1e-5)
