INSERT INTO api_keys (name, prefix, digest, role, collections)
VALUES (%(name)s, %(prefix)s, %(digest)s, %(role)s, %(collections)s)
RETURNING id, name, prefix, role, collections, created_at, revoked_at
