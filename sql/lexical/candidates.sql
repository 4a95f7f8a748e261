-- BM25 over the collection's live chunks (Lucene's formula, as in BEIR's BM25 baseline):
--   idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))
--   score  = sum over query terms of idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avg_length))
-- The question is tokenised with the collection's text search configuration; the GIN index finds
-- the chunks that contain any of its lexemes.
WITH stats AS (
    SELECT chunks::double precision AS n, greatest(avg_length, 1) AS avg_length
    FROM lexical_stats WHERE collection_id = %(collection_id)s
),
terms AS (
    SELECT q.lexeme, ln(1 + (st.n - coalesce(t.df, 0) + 0.5) / (coalesce(t.df, 0) + 0.5)) AS idf
    FROM unnest(to_tsvector(%(language)s::regconfig, %(question)s)) AS q
    CROSS JOIN stats st
    LEFT JOIN lexical_terms t ON t.collection_id = %(collection_id)s AND t.lexeme = q.lexeme
),
matching AS (
    SELECT c.id, c.lexemes, c.lexeme_count
    FROM chunks c
    JOIN documents d ON d.id = c.document_id
    WHERE c.collection_id = %(collection_id)s AND NOT c.pending {filters}
      AND c.lexemes @@ (SELECT to_tsquery('simple', string_agg(quote_literal(lexeme), ' | ')) FROM terms)
)
SELECT m.id AS chunk_id,
       sum(t.idf * u.tf * (%(k1)s + 1) / (u.tf + %(k1)s * (1 - %(b)s + %(b)s * m.lexeme_count / st.avg_length))) AS bm25
FROM matching m
CROSS JOIN LATERAL (SELECT lexeme, coalesce(array_length(positions, 1), 1) AS tf FROM unnest(m.lexemes)) AS u
JOIN terms t ON t.lexeme = u.lexeme
CROSS JOIN stats st
GROUP BY m.id
ORDER BY bm25 DESC, m.id
LIMIT %(n)s
