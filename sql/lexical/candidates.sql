-- BM25 over the collection's live chunks (Lucene's formula, as in BEIR's BM25 baseline):
--   idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))
--   score  = sum over query terms of bm25_term = idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avg_length))
-- The question is tokenised with the collection's text search configuration. The chunks scored come
-- from lexical/chunks_exact.sql (every matching chunk: small or heavily filtered slices) or
-- lexical/chunks_postings.sql (the best found by bounded reads of each term's postings); each is
-- scored exactly, with one index probe per (chunk, query term).
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
scored AS ({chunks})
SELECT p.chunk_id, sum(bm25_term(t.idf, p.tf, p.length, st.avg_length, %(k1)s, %(b)s)) AS bm25
FROM scored
CROSS JOIN LATERAL (
    SELECT p.chunk_id, p.lexeme, p.tf, p.length FROM lexical_postings p
    WHERE p.chunk_id = scored.chunk_id AND p.lexeme = ANY (ARRAY(SELECT lexeme FROM terms))
    OFFSET 0  -- kept a per-chunk probe: pulled up, it became a hash join over whole posting lists
) p
JOIN terms t ON t.lexeme = p.lexeme
CROSS JOIN stats st
GROUP BY p.chunk_id
ORDER BY bm25 DESC, p.chunk_id
LIMIT %(n)s
