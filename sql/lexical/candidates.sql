-- BM25 over chosen live chunks of the collection (the terms: lexical/terms.sql). The chunks scored
-- come from lexical/chunks_exact.sql (every matching chunk: small filtered slices) or
-- lexical/chunks_postings.sql (the best found by bounded reads of each term's postings); each is
-- scored exactly, with one index probe per (chunk, query term).
WITH {terms},
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
