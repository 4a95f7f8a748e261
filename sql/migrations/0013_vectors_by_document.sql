-- Each model's vectors of live chunks again, stored by document: vectors_<model>_by_document,
-- partitioned by collection, one row per live chunk (document, chunk, vector), written in document
-- order and read through a btree on (collection, document).
--
-- A metadata filter matches whole documents. The exact plan reached each matching chunk through its
-- document and then its vector by content hash in the HNSW-indexed table, where a collection's
-- vectors lie in the order they were embedded (by length): one random page per chunk, about 2 us
-- each, 23 ms for the 10,000 chunks of a 1% filter at 1M. Here a document's vectors share a few
-- pages: 3-4.5 ms for the same 10,000, 0.3 ms for 1,000 (docs/performance.md). The HNSW index stays
-- on the narrow table keyed by content hash, which also keeps each text embedded once.
--
-- Kept by statement-level triggers, set-wise: a chunk going live adds its row from the vectors
-- already stored, a vector stored for a live chunk (a model being backfilled) adds its row, and a
-- chunk deleted or turned pending takes its rows away. llamapg_fill_vectors_by_document adds what
-- two concurrent transactions could leave out: a backfill storing the vector of a text whose chunk
-- another one swaps in at the same moment, each seeing the other's change uncommitted.

CREATE FUNCTION llamapg_vectors_by_document_table(model_id integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT format('vectors_%s_by_document', model_id) $$;

-- The statement that adds the rows of the live chunks of `chunks_relation` (a table or a trigger's
-- transition table) whose text has a vector in `vectors_relation`, in document order; rows already
-- there stay. Returned as text for the trigger functions to EXECUTE themselves: a transition table
-- is visible only to the trigger's own function, not to the functions it calls.
CREATE FUNCTION llamapg_vectors_by_document_add(model_id integer, chunks_relation text, vectors_relation text,
                                                chunk_condition text DEFAULT 'true') RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT format(
        'INSERT INTO %I (collection_id, document_id, chunk_id, embedding)'
        ' SELECT c.collection_id, c.document_id, c.id, v.embedding'
        ' FROM %s c JOIN %s v ON v.collection_id = c.collection_id AND v.content_hash = c.content_hash'
        ' WHERE NOT c.pending AND (%s)'
        ' ORDER BY c.collection_id, c.document_id, c.ordinal'
        ' ON CONFLICT (collection_id, chunk_id) DO NOTHING',
        llamapg_vectors_by_document_table(model_id), chunks_relation, vectors_relation, chunk_condition)
$$;

-- The tables of every model that has one, for the chunk triggers.
CREATE FUNCTION llamapg_models_with_vectors() RETURNS SETOF integer
LANGUAGE sql STABLE AS $$
    SELECT id::integer FROM embedding_models
    WHERE to_regclass(llamapg_vectors_by_document_table(id)) IS NOT NULL
    ORDER BY id
$$;

-- One function for the three chunk triggers: chunks inserted live, or going live from pending (the
-- swap), gain their rows; chunks deleted while live, or turned pending, lose them.
CREATE FUNCTION chunks_vectors_by_document() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    model_id integer;
BEGIN
    FOR model_id IN SELECT llamapg_models_with_vectors() LOOP
        IF TG_OP = 'INSERT' THEN
            EXECUTE llamapg_vectors_by_document_add(model_id, 'new_chunks', format('%I', 'vectors_' || model_id));
        ELSIF TG_OP = 'UPDATE' THEN
            EXECUTE llamapg_vectors_by_document_add(
                model_id, 'new_chunks', format('%I', 'vectors_' || model_id),
                'EXISTS (SELECT 1 FROM old_chunks o WHERE o.id = c.id AND o.pending)');
        END IF;
        IF TG_OP <> 'INSERT' THEN
            EXECUTE format(
                'DELETE FROM %I t USING old_chunks o'
                ' WHERE NOT o.pending AND t.collection_id = o.collection_id AND t.chunk_id = o.id%s',
                llamapg_vectors_by_document_table(model_id),
                CASE WHEN TG_OP = 'UPDATE'
                     THEN ' AND EXISTS (SELECT 1 FROM new_chunks n WHERE n.id = o.id AND n.pending)' ELSE '' END);
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER chunks_vectors_by_document_insert AFTER INSERT ON chunks
    REFERENCING NEW TABLE AS new_chunks FOR EACH STATEMENT EXECUTE FUNCTION chunks_vectors_by_document();
CREATE TRIGGER chunks_vectors_by_document_update AFTER UPDATE ON chunks
    REFERENCING OLD TABLE AS old_chunks NEW TABLE AS new_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION chunks_vectors_by_document();
CREATE TRIGGER chunks_vectors_by_document_delete AFTER DELETE ON chunks
    REFERENCING OLD TABLE AS old_chunks FOR EACH STATEMENT EXECUTE FUNCTION chunks_vectors_by_document();

-- Vectors stored for texts whose chunks are live already (a backfill, a bulk load). On the model's
-- table for statements that target it, and on each partition for those that target the partition
-- (ingestion writes to the collection's partition): PostgreSQL fires a statement's triggers on the
-- table it names only. TG_ARGV[0] is the model's id.
CREATE FUNCTION vectors_by_document_stored() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE llamapg_vectors_by_document_add(TG_ARGV[0]::integer, 'chunks', 'new_vectors');
    RETURN NULL;
END
$$;

CREATE FUNCTION llamapg_vectors_stored_trigger(model_id integer, target text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE OR REPLACE TRIGGER vectors_by_document_stored AFTER INSERT ON %I'
                   ' REFERENCING NEW TABLE AS new_vectors FOR EACH STATEMENT'
                   ' EXECUTE FUNCTION vectors_by_document_stored(%L)', target, model_id);
END
$$;

CREATE OR REPLACE FUNCTION llamapg_create_vectors_table(model_id integer, dimensions integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    by_document text := llamapg_vectors_by_document_table(model_id);
BEGIN
    EXECUTE format(
        'CREATE TABLE IF NOT EXISTS %I ('
        '  collection_id bigint NOT NULL,'
        '  content_hash  bytea NOT NULL,'
        '  embedding     vector(%s) NOT NULL,'
        '  created_at    timestamptz NOT NULL DEFAULT now(),'
        '  PRIMARY KEY (collection_id, content_hash)'
        ') PARTITION BY LIST (collection_id)', 'vectors_' || model_id, dimensions);
    -- STORAGE PLAIN keeps vectors in line: TOASTed 1536-d vectors made exact scans 3x slower.
    EXECUTE format('ALTER TABLE %I ALTER COLUMN embedding SET STORAGE PLAIN', 'vectors_' || model_id);
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I USING hash (content_hash)',
                   'vectors_' || model_id || '_content_hash', 'vectors_' || model_id);
    EXECUTE format(
        'CREATE TABLE IF NOT EXISTS %I ('
        '  collection_id bigint NOT NULL,'
        '  document_id   bigint NOT NULL,'
        '  chunk_id      bigint NOT NULL,'
        '  embedding     vector(%s) NOT NULL,'
        '  PRIMARY KEY (collection_id, chunk_id)'
        ') PARTITION BY LIST (collection_id)', by_document, dimensions);
    EXECUTE format('ALTER TABLE %I ALTER COLUMN embedding SET STORAGE PLAIN', by_document);
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I (collection_id, document_id)',
                   by_document || '_document', by_document);
    PERFORM llamapg_vectors_stored_trigger(model_id, 'vectors_' || model_id);
END
$$;

CREATE OR REPLACE FUNCTION llamapg_vector_partition(model_id integer, collection_id bigint) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    partition text := format('vectors_%s_%s', model_id, collection_id);
    by_document text := format('%s_%s', llamapg_vectors_by_document_table(model_id), collection_id);
BEGIN
    IF to_regclass(partition) IS NULL OR to_regclass(by_document) IS NULL THEN
        -- Two runs may create the same partition at once: serialise them on the name.
        PERFORM pg_advisory_xact_lock(hashtext(partition));
        IF to_regclass(partition) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES IN (%s)',
                           partition, 'vectors_' || model_id, collection_id);
            EXECUTE format('ALTER TABLE %I ALTER COLUMN embedding SET STORAGE PLAIN', partition);
            PERFORM llamapg_vectors_stored_trigger(model_id, partition);
        END IF;
        IF to_regclass(by_document) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES IN (%s)',
                           by_document, llamapg_vectors_by_document_table(model_id), collection_id);
            EXECUTE format('ALTER TABLE %I ALTER COLUMN embedding SET STORAGE PLAIN', by_document);
        END IF;
    END IF;
    RETURN partition;
END
$$;

-- The rows a collection's live chunks should have and lack, in document order.
CREATE FUNCTION llamapg_fill_vectors_by_document(model_id integer, collection_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE llamapg_vectors_by_document_add(
        model_id, 'chunks', format('%I', format('vectors_%s_%s', model_id, collection_id)),
        format('c.collection_id = %s AND NOT EXISTS (SELECT 1 FROM %I t'
               ' WHERE t.collection_id = c.collection_id AND t.chunk_id = c.id)',
               collection_id, llamapg_vectors_by_document_table(model_id)));
END
$$;

-- A backfill stores vectors in the order they were embedded (by length), and so adds their rows
-- scattered over the partition: before its first cutover the model's partition is rewritten in
-- document order (no query reads a model that is not active).
CREATE FUNCTION llamapg_cluster_vectors_by_document(model_id integer, collection_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    partition regclass := to_regclass(format('%s_%s', llamapg_vectors_by_document_table(model_id), collection_id));
    by_document_index regclass;
BEGIN
    SELECT i.indexrelid::regclass INTO by_document_index
    FROM pg_inherits h JOIN pg_index i ON i.indexrelid = h.inhrelid
    WHERE h.inhparent = to_regclass(llamapg_vectors_by_document_table(model_id) || '_document')
      AND i.indrelid = partition;
    EXECUTE format('CLUSTER %s USING %s', partition, by_document_index);
END
$$;

-- Existing models: their tables, each collection's partition and rows, and the triggers.
DO $$
DECLARE
    m record;
    p record;
BEGIN
    FOR m IN SELECT id, dimensions FROM embedding_models WHERE to_regclass('vectors_' || id) IS NOT NULL LOOP
        PERFORM llamapg_create_vectors_table(m.id, m.dimensions);
        FOR p IN SELECT substring(c.relname FROM '_(\d+)$')::bigint AS collection_id
                 FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid
                 WHERE h.inhparent = to_regclass('vectors_' || m.id) LOOP
            PERFORM llamapg_vector_partition(m.id, p.collection_id);
            PERFORM llamapg_vectors_stored_trigger(m.id, format('vectors_%s_%s', m.id, p.collection_id));
            PERFORM llamapg_fill_vectors_by_document(m.id, p.collection_id);
        END LOOP;
    END LOOP;
END
$$;
