"""Any OpenAI-compatible `/v1/embeddings` endpoint: OpenAI, Azure, vLLM, TEI, Ollama."""

from __future__ import annotations

import base64
from typing import Sequence

import numpy as np
import openai

from llamapg.embedders.base import Embedder, EmbeddingError


class OpenAICompatibleEmbedder(Embedder):
    def __init__(
        self,
        name: str,
        model: str,
        dimensions: int,
        max_input_tokens: int,
        *,
        base_url: str | None,
        api_key: str | None,
        timeout_s: float = 60.0,
        max_retries: int = 5,
    ) -> None:
        super().__init__(name, dimensions, max_input_tokens)
        self.model = model
        # The client retries connection errors, 429 and 5xx with exponential backoff.
        self._client = openai.OpenAI(
            base_url=base_url,
            # Local servers (vLLM, TEI, Ollama) accept any key; the client insists on one.
            api_key=api_key or "not-needed",
            timeout=timeout_s,
            max_retries=max_retries,
        )

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        # base64: 64 vectors of 384 floats as JSON numbers took longer to parse than the server took
        # to compute them. A server that ignores the format and answers with floats is read too.
        try:
            response = self._client.embeddings.create(model=self.model, input=list(texts), encoding_format="base64")
        except openai.APIError as exc:
            raise EmbeddingError(f"{self.name}: embeddings request to {self._client.base_url} failed: {exc}") from exc
        data = sorted(response.data, key=lambda item: item.index)
        return np.array([_vector(item.embedding) for item in data], dtype=np.float32)


def _vector(embedding: str | list[float]) -> np.ndarray:
    if isinstance(embedding, str):
        return np.frombuffer(base64.b64decode(embedding), dtype="<f4")
    return np.asarray(embedding, dtype=np.float32)
