-- Vectors of the collection whose text no chunk (live or pending) has any more: what deleted or
-- edited documents leave behind. Never returned by a query (retrieval joins chunks); removed for space.
DELETE FROM {vectors} v
WHERE v.collection_id = %(collection_id)s
  AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.collection_id = v.collection_id AND c.content_hash = v.content_hash)
