SELECT id, name, prefix, role, collections, created_at, revoked_at
FROM api_keys
WHERE digest = %(digest)s AND revoked_at IS NULL
