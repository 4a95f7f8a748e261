-- Live chunks of one collection with a vector for the model.
SELECT count(*) AS embedded
FROM chunks c
WHERE c.collection_id = %(collection_id)s AND NOT c.pending
  AND EXISTS (SELECT 1 FROM {vectors} v WHERE v.content_hash = c.content_hash)
