(SELECT count(*) FROM (
    -- Driven from the matching documents, each one's live chunks through their index: the work
    -- is bounded by count_limit, however the chunks happen to be ordered on disk.
    SELECT 1
    FROM documents d
    CROSS JOIN LATERAL (SELECT 1 FROM chunks c WHERE c.document_id = d.id AND NOT c.pending) live
    WHERE d.collection_id = %(collection_id)s {document_filters}
    LIMIT %(count_limit)s) matching)
