"""Domain results -> response bodies, shared by the routers."""

from __future__ import annotations

from llamapg.rag import SearchResult
from query_service.schemas import SourceOut


def sources_out(found: SearchResult, citations: dict[int, int] | None = None) -> list[SourceOut]:
    citations = citations or {}
    return [
        SourceOut(
            rank=rank, chunk_id=s.chunk_id, document_id=s.document_id, title=s.title, source=s.source,
            page=s.page, headings=s.headings, text=s.text, similarity=s.similarity, lexical_score=s.lexical_score, score=s.score,
            rerank_score=s.rerank_score, citation=citations.get(s.chunk_id),
            metadata=s.metadata,
        )
        for rank, s in enumerate(found.retrieval.sources, start=1)
    ]


def retrieval_fields(found: SearchResult) -> dict:
    """How the sources were found, as /search, /query, the stream's first event and `llamapg query`
    report it."""
    retrieval = found.retrieval
    return {"model": found.model.name, "plan": retrieval.plan, "lexical_plan": retrieval.lexical_plan,
            "retrieval_mode": retrieval.mode}
