-- Approximate search through the model's HNSW index. The ORDER BY must be `embedding <=> query`
-- to match the index's vector_cosine_ops. The caller sets hnsw.iterative_scan so that the scan
-- keeps going until n rows pass the collection and metadata filters (applied after the index
-- scan); the relaxed order is re-sorted by the caller's query.
SELECT c.id AS chunk_id, v.embedding <=> %(query)s AS distance
FROM {vectors} v
JOIN chunks c ON c.content_hash = v.content_hash
JOIN documents d ON d.id = c.document_id
WHERE c.collection_id = %(collection_id)s AND NOT c.pending {filters}
  AND v.embedding <=> %(query)s <= %(max_distance)s
ORDER BY v.embedding <=> %(query)s
LIMIT %(n)s
