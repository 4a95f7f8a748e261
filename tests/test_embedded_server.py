"""The embedded server runs with llamapg's settings: shared_buffers sized to the machine (or as
configured), taken at the first start of a new data directory and at every later start."""

from __future__ import annotations

import psycopg
import pytest

from llamapg import embedded


def shared_buffers(url: str) -> str:
    with psycopg.connect(url) as conn:
        return conn.execute("SHOW shared_buffers").fetchone()[0]


@pytest.mark.parametrize("memory_mb, expected", [(256, "128MB"), (4096, "1024MB"), (24_000, "6000MB"),
                                                 (100_000, "8192MB")])
def test_auto_shared_buffers_is_a_quarter_of_the_memory_within_bounds(monkeypatch, memory_mb, expected):
    monkeypatch.setattr(embedded, "memory_bytes", lambda: memory_mb * 2**20)
    assert embedded.server_settings("auto") == {"shared_buffers": expected}
    assert embedded.server_settings("2GB") == {"shared_buffers": "2GB"}


def test_the_memory_is_the_machines_at_most():
    import os

    assert 0 < embedded.memory_bytes() <= os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def test_a_new_server_starts_with_the_settings_and_a_running_one_takes_changes_at_restart(tmp_path):
    pgdata = tmp_path / "tuned" / "pgdata"
    try:
        url = embedded.start(pgdata, "256MB")
        assert shared_buffers(url) == "256MB"  # initdb and the first start are one call: restarted once
        assert "include_if_exists = 'llamapg.conf'" in (pgdata / "postgresql.conf").read_text()

        url = embedded.start(pgdata, "384MB")  # attached to the running server: no restart under its users
        assert shared_buffers(url) == "256MB"
        assert "384MB" in (pgdata / "llamapg.conf").read_text()

        embedded.stop(pgdata)
        url = embedded.start(pgdata, "384MB")
        assert shared_buffers(url) == "384MB"
        assert (pgdata / "postgresql.conf").read_text().count("include_if_exists = 'llamapg.conf'") == 1
    finally:
        embedded.stop(pgdata)
