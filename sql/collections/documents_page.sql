SELECT d.id, d.source_uri AS source, d.title, d.status, d.error,
       (SELECT count(*) FROM chunks c WHERE c.document_id = d.id AND NOT c.pending) AS chunks
FROM documents d
JOIN collections col ON col.id = d.collection_id
WHERE col.name = %(name)s
ORDER BY d.id
LIMIT %(limit)s OFFSET %(offset)s
