"""GET /health (the process is alive), GET /ready (it can answer): open to probes, they say nothing of
the data. GET /metrics (Prometheus): admin keys only."""

import logging

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from llamapg import models
from query_service.auth import admin
from query_service.schemas import HealthResponse, ReadyResponse

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthResponse)
def health() -> HealthResponse:
    return HealthResponse(status="ok")


@router.get("/ready", response_model=ReadyResponse, responses={503: {"model": ReadyResponse}})
def ready(request: Request):
    """The database answers and the active embedding model is loaded."""
    try:
        with request.app.state.pool.connection(timeout=2) as conn:
            active = models.active(conn)
    except Exception as exc:  # noqa: BLE001 - any failure here means "not ready"
        # Probes need no key: the cause (server addresses, socket paths) goes to the log, not to them.
        log.warning("not ready: database: %s", exc)
        return JSONResponse(status_code=503, content={"status": "unavailable", "detail": "database unavailable"})
    if active is None:
        return JSONResponse(status_code=503, content={"status": "unavailable", "detail": "no active embedding model"})
    try:
        request.app.state.engine.embedder(active)  # loaded once; after a model switch, loaded here
    except Exception as exc:  # noqa: BLE001
        log.warning("not ready: embedding model %s: %s", active.name, exc)
        return JSONResponse(status_code=503, content={"status": "unavailable", "model": active.name,
                                                      "detail": "embedding model cannot be loaded"})
    return ReadyResponse(status="ready", model=active.name)


@router.get("/metrics", response_class=Response, dependencies=[Depends(admin)])
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
