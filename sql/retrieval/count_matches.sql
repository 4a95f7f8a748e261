-- Live chunks of the documents that pass the filters (document_live_chunks, kept by triggers): the
-- first running total over the exact plans' larger limit, or, when the filters match no more than that,
-- the whole total. Either way no more documents are read than the limit has chunks.
coalesce(
    (SELECT running
     FROM (SELECT sum(n.live_chunks) OVER (ROWS UNBOUNDED PRECEDING) AS running
           FROM document_live_chunks n
           WHERE n.live_chunks > 0 {document_filters}) totals
     WHERE running > collection.count_limit
     LIMIT 1),
    (SELECT coalesce(sum(n.live_chunks), 0)
     FROM document_live_chunks n
     WHERE n.live_chunks > 0 {document_filters}))
