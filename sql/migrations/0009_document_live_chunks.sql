-- Live chunks per document, kept by statement-level triggers on chunks, so that retrieval can tell
-- how many chunks a metadata filter matches by summing over the matching documents (a few rows),
-- not by counting the chunks themselves, and so choose its plan from the filter's selectivity.
CREATE TABLE document_live_chunks (
    document_id bigint PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
    live_chunks integer NOT NULL
);

-- Adds each document's change, set-wise, in one lock order for concurrent writers. A document
-- deleted in the same statement (its chunks cascade) has nothing left to count.
CREATE FUNCTION document_live_chunks_apply(document_ids bigint[], deltas bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO document_live_chunks AS t (document_id, live_chunks)
    SELECT c.document_id, c.delta
    FROM unnest(document_ids, deltas) AS c (document_id, delta)
    WHERE c.delta <> 0 AND EXISTS (SELECT 1 FROM documents d WHERE d.id = c.document_id)
    ORDER BY c.document_id
    ON CONFLICT (document_id) DO UPDATE SET live_chunks = t.live_chunks + EXCLUDED.live_chunks
$$;

CREATE FUNCTION chunks_live_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM document_live_chunks_apply(array_agg(document_id), array_agg(n))
    FROM (SELECT document_id, count(*) AS n FROM new_chunks WHERE NOT pending GROUP BY document_id) g;
    RETURN NULL;
END
$$;

CREATE FUNCTION chunks_live_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM document_live_chunks_apply(array_agg(document_id), array_agg(-n))
    FROM (SELECT document_id, count(*) AS n FROM old_chunks WHERE NOT pending GROUP BY document_id) g;
    RETURN NULL;
END
$$;

-- A pending chunk going live counts from then on; a live one turned pending no longer does.
CREATE FUNCTION chunks_live_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM document_live_chunks_apply(array_agg(document_id), array_agg(n))
    FROM (SELECT document_id, sum(delta) AS n
          FROM (SELECT document_id, 1 AS delta FROM new_chunks WHERE NOT pending
                UNION ALL
                SELECT document_id, -1 FROM old_chunks WHERE NOT pending) changes
          GROUP BY document_id) g;
    RETURN NULL;
END
$$;

CREATE TRIGGER chunks_live_count_insert AFTER INSERT ON chunks
    REFERENCING NEW TABLE AS new_chunks FOR EACH STATEMENT EXECUTE FUNCTION chunks_live_count_insert();
CREATE TRIGGER chunks_live_count_delete AFTER DELETE ON chunks
    REFERENCING OLD TABLE AS old_chunks FOR EACH STATEMENT EXECUTE FUNCTION chunks_live_count_delete();
CREATE TRIGGER chunks_live_count_update AFTER UPDATE ON chunks
    REFERENCING OLD TABLE AS old_chunks NEW TABLE AS new_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION chunks_live_count_update();

INSERT INTO document_live_chunks (document_id, live_chunks)
SELECT document_id, count(*) FROM chunks WHERE NOT pending GROUP BY document_id;
