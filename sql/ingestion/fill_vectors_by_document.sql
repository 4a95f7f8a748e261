-- The collection's live chunks that have a vector but no row in the model's vectors by document
-- (see sql/migrations/0013_vectors_by_document.sql): after a backfill's load, where two concurrent
-- transactions could leave some out.
SELECT llamapg_fill_vectors_by_document(%(model_id)s, %(collection_id)s)
