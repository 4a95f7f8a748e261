-- Documents with pending chunks that all have a vector for the active model: ready to swap in.
SELECT d.id
FROM documents d
WHERE d.collection_id = %(collection_id)s
  AND d.status = 'processing'
  AND EXISTS (SELECT 1 FROM chunks c WHERE c.document_id = d.id AND c.pending)
  AND NOT EXISTS (
      SELECT 1 FROM chunks c
      WHERE c.document_id = d.id AND c.pending
        AND NOT EXISTS (SELECT 1 FROM {vectors} v
                        WHERE v.collection_id = c.collection_id AND v.content_hash = c.content_hash)
  )
