"""The FastAPI application: `llamapg serve`, or `uvicorn --factory query_service.main:create_app`."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from llamapg import db, keys
from llamapg.bootstrap import prepare_database
from llamapg.embedders.local import use_threads
from llamapg.rag import RagEngine
from llamapg.settings import Settings, get_settings
from query_service import errors
from query_service.backpressure import Backpressure
from query_service.limits import BodyLimit
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
            if settings.auth and not any(key.revoked_at is None for key in keys.list_keys(conn)):
                log.warning("no API key exists yet: every request will be refused with 401 until one is "
                            "created with `llamapg keys create --role read|write|admin`")
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
    app.state.keys = keys.KeyCache(keys.server_secret(settings), settings.api_key_cache_s)
    _warn_if_exposed(settings)
    errors.install(app)
    # Added innermost first: a request meets the Host check, then CORS, the body limit, the queue.
    app.add_middleware(Backpressure, concurrency=settings.max_concurrent_requests,
                       queue=settings.max_queued_requests, timeout_s=settings.queue_timeout_s)
    app.add_middleware(BodyLimit, settings=settings)
    if settings.cors_origin_list:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origin_list, allow_credentials=False,
                           allow_methods=["GET", "POST", "DELETE"], allow_headers=["Authorization", "Content-Type"])
    # Host headers outside the list get 400: a page on another site cannot reach the API through a
    # DNS name rebound to this machine.
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.trusted_host_list or ["localhost"])
    for router in (health, query, collections, documents, prompts, openai_compat):
        app.include_router(router.router)
    return app


def _warn_if_exposed(settings: Settings) -> None:
    if settings.auth:
        return
    if settings.loopback_only:
        log.warning("LLAMAPG_AUTH is off: every request acts as an admin key (loopback only)")
    else:
        log.critical(
            "\n%s\nLLAMAPG_AUTH is off and the API is bound to %s, beyond loopback: anyone who reaches this "
            "port can read, upload and delete every collection's documents. Turn LLAMAPG_AUTH on "
            "(the default) and create keys with `llamapg keys create`.\n%s", "!" * 78, settings.api_host, "!" * 78)


