"""Request and response bodies."""

from __future__ import annotations

from datetime import datetime

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


class UploadedDocument(BaseModel):
    id: int
    source: str
    status: str
    status_url: str
    size_bytes: int


class UploadResponse(BaseModel):
    collection: str
    documents: list[UploadedDocument]


class DocumentOut(BaseModel):
    id: int
    collection: str
    source: str
    title: str | None
    status: str = Field(description="pending | processing | ready | failed")
    error: str | None = Field(description="Why the document failed, when it did.")
    metadata: dict
    chunks: int = Field(description="Live chunks, the ones queries can return.")
    created_at: datetime
    updated_at: datetime
