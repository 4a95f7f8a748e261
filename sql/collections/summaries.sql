SELECT col.name, col.source_uri AS source,
       count(d.id) AS documents,
       count(d.id) FILTER (WHERE d.status = 'ready') AS ready,
       count(d.id) FILTER (WHERE d.status = 'failed') AS failed,
       (SELECT count(*) FROM chunks c WHERE c.collection_id = col.id AND NOT c.pending) AS chunks
FROM collections col
LEFT JOIN documents d ON d.collection_id = col.id
WHERE %(name)s::text IS NULL OR col.name = %(name)s
GROUP BY col.id
ORDER BY col.name
