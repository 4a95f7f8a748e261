SELECT id, name, prefix, role, collections, created_at, revoked_at
FROM api_keys
ORDER BY id
