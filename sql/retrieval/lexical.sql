-- Lexical mode: BM25 (sql/lexical/candidates.sql); cosine similarity is reported too.
WITH best AS MATERIALIZED ({lexical})
SELECT c.id AS chunk_id, c.document_id, d.title, d.source_uri AS source, c.page, c.text,
       c.char_start, c.char_end, c.headings, d.metadata,
       1 - (v.embedding <=> %(query)s) AS similarity, b.bm25 AS lexical_score, b.bm25 AS score,
       NULL::bigint AS vector_rank, row_number() OVER (ORDER BY b.bm25 DESC, c.id) AS lexical_rank
FROM best b
JOIN chunks c ON c.id = b.chunk_id
JOIN documents d ON d.id = c.document_id
LEFT JOIN {vectors} v ON v.collection_id = %(collection_id)s AND v.content_hash = c.content_hash
WHERE 1 - (v.embedding <=> %(query)s) >= 1 - %(max_distance)s OR v.embedding IS NULL
ORDER BY b.bm25 DESC, c.id
LIMIT %(k)s
