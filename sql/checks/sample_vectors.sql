-- Query vectors for the recall check: stored vectors, sampled reproducibly, each searched within
-- its own collection (its own partition and index, with the ef_search its size gets).
SELECT v.collection_id, v.embedding,
       coalesce((SELECT s.chunks FROM lexical_stats s WHERE s.collection_id = v.collection_id), 0) AS collection_chunks
FROM {vectors} v
ORDER BY md5(v.content_hash::text)
LIMIT %(sample)s
