-- Each BM25 posting carries its chunk's document, so that a request's metadata filters are checked
-- on the postings read (against the matching documents, found once) instead of through a lookup
-- of each posting's chunk: at 1M chunks BM25 with a 10% filter spent most of its 74 ms on those
-- lookups, 8,000 per query term (docs/performance.md). The table is rewritten once, here: at 1M
-- chunks, 35M postings.
CREATE TABLE lexical_postings_with_document (
    collection_id bigint NOT NULL,
    lexeme        text NOT NULL,
    rank          real NOT NULL,
    chunk_id      bigint NOT NULL,
    document_id   bigint NOT NULL,
    tf            integer NOT NULL,
    length        integer NOT NULL
);
INSERT INTO lexical_postings_with_document (collection_id, lexeme, rank, chunk_id, document_id, tf, length)
SELECT p.collection_id, p.lexeme, p.rank, p.chunk_id, c.document_id, p.tf, p.length
FROM lexical_postings p JOIN chunks c ON c.id = p.chunk_id;
DROP TABLE lexical_postings;
ALTER TABLE lexical_postings_with_document RENAME TO lexical_postings;
CREATE INDEX lexical_postings_impact ON lexical_postings (collection_id, lexeme, rank DESC)
    INCLUDE (chunk_id, document_id, tf, length);
CREATE INDEX lexical_postings_chunk ON lexical_postings (chunk_id, lexeme) INCLUDE (tf, length);

ALTER TYPE lexical_chunk ADD ATTRIBUTE document_id bigint;

-- As in 0005_scale.sql, with the chunk's document written into its postings.
CREATE OR REPLACE FUNCTION lexical_apply(changed lexical_chunk[], sign integer) RETURNS void LANGUAGE plpgsql AS $$
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
        INSERT INTO lexical_postings (collection_id, lexeme, rank, chunk_id, document_id, tf, length)
        SELECT c.collection_id, u.lexeme,
               u.tf / (u.tf + 1.2 * (0.25 + 0.75 * c.lexeme_count / greatest(s.avg_length, 1))),
               c.id, c.document_id, u.tf, c.lexeme_count
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

CREATE OR REPLACE FUNCTION chunks_lexical_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM lexical_apply(ARRAY(
        SELECT ROW(id, collection_id, lexemes, lexeme_count, document_id)::lexical_chunk
        FROM new_chunks WHERE NOT pending), 1);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION chunks_lexical_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM lexical_apply(ARRAY(
        SELECT ROW(id, collection_id, lexemes, lexeme_count, document_id)::lexical_chunk
        FROM old_chunks WHERE NOT pending), -1);
    RETURN NULL;
END
$$;

-- A pending chunk going live counts from then on; a live chunk whose text changed is counted anew.
CREATE OR REPLACE FUNCTION chunks_lexical_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM lexical_apply(ARRAY(
        SELECT ROW(o.id, o.collection_id, o.lexemes, o.lexeme_count, o.document_id)::lexical_chunk
        FROM old_chunks o JOIN new_chunks n ON n.id = o.id
        WHERE NOT o.pending AND (n.pending OR n.lexemes IS DISTINCT FROM o.lexemes)), -1);
    PERFORM lexical_apply(ARRAY(
        SELECT ROW(n.id, n.collection_id, n.lexemes, n.lexeme_count, n.document_id)::lexical_chunk
        FROM old_chunks o JOIN new_chunks n ON n.id = o.id
        WHERE NOT n.pending AND (o.pending OR n.lexemes IS DISTINCT FROM o.lexemes)), 1);
    RETURN NULL;
END
$$;
