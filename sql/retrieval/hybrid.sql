-- Hybrid mode in one round trip: vector and BM25 candidates fused by Reciprocal Rank Fusion,
--   score = vector_weight / (rrf_k + vector_rank) + lexical_weight / (rrf_k + lexical_rank).
WITH nearest AS MATERIALIZED ({candidates}),
best AS MATERIALIZED ({lexical}),
vector_ranked AS (SELECT chunk_id, row_number() OVER (ORDER BY distance, chunk_id) AS rank FROM nearest),
lexical_ranked AS (SELECT chunk_id, bm25, row_number() OVER (ORDER BY bm25 DESC, chunk_id) AS rank FROM best),
fused AS (
    SELECT coalesce(v.chunk_id, l.chunk_id) AS chunk_id,
           coalesce(%(vector_weight)s / (%(rrf_k)s + v.rank), 0)
             + coalesce(%(lexical_weight)s / (%(rrf_k)s + l.rank), 0) AS score,
           l.bm25, v.rank AS vector_rank, l.rank AS lexical_rank
    FROM vector_ranked v
    FULL OUTER JOIN lexical_ranked l ON l.chunk_id = v.chunk_id
)
SELECT c.id AS chunk_id, c.document_id, d.title, d.source_uri AS source, c.page, c.text,
       c.char_start, c.char_end, c.headings, d.metadata,
       1 - (vec.embedding <=> %(query)s) AS similarity, f.bm25 AS lexical_score, f.score,
       f.vector_rank, f.lexical_rank
FROM fused f
JOIN chunks c ON c.id = f.chunk_id
JOIN documents d ON d.id = c.document_id
LEFT JOIN {vectors} vec ON vec.collection_id = %(collection_id)s AND vec.content_hash = c.content_hash
WHERE 1 - (vec.embedding <=> %(query)s) >= 1 - %(max_distance)s OR vec.embedding IS NULL
ORDER BY f.score DESC, c.id
LIMIT %(k)s
