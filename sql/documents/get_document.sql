SELECT d.id, c.name AS collection, d.source_uri, d.title, d.status, d.error, d.metadata,
       (SELECT count(*) FROM chunks k WHERE k.document_id = d.id AND NOT k.pending) AS chunks,
       d.page_count AS pages, d.ocr_pages,
       d.created_at, d.updated_at
FROM documents d
JOIN collections c ON c.id = d.collection_id
WHERE d.id = %(id)s
