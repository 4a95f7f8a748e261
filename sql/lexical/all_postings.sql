-- Exact BM25 of an unfiltered slice small enough for the exact plan, straight from the query
-- terms' posting lists (each posting holds the term frequency and the chunk's length): O(postings of
-- the question's terms), no probe per chunk (probing every chunk of 3,000 cost about 10 ms).
WITH {terms}
SELECT p.chunk_id, sum(bm25_term(t.idf, p.tf, p.length, st.avg_length, %(k1)s, %(b)s)) AS bm25
FROM terms t
JOIN lexical_postings p ON p.collection_id = %(collection_id)s AND p.lexeme = t.lexeme
CROSS JOIN stats st
GROUP BY p.chunk_id
ORDER BY bm25 DESC, p.chunk_id
LIMIT %(n)s
