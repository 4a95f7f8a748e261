-- One table per embedding model, partitioned by collection, keyed by (collection, chunk content hash):
-- the same text is embedded once per model and collection, whichever document or re-chunking it
-- comes from, and metadata edits never touch it (updating any column of an HNSW-indexed row
-- rewrites the row). The function lives in sql/migrations/0005_scale.sql.
SELECT llamapg_create_vectors_table(%(model_id)s, %(dimensions)s)
