SELECT id, source_uri, content_hash, status
FROM documents
WHERE collection_id = %(collection_id)s
