-- Take the collection's lock for one stage of work (see llamapg.collections.exclusive), if free.
SELECT pg_try_advisory_lock(hashtext(%(stage)s), %(collection_id)s::int) AS taken
