"""One embedder interface for the pipeline and the query path."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Sequence

import numpy as np


class EmbeddingError(RuntimeError):
    pass


class Embedder(ABC):
    """Turns texts into float32 vectors of exactly `dimensions` values."""

    def __init__(self, name: str, dimensions: int, max_input_tokens: int) -> None:
        self.name = name
        self.dimensions = dimensions
        self.max_input_tokens = max_input_tokens

    @abstractmethod
    def _embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        vectors = np.asarray(self._embed(list(texts)), dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(texts):
            raise EmbeddingError(
                f"{self.name}: asked for {len(texts)} embeddings, got an array of shape {vectors.shape}"
            )
        if vectors.shape[1] != self.dimensions:
            raise EmbeddingError(
                f"{self.name}: returned {vectors.shape[1]}-dimensional vectors but the model is registered "
                f"with {self.dimensions} dimensions; register it again with the right --dimensions"
            )
        if not np.isfinite(vectors).all():
            raise EmbeddingError(f"{self.name}: returned vectors containing NaN or infinity")
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]
