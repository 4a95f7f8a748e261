INSERT INTO lexical_terms (collection_id, lexeme, df)
SELECT %(collection_id)s, u.lexeme, count(*)
FROM chunks c CROSS JOIN LATERAL unnest(c.lexemes) AS u
WHERE c.collection_id = %(collection_id)s AND NOT c.pending
GROUP BY u.lexeme
