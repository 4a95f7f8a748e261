-- One narrow table per embedding model, keyed by the chunk's content hash: the same text is embedded
-- once per model, whichever document, collection or re-chunking it comes from, and metadata edits
-- never touch it (updating any column of an HNSW-indexed row rewrites the row).
-- STORAGE PLAIN keeps large vectors in line: TOASTed 1536-d vectors made exact scans 3x slower.
CREATE TABLE IF NOT EXISTS {vectors} (
    content_hash bytea PRIMARY KEY,
    embedding    vector({dimensions}) NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE {vectors} ALTER COLUMN embedding SET STORAGE PLAIN;
