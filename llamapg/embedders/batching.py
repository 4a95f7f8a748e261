"""Concurrent questions embedded together, as Text Embeddings Inference batches its requests.

One worker thread runs the model. While it embeds a batch, questions that arrive wait in a queue,
and the next forward pass embeds all of them at once (at most `max_batch`): under load, throughput
grows with the batch instead of queueing one forward pass per request, and a lone question is
embedded at once (no window is waited for unless `window_s` is set).
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future

import numpy as np

from llamapg.embedders.base import Embedder


class QueryBatcher:
    def __init__(self, embedder: Embedder, *, max_batch: int = 32, window_s: float = 0.0) -> None:
        self.embedder = embedder
        self.max_batch = max_batch
        self.window_s = window_s
        self.batches = 0
        self.embedded = 0
        self._queue: queue.SimpleQueue[tuple[str, Future]] = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._run, name=f"embed-{embedder.name}", daemon=True)
        self._worker.start()

    @property
    def name(self) -> str:
        return self.embedder.name

    def embed_query(self, text: str) -> np.ndarray:
        future: Future = Future()
        self._queue.put((text, future))
        return future.result()

    def _take_batch(self) -> list[tuple[str, Future]]:
        batch = [self._queue.get()]
        deadline = time.monotonic() + self.window_s
        while len(batch) < self.max_batch:
            try:
                remaining = deadline - time.monotonic()
                batch.append(self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _run(self) -> None:
        while True:
            batch = self._take_batch()
            try:
                vectors = self.embedder.embed([text for text, _ in batch])
            except Exception as exc:  # noqa: BLE001 - every waiting request gets the error
                for _, future in batch:
                    future.set_exception(exc)
                continue
            self.batches += 1
            self.embedded += len(batch)
            for (_, future), vector in zip(batch, vectors):
                future.set_result(vector)
