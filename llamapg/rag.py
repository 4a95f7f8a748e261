"""Question -> embedding -> retrieval -> answer: the query path shared by the API and the CLI."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import psycopg

from llamapg import answering, collections, models
from llamapg.embedders import Embedder, embedder_for
from llamapg.models import EmbeddingModel
from llamapg.retrieval import Plan, Retrieval, retrieve
from llamapg.settings import Settings, get_settings


class NoActiveModel(RuntimeError):
    pass


@dataclass
class SearchResult:
    model: EmbeddingModel
    retrieval: Retrieval
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass
class AnswerResult:
    answer: str
    mode: str
    search: SearchResult
    timings_ms: dict[str, float]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


class RagEngine:
    """Holds the loaded embedders (one per model, loaded once) for the process's lifetime."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self._embedders: dict[str, Embedder] = {}
        self._lock = threading.Lock()

    def embedder(self, model: EmbeddingModel) -> Embedder:
        with self._lock:
            if model.name not in self._embedders:
                self._embedders[model.name] = embedder_for(model, self.settings)
            return self._embedders[model.name]

    def active_model(self, conn: psycopg.Connection) -> EmbeddingModel:
        model = models.active(conn)
        if model is None:
            raise NoActiveModel("no embedding model is active; activate one with `llamapg models activate NAME`")
        return model

    def warm_up(self, conn: psycopg.Connection) -> EmbeddingModel:
        model = self.active_model(conn)
        self.embedder(model).embed_query("warm-up")
        return model

    def search(
        self, conn: psycopg.Connection, question: str, collection: str, k: int, *, plan: Plan = "auto"
    ) -> SearchResult:
        target = collections.get(conn, collection)
        model = self.active_model(conn)
        started = time.perf_counter()
        vector = self.embedder(model).embed_query(question)
        embedded = time.perf_counter()
        result = retrieve(
            conn,
            model,
            target.id,
            vector,
            k,
            plan=plan,
            exact_max_rows=self.settings.exact_search_max_rows,
            ef_search=self.settings.hnsw_ef_search,
        )
        return SearchResult(
            model, result, {"embed": _ms(embedded - started), "retrieve": _ms(result.seconds)}
        )

    def answer(self, conn: psycopg.Connection, question: str, collection: str, k: int) -> AnswerResult:
        started = time.perf_counter()
        found = self.search(conn, question, collection, k)
        generating = time.perf_counter()
        if self.settings.llm_base_url and self.settings.llm_model:
            text, mode = answering.generate(question, found.retrieval.sources, self.settings), "generated"
        else:
            text, mode = answering.extractive_answer(question, found.retrieval.sources), "extractive"
        done = time.perf_counter()
        timings = {**found.timings_ms, "generate": _ms(done - generating), "total": _ms(done - started)}
        return AnswerResult(text, mode, found, timings)
