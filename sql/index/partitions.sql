-- The model's partitions (one per collection) and each one's HNSW index, if it has one.
SELECT p.relname                               AS partition,
       substring(p.relname FROM '_(\d+)$')::bigint AS collection_id,
       x.relname                               AS index,
       coalesce(ix.indisvalid, false)          AS valid,
       coalesce(x.reloptions, '{}')            AS options,
       coalesce(pg_relation_size(x.oid), 0)    AS size_bytes
FROM pg_inherits h
JOIN pg_class p ON p.oid = h.inhrelid
LEFT JOIN pg_class x ON x.relname = p.relname || '_hnsw' AND x.relkind = 'i'
LEFT JOIN pg_index ix ON ix.indexrelid = x.oid
WHERE h.inhparent = to_regclass(%(table)s)
ORDER BY collection_id
