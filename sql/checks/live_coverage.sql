-- Live chunks of the collection, and how many of them have a vector for the model.
SELECT count(*) AS live,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM {vectors} v
                                      WHERE v.collection_id = c.collection_id AND v.content_hash = c.content_hash)) AS embedded
FROM chunks c
WHERE c.collection_id = %(collection_id)s AND NOT c.pending
