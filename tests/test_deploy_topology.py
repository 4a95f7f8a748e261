"""The production topology without containers: the commands of docker-compose.yml's `code`,
`dagster-webserver` and `dagster-daemon` services, with deploy/dagster.yaml and
deploy/workspace.yaml, against the embedded database. Runs are submitted through Dagster's GraphQL
API, queued by the daemon, launched by the code server, and the documents become searchable through
the query API. Plus the configuration checks that need no container engine."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import httpx
import pytest
import yaml
from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError
from fastapi.testclient import TestClient

from llamapg import collections, db
from llamapg.settings import REPO_ROOT, get_settings
from pipelines.ingest import register_partitions
from query_service.main import create_app
from tests.support.api import api_client
from tests.support.pipeline import MODEL
from tests.test_run_script import free_port, wait_for

DEPLOY = REPO_ROOT / "deploy"
BIN = Path(sys.executable).parent


def compose() -> dict:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


def service_command(name: str) -> list[str]:
    return compose()["services"][name]["command"]


@pytest.fixture
def topology(database_url, tmp_path, monkeypatch):
    """The three Dagster services, each in its own process group, stopped however the test ends."""
    settings_db = f"dagster_topology_{os.getpid()}"
    monkeypatch.setenv("LLAMAPG_DAGSTER_DATABASE_NAME", settings_db)
    get_settings.cache_clear()
    settings = get_settings()
    db.ensure_database(db.dagster_storage_url(settings), db.server_url(settings))
    code_port, web_port = free_port(), free_port()
    environment = {
        "DAGSTER_HOME": str(DEPLOY),
        "LLAMAPG_DAGSTER_STORAGE_URL": db.dagster_storage_url(settings),
        "LLAMAPG_DAGSTER_ARTIFACTS": str(tmp_path / "dagster"),
        "LLAMAPG_CODE_SERVER_HOST": "127.0.0.1",
        "LLAMAPG_CODE_SERVER_PORT": str(code_port),
    }
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    # The compose services' own commands; only where they listen differs (loopback, free ports).
    code = [arg.replace("0.0.0.0", "127.0.0.1").replace("4000", str(code_port)) for arg in service_command("code")]
    web = [arg.replace("0.0.0.0", "127.0.0.1").replace("3000", str(web_port))
           .replace("/app/deploy", str(DEPLOY)) for arg in service_command("dagster-webserver")]
    daemon = [arg.replace("/app/deploy", str(DEPLOY)) for arg in service_command("dagster-daemon")]
    processes = []
    try:
        for name, command in (("code", code), ("webserver", web), ("daemon", daemon)):
            log = (tmp_path / f"{name}.log").open("wb")
            processes.append(subprocess.Popen([str(BIN / command[0]), *command[1:]], cwd=REPO_ROOT, stdout=log,
                                              stderr=subprocess.STDOUT, start_new_session=True))
        yield {"web_port": web_port, "code_port": code_port, "logs": tmp_path, "processes": processes}
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def run_to_success(client: DagsterGraphQLClient, job: str, tags: dict[str, str], logs: Path) -> None:
    deadline = time.monotonic() + 60
    while True:  # the webserver may still be connecting to the code location it was started with
        try:
            run_id = client.submit_job_execution(job, repository_location_name="llamapg",
                                                 repository_name="__repository__", tags=tags)
            break
        except DagsterGraphQLClientError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    deadline = time.monotonic() + 240
    status = None
    while time.monotonic() < deadline:
        status = client.get_run_status(run_id)
        if status in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
            break
        time.sleep(1)
    assert status == dg.DagsterRunStatus.SUCCESS, (job, status, *(p.read_text()[-3000:] for p in logs.glob("*.log")))


def test_the_production_topology_runs_an_ingest_submitted_over_graphql(conn, topology, collection_dir):
    client = DagsterGraphQLClient("127.0.0.1", port_number=topology["web_port"], timeout=30)

    def code_server_healthy() -> bool:  # what the compose `code` service's health check runs
        return subprocess.run([str(BIN / "dagster"), "api", "grpc-health-check", "-p", str(topology["code_port"]),
                               "-h", "127.0.0.1"], capture_output=True).returncode == 0

    def webserver_up() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{topology['web_port']}/server_info", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(code_server_healthy, 180, "the gRPC code server")
    wait_for(webserver_up, 180, "the webserver")
    assert all(process.poll() is None for process in topology["processes"])
    validate_definitions(DEPLOY / "workspace.yaml")  # the gRPC workspace, against the running code server

    collections.register(conn, "docs", str(collection_dir))
    register_partitions(dg.DagsterInstance.get(), "docs", [MODEL])
    run_to_success(client, "ingest_collection", {"dagster/partition": "docs"}, topology["logs"])
    run_to_success(client, "embed_collection", {"dagster/partition": f"docs|{MODEL}",
                                                "dagster/partition/collection": "docs",
                                                "dagster/partition/model": MODEL}, topology["logs"])

    with api_client() as api:
        found = api.post("/search", json={"question": "Who built the Pharos of Alexandria?", "collection": "docs",
                                          "k": 1})
    assert found.status_code == 200 and found.json()["sources"][0]["source"] == "lighthouses.txt"


def test_compose_file_and_instance_are_valid_without_a_container_engine(tmp_path):
    services = compose()["services"]
    assert {"db", "migrate", "code", "dagster-webserver", "dagster-daemon", "api", "embeddings"} <= set(services)
    assert services["db"]["image"].startswith("pgvector/pgvector:")
    assert services["embeddings"]["profiles"] == ["gpu"]
    # Published only on loopback unless LLAMAPG_BIND says otherwise; no default password.
    for name in ("dagster-webserver", "api"):
        assert all(port.startswith("${LLAMAPG_BIND:-127.0.0.1}:") for port in services[name]["ports"])
    assert "POSTGRES_PASSWORD:?" in (REPO_ROOT / "docker-compose.yml").read_text()
    docker_compose = shutil.which("docker-compose")
    if docker_compose:  # .ci/run installs it; a developer's machine may not have it
        def config(env: str) -> subprocess.CompletedProcess:
            (tmp_path / ".env").write_text(env)
            return subprocess.run([docker_compose, "--env-file", str(tmp_path / ".env"), "config", "-q"],
                                  cwd=REPO_ROOT, capture_output=True, text=True, env={"PATH": os.environ["PATH"]})

        example = (DEPLOY / "env.example").read_text()
        # The example as it is does not start: its secrets are empty placeholders.
        as_shipped = config(example)
        assert as_shipped.returncode != 0 and "POSTGRES_PASSWORD" in as_shipped.stderr
        filled = example.replace("POSTGRES_PASSWORD=\n", "POSTGRES_PASSWORD=p4ss\n").replace(
            "LLAMAPG_API_KEY_SECRET=\n", "LLAMAPG_API_KEY_SECRET=s3cret\n")
        checked = config(filled)
        assert checked.returncode == 0, checked.stderr
        without_password = config("")
        assert without_password.returncode != 0 and "POSTGRES_PASSWORD" in without_password.stderr
        without_secret = config("POSTGRES_PASSWORD=x\n")
        assert without_secret.returncode != 0 and "LLAMAPG_API_KEY_SECRET" in without_secret.stderr

    # The production instance's configuration is valid Dagster instance configuration.
    from dagster._config import validate_config
    from dagster._core.instance.config import dagster_instance_config_schema

    instance_config = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    validated = validate_config(dagster_instance_config_schema(), instance_config)
    assert validated.success, validated.errors


def validate_definitions(workspace: Path, environment: dict[str, str] | None = None) -> None:
    result = subprocess.run([str(BIN / "dagster"), "definitions", "validate", "-w", str(workspace)], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=300, env={**os.environ, **(environment or {})})
    assert result.returncode == 0, result.stdout + result.stderr


def test_dagster_definitions_validate_on_the_local_workspace(database_url):
    from llamapg.bootstrap import prepare_database
    from pipelines.instance import dagster_environment

    prepare_database()
    validate_definitions(REPO_ROOT / "workspace.yaml", dagster_environment())  # as `llamapg dagster` runs it


def test_helm_values_match_the_chart_and_the_compose_services():
    """What can be checked offline: the keys Dagster's chart reads, and the same code location and
    run limits as the compose stack's instance."""
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    code = service_command("code")
    assert deployment["codeServerArgs"] == ["-m", code[code.index("-m") + 1]]
    assert deployment["port"] == 4000 and {"repository", "tag"} <= set(deployment["image"])
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["postgresql"]["enabled"] is False
    coordinator = values["dagsterDaemon"]["runCoordinator"]
    assert coordinator["type"] == "QueuedRunCoordinator"
    instance = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    per_partition = [limit for limit in instance["concurrency"]["runs"]["tag_concurrency_limits"]
                     if limit["key"] == "dagster/partition"]
    assert per_partition == [limit for limit in coordinator["config"]["queuedRunCoordinator"]["tagConcurrencyLimits"]
                             if limit["key"] == "dagster/partition"]
    assert values["dagsterDaemon"]["runMonitoring"]["enabled"] and values["dagsterDaemon"]["runRetries"]["enabled"]
