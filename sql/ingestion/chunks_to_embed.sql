-- Texts of the collection with no vector yet for this model: each distinct text is embedded once.
SELECT DISTINCT ON (c.content_hash) c.content_hash, c.text, c.token_count
FROM chunks c
WHERE c.collection_id = %(collection_id)s
  AND NOT EXISTS (SELECT 1 FROM {vectors} v WHERE v.content_hash = c.content_hash)
ORDER BY c.content_hash
