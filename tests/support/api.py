"""The query service in process with an API key: how every API test talks to it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from llamapg import db, keys
from llamapg.settings import Settings, get_settings
from query_service.main import create_app


def issue_key(settings: Settings | None = None, role: str = "admin", collections: list[str] | None = None) -> str:
    """A new key in the settings' database (migrated first), as `llamapg keys create` makes them."""
    from llamapg.bootstrap import prepare_database

    settings = settings or get_settings()
    with db.connection(prepare_database(settings)) as conn:
        return keys.create(conn, keys.server_secret(settings), role, collections, "test")[1]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def api_client(settings: Settings | None = None, role: str = "admin", collections: list[str] | None = None,
               **client_options) -> TestClient:
    """A TestClient (use it in `with`) sending a new key of `role`, addressed as http://localhost
    (a trusted host by default)."""
    settings = settings or get_settings()
    token = issue_key(settings, role, collections)
    return TestClient(create_app(settings), base_url="http://localhost", headers=bearer(token), **client_options)
