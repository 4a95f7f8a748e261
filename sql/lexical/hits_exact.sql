-- Every matching live chunk's postings for the query's terms: one index probe per (chunk, term)
-- (LATERAL: never a scan of the terms' whole posting lists), so the cost is O(matching chunks x
-- query terms), exact. Used when few chunks match.
SELECT t.idf, p.chunk_id, p.tf, p.length
FROM (SELECT c.id AS chunk_id FROM chunks c
      WHERE c.collection_id = %(collection_id)s AND NOT c.pending {filters} OFFSET 0) matching
CROSS JOIN LATERAL (
    SELECT p.chunk_id, p.lexeme, p.tf, p.length FROM lexical_postings p
    WHERE p.chunk_id = matching.chunk_id AND p.lexeme = ANY (ARRAY(SELECT lexeme FROM terms))
    OFFSET 0  -- kept a per-chunk probe: pulled up, it became a hash join over whole posting lists
) p
JOIN terms t ON t.lexeme = p.lexeme
