-- Ground truth for the recall check: MATERIALIZED keeps the planner off the index.
WITH scored AS MATERIALIZED (
    SELECT content_hash, embedding <=> %(query)s AS distance FROM {vectors} WHERE collection_id = %(collection_id)s)
SELECT content_hash FROM scored ORDER BY distance LIMIT %(k)s
