SELECT c.relname                    AS name,
       i.indisvalid                 AS valid,
       coalesce(c.reloptions, '{}') AS options,
       pg_relation_size(c.oid)      AS size_bytes
FROM pg_class c
JOIN pg_index i ON i.indexrelid = c.oid
WHERE c.relname = %(index)s
