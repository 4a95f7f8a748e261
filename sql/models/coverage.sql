-- Per collection: chunks (live and pending), and how many have a vector for the model.
SELECT col.name AS collection,
       count(c.id) AS chunks,
       count(c.id) FILTER (WHERE EXISTS (SELECT 1 FROM {vectors} v
                                         WHERE v.collection_id = c.collection_id AND v.content_hash = c.content_hash)) AS embedded
FROM collections col
LEFT JOIN chunks c ON c.collection_id = col.id
GROUP BY col.name
ORDER BY col.name
