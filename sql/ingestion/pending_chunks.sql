-- Pending chunks of the collection, and how many of them already have a vector for this model
-- (text unchanged by an edit or a re-chunk, or shared with another document): those are reused.
SELECT count(*) AS pending,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM {vectors} v
                                      WHERE v.collection_id = c.collection_id AND v.content_hash = c.content_hash)) AS reused
FROM chunks c
WHERE c.collection_id = %(collection_id)s AND c.pending
