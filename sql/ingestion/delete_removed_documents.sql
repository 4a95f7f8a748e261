-- Documents whose source is gone; their pages, chunks (and so their search hits) go with them.
DELETE FROM documents
WHERE collection_id = %(collection_id)s
  AND NOT (source_uri = ANY(%(seen)s))
RETURNING id
