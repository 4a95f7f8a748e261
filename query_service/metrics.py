"""Prometheus metrics: requests by route and status, latency per request and per query stage."""

from __future__ import annotations

import time

from fastapi import FastAPI, Request
from prometheus_client import CollectorRegistry, Counter, Histogram

STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    """One registry per app, so that several apps (tests) never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "llamapg_http_requests_total", "HTTP requests", ["route", "method", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "llamapg_http_request_seconds", "HTTP request latency", ["route", "method"],
            buckets=STAGE_BUCKETS, registry=self.registry,
        )
        self.stages = Histogram(
            "llamapg_stage_seconds", "Time per query stage (embed, retrieve, rerank, context, generate)", ["stage"],
            buckets=STAGE_BUCKETS, registry=self.registry,
        )

    def observe_stages(self, timings_ms: dict[str, float]) -> None:
        for stage, ms in timings_ms.items():
            if stage != "total":
                self.stages.labels(stage).observe(ms / 1000)

    def install(self, app: FastAPI) -> None:
        @app.middleware("http")
        async def measure(request: Request, call_next):
            started = time.perf_counter()
            response = await call_next(request)
            route = request.scope.get("route")
            path = getattr(route, "path", "unmatched")
            self.requests.labels(path, request.method, str(response.status_code)).inc()
            self.latency.labels(path, request.method).observe(time.perf_counter() - started)
            return response
