"""Embedders: the OpenAI-compatible one over real HTTP, the local one with the bundled model."""

from __future__ import annotations

import numpy as np
import pytest

from llamapg.embedders import EmbeddingError, embedder_for
from llamapg.embedders.openai_compat import OpenAICompatibleEmbedder
from llamapg.models import EmbeddingModel
from llamapg.settings import Settings
from tests.support.openai_server import hashed_embedding, openai_server


def remote_model(dimensions: int, base_url: str) -> EmbeddingModel:
    return EmbeddingModel(7, "remote", "openai", "text-embedding-test", dimensions, 8191, base_url, "registered")


@pytest.mark.parametrize("honours_base64", [True, False])
def test_openai_compatible_embedder_over_http(honours_base64):
    """Vectors are asked for as base64 (fast to read); a server that answers floats is read too."""
    with openai_server(dimensions=64) as server:
        server.honours_base64 = honours_base64
        embedder = embedder_for(remote_model(64, server.url), Settings(openai_api_key="sk-test"))
        vectors = embedder.embed(["lighthouse beam", "sourdough starter"])

    assert vectors.shape == (2, 64) and vectors.dtype == np.float32
    assert np.allclose(vectors[0], hashed_embedding("lighthouse beam", 64), atol=1e-6)
    request = server.requests[0]
    assert request["path"] == "/v1/embeddings"
    assert request["body"]["model"] == "text-embedding-test"
    assert request["body"]["input"] == ["lighthouse beam", "sourdough starter"]
    assert request["body"]["encoding_format"] == "base64"
    assert request["auth"] == "Bearer sk-test"


def test_wrong_dimension_vectors_are_refused():
    with openai_server(dimensions=32) as server:
        embedder = embedder_for(remote_model(64, server.url), Settings())
        with pytest.raises(EmbeddingError, match="returned 32-dimensional vectors but the model is registered with 64"):
            embedder.embed(["anything"])


def test_unreachable_endpoint_is_a_clear_error():
    embedder = OpenAICompatibleEmbedder(
        "remote", "m", 8, 100, base_url="http://127.0.0.1:9/v1", api_key=None, timeout_s=2, max_retries=0
    )
    with pytest.raises(EmbeddingError, match="127.0.0.1:9"):
        embedder.embed(["x"])


@pytest.mark.model
def test_bundled_minilm_embeds_offline():
    model = EmbeddingModel(1, "all-minilm-l6-v2", "local", "all-MiniLM-L6-v2", 384, 256, None, "active")
    embedder = embedder_for(model, Settings())
    vectors = embedder.embed([
        "The lighthouse beam swept across the dark sea.",
        "A lamp on a coastal tower guides ships at night.",
        "Knead the dough and let it rise overnight.",
    ])
    assert vectors.shape == (3, 384)
    cosine = vectors @ vectors.T / np.outer(np.linalg.norm(vectors, axis=1), np.linalg.norm(vectors, axis=1))
    assert cosine[0, 1] > cosine[0, 2] + 0.2


def test_a_single_batch_gives_the_vectors_of_sentence_transformers_encode():
    from llamapg.embedders.local import load_sentence_transformer
    from llamapg.models import BUNDLED_MINILM

    model = EmbeddingModel(1, "all-minilm-l6-v2", "local", "all-MiniLM-L6-v2", 384, 256, None, "active")
    embedder = embedder_for(model, Settings(embed_batch_size=4))
    texts = ["short", "a somewhat longer question about vitamin D and fractures", "word " * 400, "x"]
    reference = load_sentence_transformer(BUNDLED_MINILM).encode(texts, convert_to_numpy=True)
    assert np.allclose(embedder.embed(texts), reference, atol=1e-5)  # one batch: the model's modules
    assert np.allclose(embedder.embed(texts * 3), np.vstack([reference] * 3), atol=1e-5)  # several: encode
