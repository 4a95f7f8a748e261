-- Core schema: collections, documents with their extracted text, chunks, and the embedding model registry.
-- Vectors live in one narrow table per model (created by register_model.sql), never beside metadata:
-- updating any column of an HNSW-indexed row rewrites it.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE collections (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    source_uri  text,
    metadata    jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE documents (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    collection_id bigint NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    source_uri    text NOT NULL,
    content_hash  text NOT NULL,
    title         text,
    metadata      jsonb NOT NULL DEFAULT '{}',
    status        text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'processing', 'ready', 'failed')),
    error         text,
    page_count    integer,
    -- content_hash + chunker settings of the chunks currently stored; NULL = needs chunking.
    chunked_as    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (collection_id, source_uri)
);
CREATE INDEX documents_collection_status ON documents (collection_id, status);

-- Extracted text, one row per page (a single row with page NULL for unpaged formats).
CREATE TABLE document_pages (
    document_id bigint NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    page        integer,
    ordinal     integer NOT NULL,
    text        text NOT NULL,
    PRIMARY KEY (document_id, ordinal)
);

CREATE TABLE chunks (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id   bigint NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    collection_id bigint NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    ordinal       integer NOT NULL,
    text          text NOT NULL,
    token_count   integer NOT NULL,
    page          integer,
    page_end      integer,
    char_start    integer NOT NULL,
    char_end      integer NOT NULL,
    content_hash  bytea NOT NULL,
    UNIQUE (document_id, ordinal)
);
CREATE INDEX chunks_collection ON chunks (collection_id);
CREATE INDEX chunks_content_hash ON chunks (content_hash);

CREATE TABLE embedding_models (
    id               smallint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    provider         text NOT NULL CHECK (provider IN ('local', 'openai')),
    model            text NOT NULL,
    dimensions       integer NOT NULL CHECK (dimensions BETWEEN 1 AND 16000),
    max_input_tokens integer NOT NULL CHECK (max_input_tokens > 0),
    base_url         text,
    status           text NOT NULL DEFAULT 'registered'
                     CHECK (status IN ('registered', 'active', 'retired')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    activated_at     timestamptz
);
-- At most one model answers queries at a time.
CREATE UNIQUE INDEX embedding_models_one_active ON embedding_models ((true)) WHERE status = 'active';
