SELECT
    count(*) FILTER (WHERE status = 'ready')      AS ready,
    count(*) FILTER (WHERE status = 'processing') AS processing,
    count(*) FILTER (WHERE status = 'pending')    AS pending,
    count(*) FILTER (WHERE status = 'failed')     AS failed,
    count(*)                                      AS total
FROM documents
WHERE collection_id = %(collection_id)s
