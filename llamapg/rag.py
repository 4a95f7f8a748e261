"""Question -> embedding -> retrieval -> context -> answer: the query path shared by the API and the CLI."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from typing import ContextManager, Iterator, Protocol

import psycopg

from llamapg import answering, collections, models, querylog
from llamapg.context import ContextBlock, build_context, format_context
from llamapg.embedders import embedder_for
from llamapg.embedders.batching import QueryBatcher
from llamapg.embedders.local import load_tokenizer
from llamapg.models import BUNDLED_MINILM, EmbeddingModel
from llamapg.prompts import PromptRegistry
from llamapg.rerankers import Reranker, reranker_from_settings
from llamapg.retrieval import Fusion, Mode, Plan, PlanTuning, Retrieval, retrieve
from llamapg.settings import Settings, get_settings


class NoActiveModel(RuntimeError):
    pass


@dataclass(frozen=True)
class Ask:
    """A question and how to answer it: what the API, the CLI and the evaluation pass in."""

    question: str
    collection: str
    k: int = 5
    filters: dict | None = None
    min_similarity: float | None = None
    mode: Mode | None = None  # vector | lexical | hybrid; None: LLAMAPG_RETRIEVAL_MODE
    rerank: bool | None = None  # None: rerank when a reranker is configured
    prompt: str | None = None
    debug: bool = False


@dataclass
class SearchResult:
    model: EmbeddingModel
    retrieval: Retrieval
    timings_ms: dict[str, float] = field(default_factory=dict)
    trace: dict = field(default_factory=dict)


@dataclass
class PreparedAnswer:
    """Everything decided before the answer is written: sources, context, prompt."""

    ask: Ask
    search: SearchResult
    prompt: str
    blocks: list[ContextBlock]
    citations: dict[int, int]
    system: str
    user: str
    mode: str


@dataclass
class AnswerResult:
    answer: str
    prepared: PreparedAnswer
    timings_ms: dict[str, float]
    query_id: int | None = None

    @property
    def search(self) -> SearchResult:
        return self.prepared.search

    @property
    def mode(self) -> str:
        return self.prepared.mode


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


class ConnectionSource(Protocol):
    """A pool, or db.SingleConnection: the query path takes a connection only around its SQL."""

    def connection(self, timeout: float | None = None) -> ContextManager[psycopg.Connection]: ...


class RagEngine:
    """Holds the loaded embedders (one per model, loaded once, each behind a batcher that embeds
    concurrent questions together) and the prompt registry.

    Methods take a ConnectionSource and hold a connection only while they run SQL: never while a
    question is embedded or an answer written, so that waiting requests cannot starve the ones
    holding connections.
    """

    def __init__(self, settings: Settings | None = None, prompts: PromptRegistry | None = None) -> None:
        self.settings = settings or get_settings()
        self.prompts = prompts or PromptRegistry(self.settings.prompts_file)
        self._embedders: dict[str, QueryBatcher] = {}
        self._lock = threading.Lock()
        self._tokenizer = load_tokenizer(BUNDLED_MINILM)
        self.reranker: Reranker | None = reranker_from_settings(self.settings)
        self.fusion = Fusion.from_settings(self.settings)
        self.tuning = PlanTuning.from_settings(self.settings)

    def count_tokens(self, text: str) -> int:
        """Context budgets are counted with the bundled MiniLM word pieces: offline and close enough
        to the chat model's own count to size a prompt."""
        return len(self._tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    def usage(self, prepared: "PreparedAnswer", answer: str) -> dict[str, int]:
        """OpenAI-style token usage of an answer: the prompt (system and user messages, as sent to
        the chat model or, for an extractive answer, as it would be) and the answer, counted like
        the context budget."""
        prompt = self.count_tokens(prepared.system) + self.count_tokens(prepared.user)
        completion = self.count_tokens(answer)
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def embedder(self, model: EmbeddingModel) -> QueryBatcher:
        with self._lock:
            if model.name not in self._embedders:
                self._embedders[model.name] = QueryBatcher(
                    embedder_for(model, self.settings), max_batch=self.settings.query_batch_size,
                    window_s=self.settings.query_batch_window_ms / 1000)
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
        self, source: ConnectionSource, ask: Ask, *, plan: Plan = "auto", model: EmbeddingModel | None = None
    ) -> SearchResult:
        """`model` overrides the active model (evaluating a model before its cutover)."""
        question, k, debug, filters, min_similarity = ask.question, ask.k, ask.debug, ask.filters, ask.min_similarity
        mode = ask.mode or self.settings.retrieval_mode
        reranking = self.reranker is not None and ask.rerank is not False
        with source.connection() as conn:
            target = collections.get(conn, ask.collection)
            # Read once: a query in flight during a model switch finishes on the model it started with.
            model = model or self.active_model(conn)
        started = time.perf_counter()
        vector = self.embedder(model).embed_query(question)
        embedded = time.perf_counter()
        with source.connection() as conn:
            result = retrieve(
                conn, model, target.id, vector, max(k, self.settings.rerank_candidates) if reranking else k,
                plan=plan, tuning=self.tuning,
                filters=filters, min_similarity=min_similarity, explain=debug,
                mode=mode, question=question, language=target.language, fusion=self.fusion,
            )
        timings = {"embed": _ms(embedded - started), "retrieve": _ms(result.seconds)}
        candidates = list(result.sources)
        if reranking:
            reranking_started = time.perf_counter()
            result.sources = self._rerank(question, result.sources)[:k]
            timings["rerank"] = _ms(time.perf_counter() - reranking_started)
        trace = {}
        if debug:
            trace = {
                "embed": {"ms": timings["embed"], "model": model.name, "dimensions": model.dimensions},
                "retrieve": {
                    "ms": timings["retrieve"],
                    "mode": result.mode,
                    "plan": result.plan,
                    "lexical_plan": result.lexical_plan,
                    "index_used": result.index_used,
                    "collection_chunks": result.collection_chunks,
                    "matches": result.matches,
                    "fallback": result.fallback,
                    "settings": result.settings,
                    "filters": filters or {},
                    "min_similarity": min_similarity,
                    "k": k,
                    "fusion": self.fusion.__dict__ if result.mode == "hybrid" else None,
                    "candidates": [
                        {"rank": rank, "chunk_id": s.chunk_id, "similarity": s.similarity, "score": s.score,
                         "vector_rank": s.vector_rank, "lexical_rank": s.lexical_rank, "lexical_score": s.lexical_score}
                        for rank, s in enumerate(candidates, start=1)
                    ],
                },
            }
            if reranking:
                retrieval_rank = {c.chunk_id: rank for rank, c in enumerate(candidates, start=1)}
                trace["rerank"] = {
                    "ms": timings["rerank"],
                    "reranker": self.reranker.name,
                    "candidates": len(candidates),
                    "results": [
                        {"rank": rank, "chunk_id": s.chunk_id, "rerank_score": s.rerank_score,
                         "retrieval_rank": retrieval_rank[s.chunk_id]}
                        for rank, s in enumerate(result.sources, start=1)
                    ],
                }
        return SearchResult(model, result, timings, trace)

    def _rerank(self, question: str, sources: list) -> list:
        scores = self.reranker.scores(question, [s.text for s in sources])
        rescored = [replace(s, rerank_score=score) for s, score in zip(sources, scores)]
        # Stable: equal scores keep their retrieval order.
        return sorted(rescored, key=lambda s: -s.rerank_score)

    def prepare(self, source: ConnectionSource, ask: Ask) -> PreparedAnswer:
        # The prompt is resolved first: an unknown name fails before any work is done.
        prompt_name, template = self.prompts.get(ask.prompt)
        found = self.search(source, ask)
        started = time.perf_counter()
        blocks, citations = build_context(found.retrieval.sources, self.settings.context_tokens, self.count_tokens)
        system, user = template.render(format_context(blocks), ask.question)
        found.timings_ms["context"] = _ms(time.perf_counter() - started)
        mode = "generated" if answering.chat_configured(self.settings) else "extractive"
        if ask.debug:
            found.trace["context"] = {
                "ms": found.timings_ms["context"],
                "budget_tokens": self.settings.context_tokens,
                "used_tokens": sum(b.tokens for b in blocks),
                "blocks": [{"number": b.number, "chunk_ids": b.chunk_ids, "tokens": b.tokens} for b in blocks],
                "left_out": [s.chunk_id for s in found.retrieval.sources if s.chunk_id not in citations],
            }
        return PreparedAnswer(ask, found, prompt_name, blocks, citations, system, user, mode)

    def write(self, prepared: PreparedAnswer) -> str:
        if prepared.mode == "generated":
            try:
                return answering.generate(prepared.system, prepared.user, self.settings)
            except answering.AnswerError as exc:
                exc.prepared = prepared  # the sources still go back with a 502 or 504
                raise
        return answering.extractive_answer(prepared.ask.question, prepared.blocks)

    def write_stream(self, prepared: PreparedAnswer) -> Iterator[str]:
        if prepared.mode == "generated":
            yield from answering.stream(prepared.system, prepared.user, self.settings)
        else:
            yield answering.extractive_answer(prepared.ask.question, prepared.blocks)

    def answer(self, source: ConnectionSource, ask: Ask, *, endpoint: str = "query") -> AnswerResult:
        started = time.perf_counter()
        prepared = self.prepare(source, ask)
        generating = time.perf_counter()
        text = self.write(prepared)
        timings = self.finish(prepared, started, generating)
        with source.connection() as conn:
            query_id = self.log(conn, endpoint, prepared, timings, text)
        return AnswerResult(text, prepared, timings, query_id)

    @staticmethod
    def finish(prepared: PreparedAnswer, started: float, generating: float) -> dict[str, float]:
        """All stage timings once the answer is written (recorded in the trace when debugging)."""
        done = time.perf_counter()
        timings = {**prepared.search.timings_ms, "generate": _ms(done - generating), "total": _ms(done - started)}
        if prepared.ask.debug:
            prepared.search.trace["generate"] = {"ms": timings["generate"], "mode": prepared.mode, "prompt": prepared.prompt}
        return timings

    def log(self, conn, endpoint: str, prepared: PreparedAnswer, timings: dict, answer: str | None) -> int:
        ask = prepared.ask
        query_id = querylog.record(
            conn, endpoint=endpoint, question=ask.question, collection=ask.collection,
            model=prepared.search.model.name, sources=prepared.search.retrieval.sources, timings_ms=timings,
            filters=ask.filters, prompt=prepared.prompt, mode=prepared.mode, answer=answer,
        )
        conn.commit()
        return query_id
