-- The exact plan looks up each matching chunk's vector by content hash, thousands of times per
-- request on a broad filter. A hash index finds it in one bucket page, where the primary key's btree
-- descends three levels comparing 32-byte keys: at 1M chunks a filter matching 10,000 took
-- 27 ms instead of 35 ms exactly (docs/performance.md). On the partitioned table, so that every
-- partition, present and future, has one.
CREATE OR REPLACE FUNCTION llamapg_create_vectors_table(model_id integer, dimensions integer) RETURNS void
LANGUAGE plpgsql AS $$
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
END
$$;

DO $$
DECLARE
    m record;
BEGIN
    FOR m IN SELECT id, dimensions FROM embedding_models WHERE to_regclass('vectors_' || id) IS NOT NULL LOOP
        PERFORM llamapg_create_vectors_table(m.id, m.dimensions);
    END LOOP;
END
$$;
