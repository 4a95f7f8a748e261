"""Request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from llamapg.textcheck import plain_text

COLLECTION_NAME = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
# Ids are PostgreSQL bigints: a larger number is no id, and says so before it reaches the database.
MAX_BIGINT = 2**63 - 1
# Text the database can store: no NUL, no lone surrogate (422 with the reason, never a 500).
Text = Annotated[str, AfterValidator(plain_text)]
FILTERS_DESCRIPTION = (
    "Document-metadata filters: {key: value} for equality, {key: {\"in\": [...]}}, or ranges "
    "{key: {\"gte\": 2020, \"lt\": 2024}} over numbers or ISO dates."
)


class SearchRequest(BaseModel):
    # NaN and infinity are no numbers a request means (and a 422 that echoed them could not be sent).
    model_config = ConfigDict(allow_inf_nan=False)

    question: Text = Field(min_length=1, description="The question, in natural language (at most "
                                                     "LLAMAPG_MAX_QUESTION_CHARS characters, 4000 by default).")
    collection: str = Field(pattern=COLLECTION_NAME, description="Name of the collection to search.")
    k: int = Field(default=5, ge=1, le=100, description="How many source chunks to retrieve.")
    filters: dict[str, Any] | None = Field(default=None, description=FILTERS_DESCRIPTION)
    min_similarity: float | None = Field(default=None, ge=-1, le=1, description="Drop sources below this cosine similarity.")
    debug: bool = Field(default=False, description="Return the retrieval trace: every stage's timing, settings and candidates.")
    mode: Literal["vector", "lexical", "hybrid"] | None = Field(
        default=None, description="vector (cosine), lexical (BM25) or hybrid (both, fused by RRF); default LLAMAPG_RETRIEVAL_MODE.")
    rerank: bool | None = Field(default=None, description="Rerank with the configured reranker (default: yes when one is configured).")


class QueryRequest(SearchRequest):
    prompt: Text | None = Field(default=None, max_length=100, description="Named prompt template (GET /prompts); default from prompts.yaml.")
    stream: bool = Field(default=False, description="Stream server-sent events: `sources` first, then `delta`s, then `done`.")


class SourceOut(BaseModel):
    rank: int
    chunk_id: int
    document_id: int
    title: str | None
    source: str = Field(description="Source URI of the document, relative to its collection's directory.")
    page: int | None = Field(description="1-based page of the chunk's start, for paged formats (PDF).")
    headings: list[str] = Field(default_factory=list, description="Heading path of the chunk's section (Markdown, HTML, PDF outline).")
    text: str = Field(description="The chunk's own text (its context header is embedded and indexed, not shown).")
    similarity: float | None = Field(description="Cosine similarity, 1 - (embedding <=> question).")
    lexical_score: float | None = Field(default=None, description="BM25 score (lexical and hybrid modes).")
    score: float | None = Field(default=None, description="The score this mode ranked by: similarity, BM25 or RRF.")
    rerank_score: float | None = Field(default=None, description="The reranker's score, when reranked.")
    citation: int | None = Field(default=None, description="The [n] that cites this chunk in the answer; null if it was left out of the context.")
    metadata: dict = Field(default_factory=dict)


class SearchResponse(BaseModel):
    model: str = Field(description="Embedding model that retrieved the sources.")
    plan: str = Field(description="The vector search's plan: 'exact' scan of the matching chunks, or 'hnsw' index "
                                  "scan; in lexical mode, BM25's plan.")
    lexical_plan: str | None = Field(default=None, description="BM25's plan in lexical and hybrid mode: 'exact' "
                                     "scores every matching chunk, 'postings' the best postings of each query term.")
    retrieval_mode: str = Field(description="vector, lexical or hybrid.")
    sources: list[SourceOut]
    timings_ms: dict[str, float]
    trace: dict | None = None


class QueryResponse(SearchResponse):
    answer: str
    mode: str = Field(description="'generated' by the chat model, or 'extractive' without one.")
    prompt: str
    query_id: int = Field(description="Quote it in POST /feedback.")


class FeedbackRequest(BaseModel):
    query_id: int = Field(ge=1, le=MAX_BIGINT)
    rating: int = Field(ge=-1, le=5, description="-1/1 for thumbs down/up, or 0-5 stars.")
    comment: Text | None = Field(default=None, max_length=4000)


class FeedbackResponse(BaseModel):
    id: int


class HealthResponse(BaseModel):
    status: str


class ReadyResponse(BaseModel):
    status: str
    model: str | None = None
    detail: str | None = None


class PromptOut(BaseModel):
    name: str
    description: str
    system: str
    user: str
    default: bool


class CollectionSummary(BaseModel):
    name: str
    source: str | None
    documents: int
    ready: int
    failed: int
    chunks: int


class DocumentSummary(BaseModel):
    id: int
    source: str
    title: str | None
    status: str
    error: str | None
    chunks: int


class ModelCoverage(BaseModel):
    name: str
    status: str
    dimensions: int
    chunks_embedded: int
    index_valid: bool
    index_size_bytes: int | None


class CollectionDetail(CollectionSummary):
    models: list[ModelCoverage]
    documents_page: list[DocumentSummary] = Field(description="Documents, by id, `limit` from `offset`.")


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
    pages: int | None = Field(description="Pages read (slides for PowerPoint; 1 for other files); null until read.")
    ocr_pages: int | None = Field(description="How many of those pages were read by OCR: they had no text layer.")
    created_at: datetime
    updated_at: datetime
