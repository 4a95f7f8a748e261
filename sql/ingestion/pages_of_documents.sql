-- The extracted text of a batch of documents, page by page in order, with each page's headings.
SELECT document_id, page, text, headings
FROM document_pages
WHERE document_id = ANY(%(ids)s)
ORDER BY document_id, ordinal
