"""API keys: each has a role (read < write < admin) over named collections or all of them.

A key is `lpg_` and 43 random URL-safe characters (256 bits), shown once when created. The
database holds only its HMAC-SHA256 under the server's secret, so neither a copy of the database
nor one of the secret alone gives a usable key. A key is looked up by that digest, in one indexed
statement; the query service keeps verified keys for `api_key_cache_s`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg

from llamapg import queries
from llamapg.private_files import create_private_file, private_dir
from llamapg.settings import Settings

ROLES = ("read", "write", "admin")
TOKEN_PREFIX = "lpg_"
# "lpg_" and the first 8 random characters: enough to tell keys apart, useless to guess the rest.
SHOWN_PREFIX_LENGTH = len(TOKEN_PREFIX) + 8
SECRET_FILE = "api-key-secret"


class KeyRejected(ValueError):
    """A key that cannot be created or found; the message says why."""


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    prefix: str
    role: str
    collections: tuple[str, ...] | None
    created_at: datetime | None = None
    revoked_at: datetime | None = None

    def sees(self, collection: str) -> bool:
        return self.collections is None or collection in self.collections

    def may(self, role: str) -> bool:
        """The key's role is at least `role`."""
        return ROLES.index(self.role) >= ROLES.index(role)

    @property
    def scope(self) -> str:
        return "all collections" if self.collections is None else ", ".join(self.collections)


# The key every request acts as when LLAMAPG_AUTH is off.
UNRESTRICTED = ApiKey(id=0, name="auth off", prefix="", role="admin", collections=None)


def server_secret(settings: Settings) -> bytes:
    """LLAMAPG_API_KEY_SECRET, else the secret in LLAMAPG_HOME/api-key-secret, made on first use."""
    if settings.api_key_secret:
        return settings.api_key_secret.encode()
    path = settings.home.expanduser().resolve() / SECRET_FILE
    if not path.exists():
        private_dir(path.parent)
        try:
            with create_private_file(path) as out:
                out.write(secrets.token_hex(32).encode())
        except FileExistsError:  # another process made it first
            pass
    return path.read_text().strip().encode()


def digest(secret: bytes, token: str) -> str:
    return hmac.new(secret, token.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def _key(row) -> ApiKey:
    collections = tuple(row["collections"]) if row["collections"] is not None else None
    return ApiKey(row["id"], row["name"], row["prefix"], row["role"], collections, row["created_at"],
                  row["revoked_at"])


def create(conn: psycopg.Connection, secret: bytes, role: str, collections: list[str] | None = None,
           name: str = "") -> tuple[ApiKey, str]:
    """A new key and its token (the only time the token exists outside the client)."""
    from llamapg.collections import validate_name

    if role not in ROLES:
        raise KeyRejected(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    scope = sorted({validate_name(c) for c in collections}) if collections else None
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = conn.execute(queries.load("keys/insert"), {
        "name": name, "prefix": token[:SHOWN_PREFIX_LENGTH], "digest": digest(secret, token), "role": role,
        "collections": scope,
    }).fetchone()
    return _key(row), token


def list_keys(conn: psycopg.Connection) -> list[ApiKey]:
    return [_key(row) for row in conn.execute(queries.load("keys/list"))]


def revoke(conn: psycopg.Connection, key: str) -> list[ApiKey]:
    """Revoke by id or by the prefix `keys list` shows; the keys revoked (none: unknown or revoked)."""
    return [_key(row) for row in conn.execute(queries.load("keys/revoke"), {"key": key})]


def find(conn: psycopg.Connection, secret: bytes, token: str) -> ApiKey | None:
    """The live key `token` is, or None (unknown or revoked)."""
    row = conn.execute(queries.load("keys/by_digest"), {"digest": digest(secret, token)}).fetchone()
    return _key(row) if row else None


class KeyCache:
    """Verified keys by digest for `ttl_s` seconds: most requests verify without a database round trip."""

    def __init__(self, secret: bytes, ttl_s: float) -> None:
        self.secret = secret
        self.ttl_s = ttl_s
        self._known: dict[str, tuple[float, ApiKey]] = {}
        self._lock = threading.Lock()

    def verify(self, pool, token: str) -> ApiKey | None:
        """The live key `token` is, or None (malformed, unknown or revoked)."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        key_digest = digest(self.secret, token)
        now = time.monotonic()
        with self._lock:
            cached = self._known.get(key_digest)
        if cached and cached[0] > now:
            return cached[1]
        with pool.connection() as conn:
            key = find(conn, self.secret, token)
        if key is None:
            return None
        with self._lock:
            if len(self._known) > 10_000:
                self._known.clear()
            self._known[key_digest] = (now + self.ttl_s, key)
        return key


def local_key_file(settings: Settings) -> Path:
    return settings.home.expanduser().resolve() / "local-api-key"
