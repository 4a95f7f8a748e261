"""Bring a database to a usable state: server up, databases created, schema migrated, default model."""

from __future__ import annotations

import logging

from llamapg import db, migrations, models
from llamapg.settings import Settings, get_settings

log = logging.getLogger(__name__)
_prepared: set[str] = set()


def prepare_database(settings: Settings | None = None, url: str | None = None) -> str:
    """Idempotently prepare llamapg's database and return its URL.

    Starts the embedded server when no DATABASE_URL is set, creates llamapg's and Dagster's
    databases, applies pending migrations and registers the default model.
    """
    settings = settings or get_settings()
    url = url or db.database_url(settings)
    if url in _prepared:
        return url
    maintenance = db.server_url(settings)
    db.ensure_database(url, maintenance)
    db.ensure_database(db.dagster_storage_url(settings), maintenance)
    with db.connect(url, vectors=False) as conn:
        applied = migrations.migrate(conn)
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))
        models.register_default(conn, settings.default_model)
    _prepared.add(url)
    return url
