-- What the plan is chosen from, in one round trip and O(1) in the collection's size: its live chunks
-- (kept by triggers), whether its partition's HNSW index is valid, the most matching chunks the
-- exact plan searches (exact_max_rows, or up to exact_selective_max_rows when that is at most
-- exact_max_fraction of the collection), and, with metadata filters, how many live chunks match
-- them, summed over the matching documents no further than that limit (retrieval/count_matches.sql).
WITH collection AS (
    SELECT chunks,
           greatest(%(exact_max_rows)s,
                    least(floor(%(exact_max_fraction)s * chunks), %(exact_selective_max_rows)s))::bigint AS exact_limit
    FROM (SELECT coalesce((SELECT chunks FROM lexical_stats WHERE collection_id = %(collection_id)s), 0) AS chunks) live
)
SELECT collection.chunks, collection.exact_limit,
       coalesce((SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(%(index)s)), false) AS index_ready,
       {matches} AS matches
FROM collection
