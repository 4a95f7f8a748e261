"""The FastAPI application: `llamapg serve`, or `uvicorn --factory query_service.main:create_app`."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from llamapg import db
from llamapg.bootstrap import prepare_database
from llamapg.embedders.local import use_threads
from llamapg.rag import RagEngine
from llamapg.settings import Settings, get_settings
from query_service import errors
from query_service.backpressure import Backpressure
from query_service.metrics import Metrics
from query_service.routers import collections, documents, health, openai_compat, prompts, query

log = logging.getLogger(__name__)
DOCS_ASSETS_URL = "/docs-assets"


def _start(app: FastAPI, settings: Settings) -> None:
    use_threads(settings.query_threads)
    try:
        url = prepare_database(settings)
    except db.DatabaseUnavailable as exc:
        # Start anyway: requests answer 503 until the database is back, then recover by themselves.
        log.warning("database unavailable at start-up: %s", exc)
        url = db.database_url(settings)
    app.state.pool = db.create_pool(url)
    app.state.pool.open(wait=False)
    try:
        with app.state.pool.connection(timeout=10) as conn:
            model = app.state.engine.warm_up(conn)
            log.info("embedding model %s loaded", model.name)
    except Exception as exc:  # noqa: BLE001 - warming is an optimisation; requests report real errors
        log.warning("could not warm up the embedding model: %s", exc)


@asynccontextmanager
async def lifespan(app: FastAPI):
    from starlette.concurrency import run_in_threadpool

    await run_in_threadpool(_start, app, app.state.settings)
    try:
        yield
    finally:
        app.state.pool.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # /docs and /redoc from files in the fastapi-offline package, not from a CDN: they work offline.
    app = FastAPIOffline(
        static_url=DOCS_ASSETS_URL,
        title="llamapg",
        version="0.1.0",
        description="Retrieval-augmented answers from PostgreSQL + pgvector, with the source chunks and their scores.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    # Loads and validates prompts.yaml: an invalid file stops start-up with a clear error.
    app.state.engine = RagEngine(settings)
    app.state.metrics = Metrics()
    app.state.metrics.install(app)
    errors.install(app)
    app.add_middleware(Backpressure, concurrency=settings.max_concurrent_requests,
                       queue=settings.max_queued_requests, timeout_s=settings.queue_timeout_s)
    for router in (health, query, collections, documents, prompts, openai_compat):
        app.include_router(router.router)
    return app


