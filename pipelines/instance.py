"""The persistent Dagster instance: dagster.yaml in the repo, storage in Postgres beside llamapg's data."""

from __future__ import annotations

import os

import dagster as dg

from llamapg import db
from llamapg.bootstrap import prepare_database
from llamapg.settings import REPO_ROOT, Settings, get_settings


def dagster_environment(settings: Settings | None = None) -> dict[str, str]:
    """What dagster.yaml reads: DAGSTER_HOME, the storage URL and the artifacts folder."""
    settings = settings or get_settings()
    return {
        "DAGSTER_HOME": os.environ.get("DAGSTER_HOME") or str(REPO_ROOT),
        "LLAMAPG_DAGSTER_STORAGE_URL": db.dagster_storage_url(settings),
        "LLAMAPG_DAGSTER_ARTIFACTS": str((settings.home / "dagster").expanduser().resolve()),
    }


def dagster_instance(settings: Settings | None = None) -> dg.DagsterInstance:
    """The instance the UI reads; its storage database is created first if needed."""
    prepare_database(settings)
    os.environ.update(dagster_environment(settings))
    return dg.DagsterInstance.get()
