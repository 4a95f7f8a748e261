SELECT id, content_hash, title
FROM documents
WHERE collection_id = %(collection_id)s
  AND status <> 'failed'
  AND chunked_as IS DISTINCT FROM content_hash || ':' || %(fingerprint)s
ORDER BY id
