-- Every live chunk that holds a query term, read from the terms' posting lists: the exact set BM25
-- scores above zero, for an unfiltered slice small enough for the exact plan. O(postings of the
-- query's terms), not O(chunks): probing every chunk of the slice cost 5 ms at 800 chunks.
SELECT DISTINCT p.chunk_id
FROM terms t
JOIN lexical_postings p ON p.collection_id = %(collection_id)s AND p.lexeme = t.lexeme
