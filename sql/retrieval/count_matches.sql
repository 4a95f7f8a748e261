(SELECT count(*) FROM (
    SELECT 1 FROM chunks c
    WHERE c.collection_id = %(collection_id)s AND NOT c.pending {filters}
    LIMIT %(count_limit)s) matching)
