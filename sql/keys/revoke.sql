-- By id, or by the key's prefix as `keys list` shows it.
UPDATE api_keys SET revoked_at = now()
WHERE revoked_at IS NULL AND (id::text = %(key)s OR prefix = %(key)s)
RETURNING id, name, prefix, role, collections, created_at, revoked_at
