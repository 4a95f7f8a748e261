"""Build a model's cosine HNSW index without blocking reads (used by the `hnsw_index` asset)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import psycopg

from llamapg import queries
from llamapg.models import EmbeddingModel
from llamapg.retrieval import index_status


@dataclass
class IndexReport:
    action: str
    vectors: int
    size_bytes: int
    seconds: float
    m: int
    ef_construction: int


def ensure_hnsw_index(
    conn: psycopg.Connection, model: EmbeddingModel, *, m: int, ef_construction: int, maintenance_work_mem: str = "1GB"
) -> IndexReport:
    """Create the index, or rebuild it when invalid or built with other parameters.

    A rebuild creates the new index beside the old one and swaps names, so queries keep an index
    throughout. `conn` must be in autocommit mode (CREATE INDEX CONCURRENTLY needs it).
    """
    started = time.perf_counter()
    name = model.hnsw_index_name
    wanted = {f"m={m}", f"ef_construction={ef_construction}"}
    current = index_status(conn, name)
    if current and current["valid"] and set(current["options"]) == wanted:
        action = "up to date"
    else:
        conn.execute("SELECT set_config('maintenance_work_mem', %s, false)", (maintenance_work_mem,))
        building = f"{name}_building"
        conn.execute(queries.load("index/drop_index", index=building))  # left over by a crashed build
        conn.execute(
            queries.load(
                "index/create_hnsw",
                literals={"m": m, "ef_construction": ef_construction},
                index=building,
                vectors=model.vectors_table,
            )
        )
        with conn.transaction():
            if current:
                conn.execute(queries.load("index/rename_index", old=name, new=f"{name}_old"))
            conn.execute(queries.load("index/rename_index", old=building, new=name))
        if current:
            conn.execute(queries.load("index/drop_index", index=f"{name}_old"))
        action = "rebuilt" if current else "built"
    vectors = conn.execute(
        queries.load("index/count_vectors", vectors=model.vectors_table)
    ).fetchone()["count"]
    status = index_status(conn, name)
    return IndexReport(
        action=action,
        vectors=vectors,
        size_bytes=status["size_bytes"] if status else 0,
        seconds=time.perf_counter() - started,
        m=m,
        ef_construction=ef_construction,
    )
