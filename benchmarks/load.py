"""The query service under concurrent load: a bounded asyncio client against `llamapg serve` on loopback.

    .venv/bin/python -m benchmarks.load --collection handbook [--levels 1,4,16,64,128] [--seconds 20]
                                         [--mode hybrid] [--k 5] [--url URL] [--json FILE]

Without --url it starts `llamapg serve` on a free loopback port in its own process group (with the
current LLAMAPG_* settings), waits for /ready, and stops the whole group afterwards. Each level runs
that many clients, each sending /search requests back to back for --seconds; it prints requests/s,
p50/p99 latency, the responses by status and the server's resident memory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx
import numpy as np

from llamapg import db
from llamapg.settings import get_settings

QUESTIONS = [
    "How large should chunks be?", "Why does chunk overlap matter?", "How do I swap the embedding model?",
    "What does the DMCA say about circumvention?", "How is retrieval quality measured?",
    "What is hybrid retrieval?", "When is the exact plan used?", "How are PDF pages kept?",
    "What does reranking improve?", "How are documents updated atomically?", "What is a collection?",
    "Which tokenizer counts chunk sizes?", "What happens to deleted documents?", "How are vectors stored?",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def served(log: Path) -> Iterator[tuple[str, int]]:
    """`llamapg serve` in its own process group; the group is stopped however this ends."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("llamapg")), "serve", "--host", "127.0.0.1", "--port", str(port)]
    output = log.open("wb")
    process = subprocess.Popen(command, start_new_session=True, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"llamapg serve exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            raise SystemExit("llamapg serve did not become ready within 120 s")
        yield url, process.pid
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        output.close()


def resident_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def api_headers(token: str | None = None) -> dict[str, str]:
    """The Authorization header for the service: `token`, else a new read key in the configured
    database (the one `llamapg serve` uses)."""
    if token is None:
        from llamapg import keys
        from llamapg.bootstrap import prepare_database

        settings = get_settings()
        with db.connection(prepare_database(settings)) as conn:
            token = keys.create(conn, keys.server_secret(settings), "read", None, "benchmark")[1]
    return {"Authorization": f"Bearer {token}"}


async def level(url: str, clients: int, seconds: float, body: dict, headers: dict[str, str]) -> dict:
    latencies: list[float] = []
    statuses: Counter = Counter()
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits, headers=headers) as http:
        async def client(number: int) -> None:
            sent = 0
            while time.monotonic() < deadline:
                question = QUESTIONS[(number + sent) % len(QUESTIONS)]
                started = time.perf_counter()
                try:
                    response = await http.post("/search", json={**body, "question": question})
                    statuses[response.status_code] += 1
                except httpx.HTTPError as exc:
                    statuses[type(exc).__name__] += 1
                latencies.append((time.perf_counter() - started) * 1000)
                sent += 1

        started = time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(clients)))
        elapsed = time.perf_counter() - started
    ok = statuses.get(200, 0)
    return {"clients": clients, "requests_per_s": round(ok / elapsed, 1), "p50_ms": round(float(np.percentile(latencies, 50)), 1),
            "p99_ms": round(float(np.percentile(latencies, 99)), 1), "statuses": dict(statuses),
            "errors": sum(n for status, n in statuses.items() if status != 200)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--collection", required=True)
    parser.add_argument("--levels", default="1,4,16,64,128")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--mode", default="hybrid", choices=["vector", "lexical", "hybrid"])
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--url", help="an already running service (default: start one)")
    parser.add_argument("--key", default=os.environ.get("LLAMAPG_API_KEY"),
                        help="an API key for --url (default: $LLAMAPG_API_KEY, else a new read key in the database)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    body = {"collection": args.collection, "k": args.k, "mode": args.mode}
    headers = api_headers(args.key)
    results = []

    def run(url: str, pid: int | None) -> None:
        print(f"/search, {args.mode}, k={args.k}, collection {args.collection}, {args.seconds:g} s per level")
        print(f"{'clients':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>9} {'errors':>7} {'RSS MB':>7}  statuses")
        for clients in (int(n) for n in args.levels.split(",")):
            row = asyncio.run(level(url, clients, args.seconds, body, headers))
            row["rss_mb"] = resident_mb(pid)
            results.append(row)
            rss = f"{row['rss_mb']:.0f}" if row["rss_mb"] else "-"
            print(f"{clients:>8} {row['requests_per_s']:>8.1f} {row['p50_ms']:>8.1f} {row['p99_ms']:>9.1f} "
                  f"{row['errors']:>7} {rss:>7}  {row['statuses']}", flush=True)

    if args.url:
        run(args.url, None)
    else:
        log = Path(tempfile.gettempdir()) / f"llamapg-load-{os.getpid()}.log"
        with served(log) as (url, pid):
            run(url, pid)
        print(f"server log: {log}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
