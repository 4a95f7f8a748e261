INSERT INTO lexical_stats (collection_id, chunks, avg_length)
SELECT %(collection_id)s, count(*), coalesce(avg(lexeme_count), 0)
FROM chunks
WHERE collection_id = %(collection_id)s AND NOT pending
ON CONFLICT (collection_id) DO UPDATE
SET chunks = EXCLUDED.chunks, avg_length = EXCLUDED.avg_length, updated_at = now()
