-- Retrieval that scales (100k-1M chunks):
--  1. Vectors partitioned by collection, each partition with its own HNSW index: one collection's
--     recall and latency no longer depend on the size of the others (HNSW filters after its scan).
--  2. document_fields: document metadata projected into typed, indexed rows, so that equality,
--     `in` and range filters use a btree and the planner estimates them from statistics.
--  3. lexical_postings: one row per (live chunk, lexeme), ordered by its BM25 impact, so that a
--     query reads a bounded number of postings per term instead of every chunk holding the term;
--     BM25 statistics (document frequencies, chunk count, total length) are kept current by
--     statement-level triggers, set-wise, instead of being recomputed over the collection.

-- 1. Vectors per (model, collection) -------------------------------------------------------------

-- The model's partitioned table: one partition per collection, created on first use.
CREATE FUNCTION llamapg_create_vectors_table(model_id integer, dimensions integer) RETURNS void
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
END
$$;

-- The partition of one collection (idempotent); its name is vectors_<model>_<collection>.
CREATE FUNCTION llamapg_vector_partition(model_id integer, collection_id bigint) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    partition text := format('vectors_%s_%s', model_id, collection_id);
BEGIN
    IF to_regclass(partition) IS NULL THEN
        -- Two runs may create the same partition at once: serialise them on the name.
        PERFORM pg_advisory_xact_lock(hashtext(partition));
        IF to_regclass(partition) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES IN (%s)',
                           partition, 'vectors_' || model_id, collection_id);
            EXECUTE format('ALTER TABLE %I ALTER COLUMN embedding SET STORAGE PLAIN', partition);
        END IF;
    END IF;
    RETURN partition;
END
$$;

DO $$
DECLARE
    m record;
    shared text;
    target text;
BEGIN
    FOR m IN SELECT id, dimensions FROM embedding_models WHERE status <> 'retired' LOOP
        target := 'vectors_' || m.id;
        shared := target || '_shared';
        EXECUTE format('DROP INDEX IF EXISTS %I', target || '_hnsw');
        EXECUTE format('ALTER TABLE IF EXISTS %I RENAME TO %I', target, shared);
        PERFORM llamapg_create_vectors_table(m.id, m.dimensions);
        PERFORM llamapg_vector_partition(m.id, c.collection_id)
        FROM (SELECT DISTINCT collection_id FROM chunks) c;
        IF to_regclass(shared) IS NOT NULL THEN
            EXECUTE format(
                'INSERT INTO %I (collection_id, content_hash, embedding, created_at)'
                ' SELECT DISTINCT ON (c.collection_id, v.content_hash) c.collection_id, v.content_hash,'
                '        v.embedding, v.created_at'
                ' FROM chunks c JOIN %I v ON v.content_hash = c.content_hash'
                ' ORDER BY c.collection_id, v.content_hash', target, shared);
            EXECUTE format('DROP TABLE %I', shared);
        END IF;
    END LOOP;
END
$$;

-- 2. Typed metadata fields ------------------------------------------------------------------------

CREATE TABLE document_fields (
    document_id   bigint NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    key           text NOT NULL,
    collection_id bigint NOT NULL,
    value         jsonb NOT NULL,
    number        numeric GENERATED ALWAYS AS
                  (CASE WHEN jsonb_typeof(value) = 'number' THEN (value #>> '{}')::numeric END) STORED,
    string        text GENERATED ALWAYS AS
                  (CASE WHEN jsonb_typeof(value) = 'string' THEN value #>> '{}' END) STORED,
    PRIMARY KEY (document_id, key)
);
CREATE INDEX document_fields_value ON document_fields (collection_id, key, value);
CREATE INDEX document_fields_number ON document_fields (collection_id, key, number) WHERE number IS NOT NULL;
CREATE INDEX document_fields_string ON document_fields (collection_id, key, string) WHERE string IS NOT NULL;

-- Set-wise for a whole statement's documents; an update re-projects only documents whose metadata
-- changed (the pipeline updates statuses far more often than metadata).
CREATE FUNCTION documents_project_fields() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        changed := ARRAY(SELECT id FROM new_documents);
    ELSE
        changed := ARRAY(SELECT n.id FROM new_documents n JOIN old_documents o ON o.id = n.id
                         WHERE n.metadata IS DISTINCT FROM o.metadata);
        DELETE FROM document_fields WHERE document_id = ANY (changed);
    END IF;
    INSERT INTO document_fields (document_id, key, collection_id, value)
    SELECT d.id, e.key, d.collection_id, e.value
    FROM new_documents d CROSS JOIN LATERAL jsonb_each(d.metadata) AS e
    WHERE d.id = ANY (changed);
    RETURN NULL;
END
$$;
CREATE TRIGGER documents_fields_insert AFTER INSERT ON documents
    REFERENCING NEW TABLE AS new_documents
    FOR EACH STATEMENT EXECUTE FUNCTION documents_project_fields();
CREATE TRIGGER documents_fields_update AFTER UPDATE ON documents
    REFERENCING OLD TABLE AS old_documents NEW TABLE AS new_documents
    FOR EACH STATEMENT EXECUTE FUNCTION documents_project_fields();

INSERT INTO document_fields (document_id, key, collection_id, value)
SELECT d.id, e.key, d.collection_id, e.value
FROM documents d CROSS JOIN LATERAL jsonb_each(d.metadata) AS e;

-- 3. BM25 postings and incrementally maintained statistics ------------------------------------

CREATE TABLE lexical_postings (
    collection_id bigint NOT NULL,
    lexeme        text NOT NULL,
    -- Impact order: the lexeme's BM25 term weight in this chunk (k1 = 1.2, b = 0.75, with the
    -- collection's average length when the posting was written). Queries read each list top-first
    -- and score what they read exactly, from tf and length, with the current statistics.
    rank          real NOT NULL,
    chunk_id      bigint NOT NULL,
    tf            integer NOT NULL,
    length        integer NOT NULL
);
CREATE INDEX lexical_postings_impact ON lexical_postings (collection_id, lexeme, rank DESC)
    INCLUDE (chunk_id, tf, length);
CREATE INDEX lexical_postings_chunk ON lexical_postings (chunk_id, lexeme) INCLUDE (tf, length);

ALTER TABLE lexical_stats DROP COLUMN avg_length;
ALTER TABLE lexical_stats ADD COLUMN total_length bigint NOT NULL DEFAULT 0;
ALTER TABLE lexical_stats ADD COLUMN avg_length double precision
    GENERATED ALWAYS AS (total_length::double precision / greatest(chunks, 1)) STORED;

-- One term's BM25 weight in one chunk (Lucene's formula); a plain SQL function, inlined by the planner.
CREATE FUNCTION bm25_term(idf double precision, tf double precision, length double precision,
                          avg_length double precision, k1 double precision, b double precision)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avg_length));

-- A chunk as the BM25 bookkeeping sees it.
CREATE TYPE lexical_chunk AS (id bigint, collection_id bigint, lexemes tsvector, lexeme_count integer);

-- Adds (sign = 1) or removes (sign = -1) live chunks' postings and their share of the statistics,
-- set-wise for a whole statement's chunks.
CREATE FUNCTION lexical_apply(changed lexical_chunk[], sign integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(changed) = 0 THEN
        RETURN;
    END IF;
    IF sign > 0 THEN
        INSERT INTO lexical_stats (collection_id, chunks, total_length)
        SELECT collection_id, count(*), sum(lexeme_count) FROM unnest(changed) GROUP BY collection_id
        ORDER BY collection_id
        ON CONFLICT (collection_id) DO UPDATE
        SET chunks = lexical_stats.chunks + EXCLUDED.chunks,
            total_length = lexical_stats.total_length + EXCLUDED.total_length, updated_at = now();
        INSERT INTO lexical_postings (collection_id, lexeme, rank, chunk_id, tf, length)
        SELECT c.collection_id, u.lexeme,
               u.tf / (u.tf + 1.2 * (0.25 + 0.75 * c.lexeme_count / greatest(s.avg_length, 1))),
               c.id, u.tf, c.lexeme_count
        FROM unnest(changed) c
        JOIN lexical_stats s ON s.collection_id = c.collection_id
        CROSS JOIN LATERAL (SELECT lexeme, coalesce(array_length(positions, 1), 1) AS tf
                            FROM unnest(c.lexemes)) AS u;
        INSERT INTO lexical_terms (collection_id, lexeme, df)
        SELECT c.collection_id, u.lexeme, count(*)
        FROM unnest(changed) c CROSS JOIN LATERAL unnest(c.lexemes) AS u
        GROUP BY c.collection_id, u.lexeme
        ORDER BY c.collection_id, u.lexeme  -- one lock order for concurrent writers
        ON CONFLICT (collection_id, lexeme) DO UPDATE SET df = lexical_terms.df + EXCLUDED.df;
    ELSE
        UPDATE lexical_stats s
        SET chunks = s.chunks - g.n, total_length = s.total_length - g.length, updated_at = now()
        FROM (SELECT collection_id, count(*) AS n, sum(lexeme_count) AS length
              FROM unnest(changed) GROUP BY collection_id) g
        WHERE s.collection_id = g.collection_id;
        DELETE FROM lexical_postings p USING unnest(changed) c WHERE p.chunk_id = c.id;
        UPDATE lexical_terms t SET df = t.df - g.n
        FROM (SELECT c.collection_id, u.lexeme, count(*) AS n
              FROM unnest(changed) c CROSS JOIN LATERAL unnest(c.lexemes) AS u
              GROUP BY c.collection_id, u.lexeme ORDER BY 1, 2) g
        WHERE t.collection_id = g.collection_id AND t.lexeme = g.lexeme;
        DELETE FROM lexical_terms t
        WHERE t.df <= 0 AND t.collection_id IN (SELECT collection_id FROM unnest(changed));
    END IF;
END
$$;

CREATE FUNCTION chunks_lexical_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM lexical_apply(ARRAY(
        SELECT ROW(id, collection_id, lexemes, lexeme_count)::lexical_chunk FROM new_chunks WHERE NOT pending), 1);
    RETURN NULL;
END
$$;

CREATE FUNCTION chunks_lexical_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM lexical_apply(ARRAY(
        SELECT ROW(id, collection_id, lexemes, lexeme_count)::lexical_chunk FROM old_chunks WHERE NOT pending), -1);
    RETURN NULL;
END
$$;

-- A pending chunk going live counts from then on; a live chunk whose text changed is counted anew.
CREATE FUNCTION chunks_lexical_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM lexical_apply(ARRAY(
        SELECT ROW(o.id, o.collection_id, o.lexemes, o.lexeme_count)::lexical_chunk
        FROM old_chunks o JOIN new_chunks n ON n.id = o.id
        WHERE NOT o.pending AND (n.pending OR n.lexemes IS DISTINCT FROM o.lexemes)), -1);
    PERFORM lexical_apply(ARRAY(
        SELECT ROW(n.id, n.collection_id, n.lexemes, n.lexeme_count)::lexical_chunk
        FROM old_chunks o JOIN new_chunks n ON n.id = o.id
        WHERE NOT n.pending AND (o.pending OR n.lexemes IS DISTINCT FROM o.lexemes)), 1);
    RETURN NULL;
END
$$;

CREATE TRIGGER chunks_lexical_insert AFTER INSERT ON chunks
    REFERENCING NEW TABLE AS new_chunks FOR EACH STATEMENT EXECUTE FUNCTION chunks_lexical_insert();
CREATE TRIGGER chunks_lexical_delete AFTER DELETE ON chunks
    REFERENCING OLD TABLE AS old_chunks FOR EACH STATEMENT EXECUTE FUNCTION chunks_lexical_delete();
CREATE TRIGGER chunks_lexical_update AFTER UPDATE ON chunks
    REFERENCING OLD TABLE AS old_chunks NEW TABLE AS new_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION chunks_lexical_update();

-- The existing live chunks, through the same path as new ones.
DELETE FROM lexical_terms;
DELETE FROM lexical_stats;
SELECT lexical_apply(ARRAY(
    SELECT ROW(id, collection_id, lexemes, lexeme_count)::lexical_chunk FROM chunks WHERE NOT pending), 1);

-- BM25 no longer scans chunks' tsvectors: the GIN index only cost writes.
DROP INDEX chunks_lexemes;
