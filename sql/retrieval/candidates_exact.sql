-- Exact cosine search over the matching live chunks of one collection, read from the vectors stored
-- by document: a filter's documents are a few runs of pages there, found through the btree on
-- (collection, document). OFFSET 0 fences the slice off, so the planner cannot sort it through
-- another plan. The filters placeholder takes compiled metadata filters ("AND ..." with bound
-- parameters, on c.document_id).
SELECT chunk_id, distance
FROM (
    SELECT c.chunk_id, c.embedding <=> %(query)s AS distance
    FROM {vectors_by_document} c
    WHERE c.collection_id = %(collection_id)s {filters}
    OFFSET 0
) slice
WHERE distance <= %(max_distance)s
ORDER BY distance, chunk_id
LIMIT %(n)s
