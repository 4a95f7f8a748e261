-- BM25 over the collection's live chunks (Lucene's formula, as in BEIR's BM25 baseline):
--   idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))
--   score  = sum over query terms of bm25_term = idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avg_length))
-- The question is tokenised with the collection's text search configuration. The hits (term, chunk,
-- tf, length) come from lexical/hits_exact.sql (every matching chunk, for small or heavily filtered
-- slices) or lexical/hits_postings.sql (bounded reads of each term's postings, best first).
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
hits AS ({hits})
SELECT h.chunk_id, sum(bm25_term(h.idf, h.tf, h.length, st.avg_length, %(k1)s, %(b)s)) AS bm25
FROM hits h
CROSS JOIN stats st
GROUP BY h.chunk_id
ORDER BY bm25 DESC, h.chunk_id
LIMIT %(n)s
