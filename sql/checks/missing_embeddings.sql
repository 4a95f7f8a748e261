-- Chunks of the collection (live or pending) whose text has no vector for the model.
SELECT count(*) AS missing, (SELECT count(*) FROM chunks WHERE collection_id = %(collection_id)s) AS chunks
FROM chunks c
WHERE c.collection_id = %(collection_id)s
  AND NOT EXISTS (SELECT 1 FROM {vectors} v WHERE v.collection_id = c.collection_id AND v.content_hash = c.content_hash)
