-- Query vectors for the recall check: stored vectors, sampled reproducibly, each searched within
-- its own collection (its own partition and index).
SELECT collection_id, embedding FROM {vectors} ORDER BY md5(content_hash::text) LIMIT %(sample)s
