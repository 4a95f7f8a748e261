-- The extracted text of a batch of documents, page by page in order.
SELECT document_id, page, text
FROM document_pages
WHERE document_id = ANY(%(ids)s)
ORDER BY document_id, ordinal
