-- What the plans are chosen from, in one round trip and O(1) in the collection's size: its live
-- chunks (kept by triggers), whether its partition's HNSW index is valid, the most matching chunks
-- the exact vector plan and exact BM25 each score (exact_max_rows, or up to their selective maximum
-- when that is at most their share of the collection), and, with metadata filters, how many live
-- chunks match them, summed over the matching documents no further than the larger of those limits
-- (retrieval/count_matches.sql).
WITH limits AS (
    SELECT chunks,
           greatest(%(exact_max_rows)s,
                    least(floor(%(exact_max_fraction)s * chunks), %(exact_selective_max_rows)s))::bigint AS exact_limit,
           greatest(%(exact_max_rows)s,
                    least(floor(%(lexical_exact_max_fraction)s * chunks),
                          %(lexical_exact_selective_max_rows)s))::bigint AS lexical_exact_limit
    FROM (SELECT coalesce((SELECT chunks FROM lexical_stats WHERE collection_id = %(collection_id)s), 0) AS chunks) live
), collection AS (
    SELECT limits.*, greatest(exact_limit, lexical_exact_limit) AS count_limit FROM limits
)
SELECT collection.chunks, collection.exact_limit, collection.lexical_exact_limit,
       coalesce((SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(%(index)s)), false) AS index_ready,
       {matches} AS matches
FROM collection
