"""The one settings object: every knob is an `LLAMAPG_*` environment variable (or a `.env` line)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from llamapg.filters import MAX_FILTER_KEYS, MAX_IN_VALUES

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_NAME = "all-minilm-l6-v2"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LLAMAPG_", env_file=".env", extra="ignore", populate_by_name=True
    )

    # Tracebacks with errors (the CLI's --debug sets it); without, errors are one line with their cause.
    debug: bool = False

    # Where the embedded database and uploaded files live.
    home: Path = Path(".llamapg")
    pgdata: Path | None = None

    # Any PostgreSQL with pgvector; when unset the embedded server under `pgdata` is used.
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("LLAMAPG_DATABASE_URL", "DATABASE_URL")
    )
    database_name: str = "llamapg"
    # The embedded server's shared_buffers: "auto" (a quarter of the memory, 128 MB to 8 GB) or a
    # size such as "2GB". An HNSW index searched from PostgreSQL's buffers is 2-3x faster than one
    # read through the operating system's cache (llamapg/embedded.py).
    db_shared_buffers: str = Field(default="auto", pattern=r"^(auto|[1-9][0-9]*(kB|MB|GB|TB))$")
    dagster_database_name: str = "dagster"
    pool_max_size: int = 10
    # How long a request waits for a connection before answering 503.
    pool_timeout_s: float = 5.0

    # Backpressure in the query service: at most this many requests run at once (each holds at most
    # one pooled connection at a time, so the pool is never exhausted), up to max_queued_requests
    # more wait in the event loop, holding no thread and no connection, for at most queue_timeout_s;
    # beyond that the answer is 503 "busy" with Retry-After. Health, readiness and metrics bypass it.
    max_concurrent_requests: int = 8
    max_queued_requests: int = 512
    queue_timeout_s: float = 10.0

    # Default embedding model, registered on `db migrate` so a fresh install works offline.
    default_model: str = DEFAULT_MODEL_NAME
    embed_batch_size: int = 64
    # Embedding requests in flight at once to a remote (OpenAI-compatible) server while the pipeline
    # writes the vectors of the ones before; a local model embeds one batch at a time on every core.
    embed_requests_in_flight: int = 4
    # Threads torch may use for batch embedding in the pipeline (0 = torch's default).
    embed_threads: int = 0
    # One thread answers a single query faster than two on small machines (measured: up to 10x).
    query_threads: int = 1
    # Concurrent questions are embedded together: at most this many per forward pass, and the first
    # waits this long for others (0: none; under load batches form while the model is busy).
    query_batch_size: int = 32
    query_batch_window_ms: float = 0.0

    # Chunk sizes are counted in the embedding model's own tokens, special tokens included. 128 is
    # the length all-MiniLM-L6-v2 was trained on: on SciFact it beat 256 (its input limit) by 0.03
    # nDCG@10 in vector mode and 0.011 in hybrid (README, "Measuring retrieval quality").
    chunk_size: int = 128
    chunk_overlap: int = 16

    # OpenAI-compatible embeddings endpoint used by models registered with provider "openai".
    openai_base_url: str | None = None
    openai_api_key: str | None = Field(
        default=None, validation_alias=AliasChoices("LLAMAPG_OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    openai_timeout_s: float = 60.0
    openai_max_retries: int = 5

    # OpenAI-compatible chat endpoint for answers; without it answers are extractive.
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout_s: float = 60.0
    llm_max_retries: int = 2

    # Named prompt templates, re-read when the file changes.
    prompts_file: Path = REPO_ROOT / "prompts.yaml"
    # Tokens of retrieved text given to the chat model, best sources first.
    context_tokens: int = 1500

    # vector | lexical | hybrid, when a request does not say. Hybrid measured best on SciFact (README).
    retrieval_mode: str = "hybrid"
    # Reciprocal Rank Fusion: score = w_v / (rrf_k + vector rank) + w_l / (rrf_k + lexical rank).
    rrf_k: float = 60.0
    rrf_vector_weight: float = 1.0
    rrf_lexical_weight: float = 1.0
    hybrid_candidates: int = 100
    bm25_k1: float = 1.2
    bm25_b: float = 0.75
    # BM25 on large slices reads each query term's postings top-first, at most this many per term:
    # the work per query is bounded however many chunks share a common word (docs/performance.md).
    lexical_postings_per_term: int = 2000
    # ... of which the best (by their partial score) are scored exactly over every query term: this
    # many up to 100k chunks in the collection, grown with the square root of its size beyond (1M:
    # 1,581), at most 4x (llamapg/retrieval.py collection_rescore).
    lexical_rescore: int = 500

    # Reranking, off unless configured: a local cross-encoder directory, or an HTTP /rerank endpoint.
    reranker_model_path: Path | None = None
    reranker_url: str | None = None
    reranker_model: str | None = None
    reranker_api_key: str | None = None
    reranker_timeout_s: float = 30.0
    rerank_candidates: int = 50

    hnsw_m: int = 16
    hnsw_ef_construction: int = 64
    # An index build's maintenance_work_mem and parallel workers: a 1M x 384-d graph needs about 2 GB
    # in memory, and one that outgrows it is finished on disk, several times slower.
    hnsw_build_memory: str = "2GB"
    hnsw_build_workers: int = 2
    # ef_search up to 100k chunks in a collection; above, it grows with the square root of the size
    # (1M: 405), at most 1,000: a graph's recall at a fixed ef_search falls as it grows
    # (llamapg/retrieval.py collection_ef_search, docs/performance.md).
    hnsw_ef_search: int = Field(default=128, ge=1, le=1000)
    # Requests matching at most this many live chunks (collection and metadata filters) are searched
    # exactly: an exact scan of a small set is fast and perfectly recalled, while HNSW filters after
    # its scan. The exact plan reads the vectors stored by document (sql/migrations/0013): 1,000
    # matching chunks take about 1.4 ms (100k chunks, 1% filter) and 10,000 about 6.5 ms at 1M.
    exact_search_max_rows: int = 1_000
    # ... and so are requests whose metadata filters match at most this share of the collection's
    # chunks: the rarer the matching chunks, the more of the nearest ones HNSW's filtered scan misses,
    # and the fewer an exact scan reads. At 100k chunks a 10% filter took 5.8 ms exactly against
    # 14.2 ms through the index at recall@10 0.98 (llamapg/retrieval.py choose_plan).
    exact_search_max_fraction: float = Field(default=0.10, ge=0, le=1)
    # ... as long as that share is at most this many chunks (about 50 ms exactly at 1M chunks, where
    # the index took 18-20 ms at recall@10 0.95): a larger collection's filter beyond it goes to the
    # index rather than keep a request waiting longer.
    exact_search_selective_max_rows: int = Field(default=100_000, ge=0)
    # BM25 scores every matching chunk exactly under the same rule with its own share and cap:
    # scoring a chunk's terms costs 2-4x finding its vector (5 ms per 1,000 chunks at 1M), and
    # the bounded postings lose less under a filter than the HNSW scan does. At 1M chunks a 1%
    # filter took 50 ms exactly against 9 ms from the postings at agreement@10 0.87, and a 2% one
    # 99 ms against 12 ms at 0.92 (llamapg/retrieval.py choose_lexical_plan).
    lexical_exact_max_fraction: float = Field(default=0.02, ge=0, le=1)
    lexical_exact_selective_max_rows: int = Field(default=10_000, ge=0)
    # How far an HNSW iterative scan may read before the exact plan completes a short answer.
    hnsw_max_scan_tuples: int = 20_000
    # With metadata filters, an HNSW scan reads this many matching candidates and keeps the best k:
    # the iterative scan returns its tuples in roughly ordered batches, and when the matching
    # documents lie away from the question, stopping at the first k that pass misses closer ones.
    # At 100k embedding-like chunks, ef_search 200: recall@10 0.940 -> 0.989 for a 10% filter
    # (docs/performance.md).
    hnsw_filtered_candidates: int = Field(default=40, ge=1, le=1000)

    # Per document, in ingestion: a document over a limit fails alone, with the limit named, and the
    # run goes on. Time is checked between pages, and PDFs and Office files are read in a child
    # process killed at the limit (assets/ingestion/readers/isolation.py).
    document_max_pages: int = Field(default=2_000, ge=1)
    document_max_characters: int = Field(default=10_000_000, ge=1)
    document_max_seconds: float = Field(default=300.0, gt=0)
    # Pages with no text layer but an image are read by OCR (RapidOCR, offline): about 1-5 s a page
    # on 2 cores, so at most ocr_max_pages per document.
    ocr_enabled: bool = True
    ocr_max_pages: int = Field(default=100, ge=0)
    ocr_dpi: int = Field(default=200, ge=72, le=600)

    # Directories whose sub-folders are collections, watched by the Dagster sensor (comma-separated).
    watch_roots: str = ""
    sensor_interval_s: int = 30
    # The nightly full re-scan of every collection (cron, in the Dagster daemon's time zone).
    rescan_cron: str = "0 3 * * *"
    # Switch queries to a newly backfilled model as soon as its checks pass.
    auto_activate: bool = False

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    dagster_port: int = 3000

    # Access: every request but the probes and the API's own docs needs an API key (`llamapg keys
    # create`), stored as an HMAC-SHA256 under this secret; unset, a random one is made once in
    # LLAMAPG_HOME/api-key-secret (0600). Every process that checks or creates keys needs the same.
    auth: bool = True
    api_key_secret: str | None = None
    # A verified key is trusted this long before it is looked up again (a revocation waits this long).
    api_key_cache_s: float = Field(default=5.0, ge=0)
    # Browser safety: origins allowed to call the API from a page (none: CORS off); Host headers
    # accepted (DNS rebinding); the base of URLs in responses (default http://api_host:api_port).
    cors_origins: str = ""
    trusted_hosts: str = "localhost,127.0.0.1,::1"
    public_url: str | None = None
    # Bounded input: a request over a limit gets 413 (sizes) or 422 (the rest), naming the limit.
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    max_upload_file_bytes: int = Field(default=100 << 20, ge=1)
    max_upload_request_bytes: int = Field(default=500 << 20, ge=1)
    max_upload_files: int = Field(default=100, ge=1)
    # An upload is written as `.<name>.<32 hex>.part` first: file systems allow 255 bytes a name.
    max_file_name_bytes: int = Field(default=200, ge=1, le=215)
    max_question_chars: int = Field(default=4000, ge=1)
    max_filter_keys: int = Field(default=32, ge=1, le=MAX_FILTER_KEYS)
    max_filter_values: int = Field(default=1000, ge=1, le=MAX_IN_VALUES)

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.retrieval_mode not in ("vector", "lexical", "hybrid"):
            raise ValueError(f"LLAMAPG_RETRIEVAL_MODE must be vector, lexical or hybrid, not {self.retrieval_mode!r}")
        if self.max_concurrent_requests > self.pool_max_size:
            raise ValueError(
                f"LLAMAPG_MAX_CONCURRENT_REQUESTS ({self.max_concurrent_requests}) must not exceed "
                f"LLAMAPG_POOL_MAX_SIZE ({self.pool_max_size}): each running request may hold a connection"
            )
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"LLAMAPG_CHUNK_OVERLAP ({self.chunk_overlap}) must be smaller than "
                f"LLAMAPG_CHUNK_SIZE ({self.chunk_size})"
            )
        return self

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    @property
    def trusted_host_list(self) -> list[str]:
        return [host.strip() for host in self.trusted_hosts.split(",") if host.strip()]

    @property
    def base_url(self) -> str:
        """Where clients reach the API: URLs in responses start here, never from the Host header."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.api_host}]" if ":" in self.api_host else self.api_host
        return f"http://{host}:{self.api_port}"

    @property
    def loopback_only(self) -> bool:
        import ipaddress

        if self.api_host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.api_host).is_loopback
        except ValueError:
            return False

    @property
    def pgdata_dir(self) -> Path:
        return (self.pgdata or self.home / "pgdata").expanduser().resolve()

    @property
    def uploads_dir(self) -> Path:
        return (self.home / "uploads").expanduser().resolve()

    @property
    def watched_roots(self) -> list[Path]:
        return [Path(part).expanduser().resolve() for part in self.watch_roots.split(",") if part.strip()]

    @property
    def uses_embedded_database(self) -> bool:
        return not self.database_url


@lru_cache
def get_settings() -> Settings:
    return Settings()
