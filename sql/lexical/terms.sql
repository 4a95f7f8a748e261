-- BM25's inputs for one question, as CTEs for lexical/candidates.sql and lexical/all_postings.sql
-- (Lucene's formula, as in BEIR's BM25 baseline):
--   idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))
--   score  = sum over query terms of bm25_term = idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avg_length))
-- The question is tokenised with the collection's text search configuration.
stats AS (
    SELECT chunks::double precision AS n, greatest(avg_length, 1) AS avg_length
    FROM lexical_stats WHERE collection_id = %(collection_id)s
),
terms AS (
    SELECT q.lexeme, ln(1 + (st.n - coalesce(t.df, 0) + 0.5) / (coalesce(t.df, 0) + 0.5)) AS idf
    FROM unnest(to_tsvector(%(language)s::regconfig, %(question)s)) AS q
    CROSS JOIN stats st
    LEFT JOIN lexical_terms t ON t.collection_id = %(collection_id)s AND t.lexeme = q.lexeme
)
