-- Vectors whose text no chunk (live or pending, in any collection) has any more: what deleted or
-- edited documents leave behind. Never returned by a query (retrieval joins chunks); removed for space.
DELETE FROM {vectors} v
WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.content_hash = v.content_hash)
