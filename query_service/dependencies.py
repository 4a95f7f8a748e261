"""Shared per-request dependencies: the connection pool, the RAG engine and the settings.

No dependency takes a connection: an endpoint takes one where it runs SQL, in its own thread, and
gives it back before it embeds or writes an answer. (A dependency that took a pooled connection
before the endpoint ran let threads waiting for a connection starve the threads holding one.)
"""

from __future__ import annotations

from fastapi import Request
from psycopg_pool import ConnectionPool

from llamapg.rag import RagEngine
from llamapg.settings import Settings


def get_engine(request: Request) -> RagEngine:
    return request.app.state.engine


def get_pool(request: Request) -> ConnectionPool:
    return request.app.state.pool


def get_settings(request: Request) -> Settings:
    return request.app.state.settings
