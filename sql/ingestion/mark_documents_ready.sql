-- Documents all of whose chunks have a vector for the active model are ready to be found.
UPDATE documents d
SET status = 'ready', updated_at = now()
WHERE d.collection_id = %(collection_id)s
  AND d.status = 'processing'
  AND d.chunked_as IS NOT NULL
  AND NOT EXISTS (
      SELECT 1 FROM chunks c
      WHERE c.document_id = d.id
        AND NOT EXISTS (SELECT 1 FROM {vectors} v WHERE v.content_hash = c.content_hash)
  )
