"""Shared per-request dependencies: a pooled connection and the RAG engine."""

from __future__ import annotations

from typing import Iterator

import psycopg
from fastapi import Request

from llamapg.rag import RagEngine
from llamapg.settings import Settings


def get_engine(request: Request) -> RagEngine:
    return request.app.state.engine


def get_connection(request: Request) -> Iterator[psycopg.Connection]:
    with request.app.state.pool.connection() as conn:
        yield conn


def get_settings(request: Request) -> Settings:
    return request.app.state.settings
