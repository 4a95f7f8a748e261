"""Explicit backpressure: a bounded number of requests run, a bounded queue waits, the rest are told
the service is busy.

Waiting happens here, in the event loop, before the request gets a worker thread or a database
connection: a waiting request holds nothing that a running one needs. A request that cannot be
queued, or that waited longer than the queue timeout, gets 503 with Retry-After and a body that
says the service is busy (the database is fine).
"""

from __future__ import annotations

import asyncio
import json
import math

from starlette.types import ASGIApp, Receive, Scope, Send

# Always answered: probes and scrapers must see a busy service as alive.
# Prefixes: "/docs" covers the offline Swagger UI and ReDoc files under /docs-assets.
EXEMPT_PATHS = ("/health", "/ready", "/metrics", "/docs", "/redoc", "/openapi.json")


class Backpressure:
    def __init__(self, app: ASGIApp, *, concurrency: int, queue: int, timeout_s: float) -> None:
        self.app = app
        self.concurrency = concurrency
        self.queue = queue
        self.timeout_s = timeout_s
        self.running = 0
        self.waiting = 0
        self.rejected = 0
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT_PATHS):
            await self.app(scope, receive, send)
            return
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
        if self.waiting >= self.queue and self._slots.locked():
            await self._busy(send, f"{self.waiting} requests are already queued")
            return
        self.waiting += 1
        try:
            await asyncio.wait_for(self._slots.acquire(), self.timeout_s)
        except TimeoutError:
            await self._busy(send, f"no slot became free within {self.timeout_s:g}s")
            return
        finally:
            self.waiting -= 1
        self.running += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.running -= 1
            self._slots.release()

    async def _busy(self, send: Send, reason: str) -> None:
        self.rejected += 1
        body = json.dumps({"detail": f"service busy: {reason}; retry shortly"}).encode()
        await send({"type": "http.response.start", "status": 503, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(max(1, math.ceil(self.timeout_s / 10))).encode()),
        ]})
        await send({"type": "http.response.body", "body": body})
