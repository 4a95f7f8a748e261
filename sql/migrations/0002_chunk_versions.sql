-- A changed document's new chunks are written as `pending` beside the live ones and swapped in, in
-- one transaction, once the active model has embedded them: queries never see both versions, nor
-- neither. Retrieval reads live chunks only.
ALTER TABLE chunks ADD COLUMN pending boolean NOT NULL DEFAULT false;
ALTER TABLE chunks DROP CONSTRAINT chunks_document_id_ordinal_key;
CREATE UNIQUE INDEX chunks_live_ordinal ON chunks (document_id, ordinal) WHERE NOT pending;
CREATE UNIQUE INDEX chunks_pending_ordinal ON chunks (document_id, ordinal) WHERE pending;
DROP INDEX chunks_collection;
CREATE INDEX chunks_collection_live ON chunks (collection_id) WHERE NOT pending;
CREATE INDEX chunks_collection_pending ON chunks (collection_id) WHERE pending;

-- The last asset-check results per model, shown by `llamapg models list` and used by activation.
ALTER TABLE embedding_models ADD COLUMN checks jsonb NOT NULL DEFAULT '{}';
