"""GET /collections and GET /collections/{name}."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from psycopg_pool import ConnectionPool

from llamapg import collections, models, quality, queries
from llamapg.indexes import index_status
from llamapg.keys import ApiKey
from query_service.auth import check_collection, reader
from query_service.dependencies import get_pool
from query_service.schemas import CollectionDetail, CollectionSummary, DocumentSummary, ModelCoverage

router = APIRouter(tags=["collections"])


def _summary(row: dict, key: ApiKey) -> dict:
    """A collection's row as this key may see it: the server's directory only for admin keys."""
    return {**row, "source": row["source"] if key.may("admin") else None}


@router.get("/collections", response_model=list[CollectionSummary])
def list_collections(pool: ConnectionPool = Depends(get_pool), key: ApiKey = Depends(reader)) -> list[CollectionSummary]:
    """The collections this key may use."""
    with pool.connection() as conn:
        rows = conn.execute(queries.load("collections/summaries"), {"name": None}).fetchall()
    return [CollectionSummary(**_summary(row, key)) for row in rows if key.sees(row["name"])]


@router.get("/collections/{name}", response_model=CollectionDetail, responses={404: {"description": "Unknown collection"}})
def get_collection(
    name: str,
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0),
    pool: ConnectionPool = Depends(get_pool),
    key: ApiKey = Depends(reader),
) -> CollectionDetail:
    """The collection's documents (paged), chunk counts, and each model's coverage and index."""
    check_collection(key, name)
    with pool.connection() as conn:
        return _collection_detail(conn, name, limit, offset, key)


def _collection_detail(conn, name: str, limit: int, offset: int, key: ApiKey) -> CollectionDetail:
    collection = collections.get(conn, name)
    summary = conn.execute(queries.load("collections/summaries"), {"name": name}).fetchone()
    page = conn.execute(queries.load("collections/documents_page"), {"name": name, "limit": limit, "offset": offset})
    coverage = []
    for model in models.list_models(conn):
        if model.status == "retired":
            continue
        _, embedded = quality.live_coverage(conn, model, collection.id)
        index = index_status(conn, model.hnsw_index_name(collection.id))
        coverage.append(ModelCoverage(
            name=model.name, status=model.status, dimensions=model.dimensions, chunks_embedded=embedded,
            index_valid=bool(index and index["valid"]), index_size_bytes=index["size_bytes"] if index else None,
        ))
    return CollectionDetail(**_summary(summary, key), models=coverage,
                            documents_page=[DocumentSummary(**row) for row in page])
