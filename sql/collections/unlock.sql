SELECT pg_advisory_unlock(hashtext(%(stage)s), %(collection_id)s::int)
