-- A new or changed document; its chunks are rebuilt by the chunks asset (chunked_as is reset).
INSERT INTO documents (collection_id, source_uri, content_hash, title, metadata, status, error, page_count)
VALUES (%(collection_id)s, %(source_uri)s, %(content_hash)s, %(title)s, %(metadata)s, %(status)s, %(error)s, %(page_count)s)
ON CONFLICT (collection_id, source_uri) DO UPDATE SET
    content_hash = EXCLUDED.content_hash,
    title        = EXCLUDED.title,
    metadata     = documents.metadata || EXCLUDED.metadata,
    status       = EXCLUDED.status,
    error        = EXCLUDED.error,
    page_count   = EXCLUDED.page_count,
    chunked_as   = NULL,
    updated_at   = now()
RETURNING id
