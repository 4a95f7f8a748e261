"""Keeps each collection's BM25 statistics (chunk count, average length, document frequencies)."""

from __future__ import annotations

import psycopg

from llamapg import queries


def refresh_stats(conn: psycopg.Connection, collection_id: int) -> None:
    """Recompute the collection's statistics over its live chunks, in one transaction."""
    params = {"collection_id": collection_id}
    with conn.transaction():
        conn.execute("DELETE FROM lexical_terms WHERE collection_id = %(collection_id)s", params)
        conn.execute(queries.load("lexical/insert_terms"), params)
        conn.execute(queries.load("lexical/refresh_stats"), params)
