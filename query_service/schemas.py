"""Request and response bodies."""

from __future__ import annotations

from pydantic import BaseModel, Field


class QueryRequest(BaseModel):
    question: str = Field(min_length=1, max_length=4000, description="The question, in natural language.")
    collection: str = Field(min_length=1, max_length=63, description="Name of the collection to search.")
    k: int = Field(default=5, ge=1, le=100, description="How many source chunks to retrieve.")


class SourceOut(BaseModel):
    chunk_id: int
    document_id: int
    title: str | None
    source: str = Field(description="Source URI of the document, relative to its collection's directory.")
    page: int | None = Field(description="1-based page of the chunk's start, for paged formats (PDF).")
    text: str
    similarity: float = Field(description="Cosine similarity, 1 - (embedding <=> question).")


class QueryResponse(BaseModel):
    answer: str
    mode: str = Field(description="'generated' by the chat model, or 'extractive' without one.")
    model: str = Field(description="Embedding model that retrieved the sources.")
    plan: str = Field(description="'exact' scan of the collection, or 'hnsw' index scan.")
    sources: list[SourceOut]
    timings_ms: dict[str, float]


class HealthResponse(BaseModel):
    status: str
