-- Exact cosine search over one collection's live chunks. The MATERIALIZED slice keeps the planner
-- off the HNSW index, which filters after its scan: on a small collection inside a large table it
-- returns fewer than k rows, while an exact scan of the slice is both complete and fast.
-- {filters} is a compiled metadata filter ("AND ..." with bound parameters) or nothing.
WITH slice AS MATERIALIZED (
    SELECT c.id AS chunk_id, v.embedding <=> %(query)s AS distance
    FROM chunks c
    JOIN {vectors} v ON v.content_hash = c.content_hash
    JOIN documents d ON d.id = c.document_id
    WHERE c.collection_id = %(collection_id)s AND NOT c.pending {filters}
),
nearest AS (
    SELECT chunk_id, distance FROM slice
    WHERE distance <= %(max_distance)s
    ORDER BY distance, chunk_id
    LIMIT %(k)s
)
SELECT c.id AS chunk_id, c.document_id, d.title, d.source_uri AS source, c.page, c.text,
       c.char_start, c.char_end, 1 - n.distance AS similarity, d.metadata
FROM nearest n
JOIN chunks c ON c.id = n.chunk_id
JOIN documents d ON d.id = c.document_id
ORDER BY n.distance, c.id
