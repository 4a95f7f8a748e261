"""`make run`'s script stops cleanly: Ctrl-C (SIGINT to its process group, as a terminal sends it)
or SIGTERM ends the Dagster UI, its daemon and code server, and the API within seconds, leaving no
process behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import httpx
import psutil
import pytest
from click.testing import CliRunner

from llamapg.cli import main
from llamapg.settings import REPO_ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_run_script_stops_everything_it_started(database_url, tmp_path, monkeypatch, signal_number):
    ingested = CliRunner().invoke(main, ["ingest", str(REPO_ROOT / "samples" / "handbook"), "-c", "handbook", "-q"])
    assert ingested.exit_code == 0, ingested.output
    api_port, ui_port = free_port(), free_port()
    monkeypatch.setenv("LLAMAPG_API_PORT", str(api_port))
    monkeypatch.setenv("LLAMAPG_DAGSTER_PORT", str(ui_port))
    output = tmp_path / "run.out"
    with output.open("w") as sink:
        script = subprocess.Popen(["bash", "scripts/run.sh"], cwd=REPO_ROOT, stdout=sink, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: "Serving until Ctrl-C." in output.read_text() or script.poll() is not None, 180,
                 "the API and the sample answer")
        assert script.poll() is None, output.read_text()
        wait_for(lambda: answers(f"http://127.0.0.1:{ui_port}/server_info"), 180, "the Dagster UI")
        started = psutil.Process(script.pid).children(recursive=True)
        groups = {os.getpgid(p.pid) for p in started}
        names = " ".join(" ".join(p.cmdline()) for p in started)
        # The API, `dagster dev`, and the webserver, daemon and code server it runs.
        for part in ("llamapg serve", "dagster dev", "dagster_webserver", "dagster._daemon", "code-server"):
            assert part in names

        os.killpg(script.pid, signal_number)
        script.wait(timeout=60)
        _, alive = psutil.wait_procs(started, timeout=10)
        assert alive == [], [" ".join(p.cmdline()) for p in alive]
        assert "stopped the Dagster UI and the query API" in output.read_text()
        assert not answers(f"http://127.0.0.1:{api_port}/health")
    finally:  # whatever the outcome, nothing of this test's outlives it
        for group in {script.pid} | locals().get("groups", set()):
            try:
                os.killpg(group, signal.SIGKILL)
            except ProcessLookupError:
                pass
