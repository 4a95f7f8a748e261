-- Each query term's postings read best first (impact order), at most postings_per_term of them, so
-- the work does not grow with the number of chunks that share a common word. The chunks read are
-- ranked by this partial score, and the best `rescore` of them that pass the metadata filters are
-- then scored exactly over all the query's terms: a chunk outside a common term's top postings
-- still gets that term. The filters are checked in rank order (the OFFSET 0 fence keeps them out
-- of the ranking), so only until `rescore` chunks have passed, not for every posting read.
SELECT ranked.chunk_id
FROM (
    SELECT r.chunk_id, sum(bm25_term(t.idf, r.tf, r.length, st.avg_length, %(k1)s, %(b)s)) AS partial
    FROM terms t
    CROSS JOIN stats st
    CROSS JOIN LATERAL (
        SELECT p.chunk_id, p.tf, p.length
        FROM lexical_postings p
        WHERE p.collection_id = %(collection_id)s AND p.lexeme = t.lexeme
        ORDER BY p.rank DESC
        LIMIT %(postings_per_term)s
    ) r
    GROUP BY r.chunk_id
    ORDER BY partial DESC, r.chunk_id
    OFFSET 0
) ranked
{filtered}
LIMIT %(rescore)s
