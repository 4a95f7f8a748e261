-- API keys: only an HMAC-SHA256 of each key is stored (under the server's secret), with the first
-- characters of the key to tell keys apart in listings. `collections` NULL means every collection.
CREATE TABLE api_keys (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL DEFAULT '',
    prefix      text NOT NULL,
    digest      text NOT NULL UNIQUE,
    role        text NOT NULL CHECK (role IN ('read', 'write', 'admin')),
    collections text[],
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
