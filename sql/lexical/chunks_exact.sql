-- Every matching live chunk: the cost is O(matching chunks x query terms), the score exact. Used
-- when few chunks match.
SELECT c.id AS chunk_id FROM chunks c
WHERE c.collection_id = %(collection_id)s AND NOT c.pending {filters}
OFFSET 0
