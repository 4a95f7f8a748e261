-- Each query term's postings read best first (impact order), at most postings_per_term of them, so
-- the work does not grow with the number of chunks that share a common word. The chunks read are
-- ranked by this partial score (metadata filters applied to them), and the best `rescore` of them
-- are then scored exactly over all the query's terms: a chunk outside a common term's top
-- postings still gets that term.
SELECT r.chunk_id
FROM terms t
CROSS JOIN stats st
CROSS JOIN LATERAL (
    SELECT p.chunk_id, p.document_id, p.tf, p.length
    FROM lexical_postings p
    WHERE p.collection_id = %(collection_id)s AND p.lexeme = t.lexeme
    ORDER BY p.rank DESC
    LIMIT %(postings_per_term)s
) r
{filtered}
GROUP BY r.chunk_id
ORDER BY sum(bm25_term(t.idf, r.tf, r.length, st.avg_length, %(k1)s, %(b)s)) DESC, r.chunk_id
LIMIT %(rescore)s
