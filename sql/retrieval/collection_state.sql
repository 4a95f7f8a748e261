-- What the plan is chosen from, in one round trip and O(1) in the collection's size: its live chunks
-- (kept by triggers), whether its partition's HNSW index is valid, and, with metadata filters, how
-- many live chunks match them, summed over the matching documents (sql/retrieval/count_matches.sql)
-- no further than the exact plan's limit: exact_max_rows, or exact_max_fraction of the collection.
WITH collection AS (
    SELECT coalesce((SELECT chunks FROM lexical_stats WHERE collection_id = %(collection_id)s), 0) AS chunks
)
SELECT collection.chunks,
       coalesce((SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(%(index)s)), false) AS index_ready,
       {matches} AS matches
FROM collection
