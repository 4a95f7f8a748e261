"""Embed a collection's chunks that have no vector for a model yet (used by the `embeddings` asset)."""

from __future__ import annotations

import logging
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import psycopg

from assets.ingestion.chunking import embedding_input
from llamapg import documents, models, queries
from llamapg.embedders import Embedder
from llamapg.indexes import IndexReport, ensure_partition_index, index_status
from llamapg.models import EmbeddingModel
from llamapg.progress import Progress
from llamapg.settings import get_settings

log = logging.getLogger(__name__)


def _embedded_in_order(
    embedder: Embedder, batches: list[list[dict]], in_flight: int
) -> Iterator[tuple[list[dict], np.ndarray]]:
    """(batch, vectors) in order, with up to `in_flight` batches being embedded ahead of the caller.

    When a request fails, the batches that other requests in flight did embed are yielded too
    before the error is raised: nothing embedded is thrown away, so a re-run embeds only the rest.
    """
    pending = iter(batches)
    with ThreadPoolExecutor(max_workers=max(1, in_flight), thread_name_prefix="embed") as pool:
        ahead: deque = deque()

        def submit_next() -> None:
            batch = next(pending, None)
            if batch is not None:
                inputs = [embedding_input(row["header"], row["text"]) for row in batch]
                ahead.append((batch, pool.submit(embedder.embed, inputs)))

        for _ in range(max(1, in_flight)):
            submit_next()
        while ahead:
            batch, future = ahead.popleft()
            try:
                vectors = future.result()
            except Exception:
                for other, running in ahead:
                    if not running.cancel() and running.exception() is None:
                        yield other, running.result()
                raise
            submit_next()
            yield batch, vectors


@dataclass
class EmbedReport:
    to_embed: int = 0
    embedded: int = 0
    tokens: int = 0
    over_limit: int = 0
    chunks_pending: int = 0
    chunks_reused: int = 0
    documents_promoted: int = 0
    orphans_removed: int = 0
    seconds: float = 0.0
    index: IndexReport | None = None

    @property
    def vectors_per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds else 0.0


def embed_collection(
    conn: psycopg.Connection,
    collection_id: int,
    model: EmbeddingModel,
    embedder: Embedder,
    *,
    batch_size: int = 64,
    in_flight: int = 1,
    write_rows: int = 2048,
    progress_every_s: float = 10.0,
    logger: logging.Logger | None = None,
) -> EmbedReport:
    """Embed missing texts in batches; what is written commits, so a crash resumes where it stopped.

    Texts go shortest first, so that each batch pads to similar lengths. Up to `in_flight` batches
    are being embedded while the ones before are written (one for a local model, which uses every
    core; several for a remote server); vectors are written with binary COPY, about `write_rows` per
    transaction.

    The collection's partition gets its HNSW index once its first load is in (building an index
    over a bulk load is far faster than maintaining it row by row); later loads maintain it.
    `conn` must be in autocommit mode.
    """
    logger = logger or log
    started = time.perf_counter()
    report = EmbedReport()
    models.ensure_partition(conn, model, collection_id)
    pending = conn.execute(
        queries.load("ingestion/pending_chunks", vectors=model.vectors_table), {"collection_id": collection_id}
    ).fetchone()
    report.chunks_pending, report.chunks_reused = pending["pending"], pending["reused"]
    todo = conn.execute(
        queries.load("ingestion/chunks_to_embed", vectors=model.vectors_table), {"collection_id": collection_id}
    ).fetchall()
    report.to_embed = len(todo)
    report.over_limit = sum(row["token_count"] > model.max_input_tokens for row in todo)
    if report.over_limit:
        logger.warning(
            "%d chunks are longer than %s's input limit of %d tokens; their tails will not be embedded",
            report.over_limit, model.name, model.max_input_tokens,
        )
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS incoming_vectors (content_hash bytea, embedding vector)"
        " ON COMMIT DELETE ROWS"
    )
    store = queries.load("ingestion/store_vectors", vectors=model.partition(collection_id))
    batches = [todo[start:start + batch_size] for start in range(0, len(todo), batch_size)]
    embedded: list[tuple[dict, np.ndarray]] = []

    def write() -> None:
        """The vectors embedded so far, in one transaction (a batch's round trips cost more than its rows)."""
        if not embedded:
            return
        with conn.transaction():
            with conn.cursor().copy(
                "COPY incoming_vectors (content_hash, embedding) FROM STDIN WITH (FORMAT BINARY)"
            ) as copy:
                copy.set_types(["bytea", "vector"])
                for row, vector in embedded:
                    copy.write_row((row["content_hash"], vector))
            conn.execute(store, {"collection_id": collection_id})
        report.embedded += len(embedded)
        report.tokens += sum(row["token_count"] for row, _ in embedded)
        embedded.clear()

    progress = Progress(logger, "chunks", total=report.to_embed, every_s=progress_every_s)
    try:
        for batch, vectors in _embedded_in_order(embedder, batches, in_flight):
            embedded.extend(zip(batch, vectors))
            if len(embedded) >= write_rows:
                write()
            done = report.embedded + len(embedded)
            progress.update(done, lambda: f"{model.name}: embedded {done}/{report.to_embed} chunks")
    finally:
        write()  # what was embedded is kept even when a later request fails: a re-run resumes after it
    logger.info("%s: embedded %d/%d chunks in %.1fs", model.name, report.embedded, report.to_embed,
                time.perf_counter() - started)
    model_and_collection = {"model_id": model.id, "collection_id": collection_id}
    first_load = index_status(conn, model.hnsw_index_name(collection_id)) is None
    if model.status == "active":
        report.documents_promoted, _ = documents.promote_ready(conn, collection_id, model)
    else:
        # A backfill: its vectors by document are completed, and laid out by document once its first
        # load is in (sql/migrations/0013_vectors_by_document.sql).
        conn.execute(queries.load("ingestion/fill_vectors_by_document"), model_and_collection)
        if first_load and report.embedded:
            conn.execute(queries.load("ingestion/cluster_vectors_by_document"), model_and_collection)
    report.orphans_removed = conn.execute(
        queries.load("ingestion/delete_orphan_vectors", vectors=model.partition(collection_id)),
        {"collection_id": collection_id},
    ).rowcount
    if first_load:
        settings = get_settings()
        report.index = ensure_partition_index(conn, model, collection_id, m=settings.hnsw_m,
                                              ef_construction=settings.hnsw_ef_construction)
        logger.info("%s: HNSW index of the collection built over %d vectors in %.1fs",
                    model.name, report.index.vectors, report.index.seconds)
    report.seconds = time.perf_counter() - started
    return report
