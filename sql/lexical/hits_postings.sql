-- BM25 with bounded work, in two steps:
-- 1. each query term's postings are read best first (impact order), at most postings_per_term of
--    them, so the work does not grow with the number of chunks that share a common word; the
--    chunks read are ranked by this partial score, metadata filters applied to them;
-- 2. the best `rescore` of them are scored exactly over all the query's terms, one index probe per
--    (chunk, term), so that a chunk outside a common term's top postings still gets that term.
SELECT t.idf, p.chunk_id, p.tf, p.length
FROM (
    SELECT r.chunk_id
    FROM terms t
    CROSS JOIN stats st
    CROSS JOIN LATERAL (
        SELECT p.chunk_id, p.tf, p.length
        FROM lexical_postings p
        WHERE p.collection_id = %(collection_id)s AND p.lexeme = t.lexeme
        ORDER BY p.rank DESC
        LIMIT %(postings_per_term)s
    ) r
    {filtered}
    GROUP BY r.chunk_id
    ORDER BY sum(bm25_term(t.idf, r.tf, r.length, st.avg_length, %(k1)s, %(b)s)) DESC, r.chunk_id
    LIMIT %(rescore)s
) best
CROSS JOIN LATERAL (
    SELECT p.chunk_id, p.lexeme, p.tf, p.length FROM lexical_postings p
    WHERE p.chunk_id = best.chunk_id AND p.lexeme = ANY (ARRAY(SELECT lexeme FROM terms))
    OFFSET 0  -- kept a per-chunk probe: pulled up, it became a hash join over whole posting lists
) p
JOIN terms t ON t.lexeme = p.lexeme
