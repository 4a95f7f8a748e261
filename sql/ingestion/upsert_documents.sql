-- New or changed documents of one batch, in one statement; their chunks are rebuilt by the chunks
-- asset (chunked_as is reset).
INSERT INTO documents (collection_id, source_uri, content_hash, title, metadata, status, error, page_count, ocr_pages)
SELECT %(collection_id)s, source_uri, content_hash, title, metadata, status, error, page_count, ocr_pages
FROM unnest(%(source_uri)s::text[], %(content_hash)s::text[], %(title)s::text[], %(metadata)s::jsonb[],
            %(status)s::text[], %(error)s::text[], %(page_count)s::integer[], %(ocr_pages)s::integer[])
     AS batch(source_uri, content_hash, title, metadata, status, error, page_count, ocr_pages)
ON CONFLICT (collection_id, source_uri) DO UPDATE SET
    content_hash = EXCLUDED.content_hash,
    title        = EXCLUDED.title,
    metadata     = documents.metadata || EXCLUDED.metadata,
    status       = EXCLUDED.status,
    error        = EXCLUDED.error,
    page_count   = EXCLUDED.page_count,
    ocr_pages    = EXCLUDED.ocr_pages,
    chunked_as   = NULL,
    updated_at   = now()
RETURNING id, source_uri
