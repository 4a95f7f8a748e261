"""POST /query: answer a question with its sources."""

from __future__ import annotations

import psycopg
from fastapi import APIRouter, Depends

from llamapg.rag import RagEngine
from query_service.dependencies import get_connection, get_engine
from query_service.schemas import QueryRequest, QueryResponse, SourceOut

router = APIRouter(tags=["query"])


# A plain `def`: FastAPI runs it in its thread pool, so embedding and SQL never block the event loop.
@router.post("/query", response_model=QueryResponse, responses={404: {"description": "Unknown collection"}})
def query(
    body: QueryRequest,
    conn: psycopg.Connection = Depends(get_connection),
    engine: RagEngine = Depends(get_engine),
) -> QueryResponse:
    result = engine.answer(conn, body.question, body.collection, body.k)
    return QueryResponse(
        answer=result.answer,
        mode=result.mode,
        model=result.search.model.name,
        plan=result.search.retrieval.plan,
        sources=[
            SourceOut(
                chunk_id=s.chunk_id,
                document_id=s.document_id,
                title=s.title,
                source=s.source,
                page=s.page,
                text=s.text,
                similarity=s.similarity,
            )
            for s in result.search.retrieval.sources
        ],
        timings_ms=result.timings_ms,
    )
