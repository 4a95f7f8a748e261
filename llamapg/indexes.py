"""Each collection's HNSW index over its partition of a model's vectors.

Built once a bulk load is in (an index maintained row by row while loading is several times
slower to fill), CONCURRENTLY so that reads and writes go on, and rebuilt side by side when its
parameters change.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import psycopg

from llamapg import queries
from llamapg.models import EmbeddingModel
from llamapg.settings import get_settings


@dataclass
class IndexReport:
    action: str
    vectors: int
    size_bytes: int
    seconds: float
    m: int
    ef_construction: int
    partitions: int = 1


def index_status(conn: psycopg.Connection, index: str) -> dict | None:
    """{name, valid, options, size_bytes} of an index, or None when it does not exist."""
    return conn.execute(queries.load("index/hnsw_status"), {"index": index}).fetchone()


def partitions(conn: psycopg.Connection, model: EmbeddingModel) -> list[dict]:
    """The model's partitions: {partition, collection_id, index, valid, options, size_bytes}."""
    return conn.execute(queries.load("index/partitions"), {"table": model.vectors_table}).fetchall()


def hnsw_index_ready(conn: psycopg.Connection, model: EmbeddingModel, collection_id: int | None = None) -> bool:
    """Whether the collection's partition (or, with no collection, every partition) has a valid index."""
    found = [p for p in partitions(conn, model) if collection_id is None or p["collection_id"] == collection_id]
    return bool(found) and all(p["valid"] for p in found)


def ensure_partition_index(
    conn: psycopg.Connection, model: EmbeddingModel, collection_id: int, *, m: int, ef_construction: int,
) -> IndexReport:
    """Create the partition's index, or rebuild it when invalid or built with other parameters.

    A rebuild creates the new index beside the old one and swaps names, so queries keep an index
    throughout. The build gets LLAMAPG_HNSW_BUILD_MEMORY and LLAMAPG_HNSW_BUILD_WORKERS: a graph
    that outgrows maintenance_work_mem is finished on disk, several times slower.
    `conn` must be in autocommit mode (CREATE INDEX CONCURRENTLY needs it).
    """
    started = time.perf_counter()
    name = model.hnsw_index_name(collection_id)
    partition = model.partition(collection_id)
    wanted = {f"m={m}", f"ef_construction={ef_construction}"}
    current = index_status(conn, name)
    if current and current["valid"] and set(current["options"]) == wanted:
        action = "up to date"
    else:
        settings = get_settings()
        conn.execute("SELECT set_config('maintenance_work_mem', %s, false),"
                     " set_config('max_parallel_maintenance_workers', %s, false)",
                     (settings.hnsw_build_memory, str(settings.hnsw_build_workers)))
        building = f"{name}_building"
        conn.execute(queries.load("index/drop_index", index=building))  # left over by a crashed build
        conn.execute(
            queries.load(
                "index/create_hnsw",
                literals={"m": m, "ef_construction": ef_construction},
                index=building,
                vectors=partition,
            )
        )
        with conn.transaction():
            if current:
                conn.execute(queries.load("index/rename_index", old=name, new=f"{name}_old"))
            conn.execute(queries.load("index/rename_index", old=building, new=name))
        if current:
            conn.execute(queries.load("index/drop_index", index=f"{name}_old"))
        action = "rebuilt" if current else "built"
    vectors = conn.execute(queries.load("index/count_vectors", vectors=partition)).fetchone()["count"]
    status = index_status(conn, name)
    return IndexReport(action, vectors, status["size_bytes"] if status else 0, time.perf_counter() - started,
                       m, ef_construction)


def ensure_hnsw_index(conn: psycopg.Connection, model: EmbeddingModel, *, m: int, ef_construction: int) -> IndexReport:
    """Every partition's index of the model (see ensure_partition_index); one report for all."""
    started = time.perf_counter()
    reports = [ensure_partition_index(conn, model, p["collection_id"], m=m, ef_construction=ef_construction)
               for p in partitions(conn, model)]
    actions = sorted({r.action for r in reports})
    return IndexReport(
        action=(actions[0] if len(actions) == 1
                else ", ".join(f"{sum(r.action == a for r in reports)} {a}" for a in actions) or "no vectors"),
        vectors=sum(r.vectors for r in reports),
        size_bytes=sum(r.size_bytes for r in reports),
        seconds=time.perf_counter() - started,
        m=m,
        ef_construction=ef_construction,
        partitions=len(reports),
    )
