-- Exact cosine search over the matching live chunks of one collection. OFFSET 0 fences the slice
-- off, so the planner cannot switch to the HNSW index, which filters after its scan: on a small
-- or heavily filtered slice it returns fewer than k rows, while an exact scan of the slice is both
-- complete and fast. The filters placeholder takes compiled metadata filters ("AND ..." with bound
-- parameters).
SELECT chunk_id, distance
FROM (
    SELECT c.id AS chunk_id, v.embedding <=> %(query)s AS distance
    FROM chunks c
    JOIN {vectors} v ON v.collection_id = c.collection_id AND v.content_hash = c.content_hash
    WHERE c.collection_id = %(collection_id)s AND NOT c.pending {filters}
    OFFSET 0
) slice
WHERE distance <= %(max_distance)s
ORDER BY distance, chunk_id
LIMIT %(n)s
