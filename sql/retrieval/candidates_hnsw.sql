-- Approximate search through the HNSW index of the collection's own partition (the collection_id
-- condition prunes the others away at plan time). The ORDER BY must be `embedding <=> query` to
-- match the index's vector_cosine_ops. The caller sets hnsw.iterative_scan so that the scan keeps
-- going until n rows pass the metadata filters (applied after the index scan), and falls back to
-- the exact plan when the scan still comes back short.
SELECT c.id AS chunk_id, v.embedding <=> %(query)s AS distance
FROM {vectors} v
JOIN chunks c ON c.collection_id = v.collection_id AND c.content_hash = v.content_hash
WHERE v.collection_id = %(collection_id)s AND NOT c.pending {filters}
  AND v.embedding <=> %(query)s <= %(max_distance)s
ORDER BY v.embedding <=> %(query)s
LIMIT %(n)s
