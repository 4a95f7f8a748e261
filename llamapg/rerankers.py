"""Rerankers: a second pass over the top candidates. A local cross-encoder (sentence-transformers)
or any HTTP reranker speaking the common `/rerank` format (Text Embeddings Inference, Cohere, Jina)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Sequence

import httpx

from llamapg.settings import Settings


class RerankError(RuntimeError):
    pass


class Reranker(ABC):
    name: str

    @abstractmethod
    def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        """One relevance score per text, higher is better, in the order given."""


class CrossEncoderReranker(Reranker):
    def __init__(self, model_path: str) -> None:
        from sentence_transformers import CrossEncoder

        self.name = f"cross-encoder:{model_path}"
        self._model = CrossEncoder(model_path, device="cpu")

    def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        return [float(score) for score in self._model.predict([(query, text) for text in texts])]


class HttpReranker(Reranker):
    """POST {base_url}/rerank with `query` and the texts as both `texts` (TEI) and `documents`
    (Cohere, Jina); reads TEI's `[{index, score}]` or Cohere/Jina's `{results: [{index, relevance_score}]}`."""

    def __init__(self, base_url: str, model: str | None, api_key: str | None, timeout_s: float) -> None:
        self.name = f"http:{base_url}"
        self._url = base_url.rstrip("/") + "/rerank"
        self._model = model
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        # Connection failures are retried by the transport; a slow or failing server is reported.
        self._client = httpx.Client(timeout=timeout_s, headers=headers, transport=httpx.HTTPTransport(retries=2))

    def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        body = {"query": query, "texts": list(texts), "documents": list(texts), "top_n": len(texts),
                "return_documents": False}
        if self._model:
            body["model"] = self._model
        try:
            response = self._client.post(self._url, json=body)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise RerankError(f"reranker at {self._url} failed: {exc}") from exc
        payload = response.json()
        results = payload["results"] if isinstance(payload, dict) else payload
        scores = [0.0] * len(texts)
        for item in results:
            scores[item["index"]] = float(item.get("relevance_score", item.get("score")))
        return scores


def reranker_from_settings(settings: Settings) -> Reranker | None:
    if settings.reranker_url:
        return HttpReranker(settings.reranker_url, settings.reranker_model, settings.reranker_api_key,
                            settings.reranker_timeout_s)
    if settings.reranker_model_path:
        return CrossEncoderReranker(str(settings.reranker_model_path))
    return None
