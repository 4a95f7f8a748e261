"""Any OpenAI-compatible `/v1/embeddings` endpoint: OpenAI, Azure, vLLM, TEI, Ollama."""

from __future__ import annotations

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
        try:
            response = self._client.embeddings.create(model=self.model, input=list(texts), encoding_format="float")
        except openai.APIError as exc:
            raise EmbeddingError(f"{self.name}: embeddings request to {self._client.base_url} failed: {exc}") from exc
        data = sorted(response.data, key=lambda item: item.index)
        return np.array([item.embedding for item in data], dtype=np.float32)
