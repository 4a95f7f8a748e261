-- Vector mode: the candidates come from candidates_exact.sql or candidates_hnsw.sql.
WITH nearest AS MATERIALIZED ({candidates})
SELECT c.id AS chunk_id, c.document_id, d.title, d.source_uri AS source, c.page, c.text,
       c.char_start, c.char_end, c.headings, d.metadata,
       1 - n.distance AS similarity, NULL::double precision AS lexical_score, 1 - n.distance AS score,
       row_number() OVER (ORDER BY n.distance, c.id) AS vector_rank, NULL::bigint AS lexical_rank
FROM nearest n
JOIN chunks c ON c.id = n.chunk_id
JOIN documents d ON d.id = c.document_id
ORDER BY n.distance, c.id
LIMIT %(k)s
