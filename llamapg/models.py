"""The embedding model registry: which models exist, their limits, and which one answers queries."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from llamapg.queries import text as sql_text

BUNDLED_MINILM = "all-MiniLM-L6-v2"


class UnknownModel(LookupError):
    pass


@dataclass(frozen=True)
class EmbeddingModel:
    id: int
    name: str
    provider: str
    model: str
    dimensions: int
    max_input_tokens: int
    base_url: str | None
    status: str
    checks: dict | None = None

    @property
    def vectors_table(self) -> str:
        """The model's table, partitioned by collection (sql/migrations/0005_scale.sql)."""
        return f"vectors_{self.id}"

    @property
    def vectors_by_document_table(self) -> str:
        """The same vectors for live chunks only, stored by document for exact scans of a filter's
        matches, partitioned by collection (sql/migrations/0013_vectors_by_document.sql)."""
        return f"vectors_{self.id}_by_document"

    def partition(self, collection_id: int) -> str:
        """The table of one collection's vectors: its own HNSW index, so that one collection's recall
        never depends on the size of the others."""
        return f"vectors_{self.id}_{collection_id}"

    def hnsw_index_name(self, collection_id: int) -> str:
        return f"{self.partition(collection_id)}_hnsw"


_COLUMNS = "id, name, provider, model, dimensions, max_input_tokens, base_url, status, checks"


def _from_row(row: dict) -> EmbeddingModel:
    return EmbeddingModel(**{key: row[key] for key in _COLUMNS.split(", ")})


def register(
    conn: psycopg.Connection,
    name: str,
    *,
    provider: str,
    model: str,
    dimensions: int,
    max_input_tokens: int,
    base_url: str | None = None,
) -> EmbeddingModel:
    """Register a model and create its vector table; registering the same spec again is a no-op."""
    existing = find(conn, name)
    if existing:
        if existing.status == "retired":
            raise ValueError(f"model {name!r} was retired; register the model again under a new name")
        spec = (provider, model, dimensions, max_input_tokens, base_url)
        if spec != (existing.provider, existing.model, existing.dimensions, existing.max_input_tokens, existing.base_url):
            raise ValueError(
                f"model {name!r} is already registered with a different specification; "
                "register the new one under a new name"
            )
        return existing
    row = conn.execute(
        f"INSERT INTO embedding_models (name, provider, model, dimensions, max_input_tokens, base_url)"
        f" VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
        (name, provider, model, dimensions, max_input_tokens, base_url),
    ).fetchone()
    registered = _from_row(row)
    conn.execute(sql_text("models/create_vectors_table"), {"model_id": registered.id, "dimensions": dimensions})
    return registered


def ensure_partition(conn: psycopg.Connection, model: EmbeddingModel, collection_id: int) -> str:
    """Create the collection's partition of the model's vectors if it does not exist; its name."""
    return conn.execute(sql_text("models/vector_partition"),
                        {"model_id": model.id, "collection_id": collection_id}).fetchone()["partition"]


def find(conn: psycopg.Connection, name: str) -> EmbeddingModel | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM embedding_models WHERE name = %s", (name,)).fetchone()
    return _from_row(row) if row else None


def get(conn: psycopg.Connection, name: str) -> EmbeddingModel:
    found = find(conn, name)
    if found is None:
        known = ", ".join(m.name for m in list_models(conn)) or "none"
        raise UnknownModel(f"unknown embedding model {name!r} (registered: {known})")
    return found


def list_models(conn: psycopg.Connection) -> list[EmbeddingModel]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM embedding_models ORDER BY id").fetchall()
    return [_from_row(row) for row in rows]


def active(conn: psycopg.Connection) -> EmbeddingModel | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM embedding_models WHERE status = 'active'").fetchone()
    return _from_row(row) if row else None


def activate(conn: psycopg.Connection, name: str) -> EmbeddingModel:
    """Make `name` the model that answers queries, in one transaction."""
    target = get(conn, name)
    with conn.transaction():
        conn.execute("UPDATE embedding_models SET status = 'registered' WHERE status = 'active'")
        conn.execute(
            "UPDATE embedding_models SET status = 'active', activated_at = now() WHERE id = %s", (target.id,)
        )
    return get(conn, name)


def register_default(conn: psycopg.Connection, name: str) -> EmbeddingModel | None:
    """The bundled all-MiniLM-L6-v2 on a fresh install (active when no other model is), so that it
    works offline. Registered once: a default model that was retired stays retired, and a database
    whose models were all swapped for others does not need it."""
    existing = find(conn, name)
    if existing is not None:
        if existing.status == "registered" and active(conn) is None:
            return activate(conn, name)
        return existing
    if any(model.status != "retired" for model in list_models(conn)):
        return None
    model = register(
        conn, name, provider="local", model=BUNDLED_MINILM, dimensions=384, max_input_tokens=256
    )
    if active(conn) is None:
        model = activate(conn, name)
    return model


def record_checks(conn: psycopg.Connection, name: str, results: dict) -> None:
    conn.execute(
        "UPDATE embedding_models SET checks = checks || %s WHERE name = %s", (Jsonb(results), name)
    )


def retire(conn: psycopg.Connection, name: str) -> EmbeddingModel:
    """Drop the model's vectors and index; the active model cannot be retired."""
    target = get(conn, name)
    if target.status == "active":
        raise ValueError(f"model {name!r} is active: activate another model first")
    with conn.transaction():
        for table in (target.vectors_table, target.vectors_by_document_table):
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
        conn.execute("UPDATE embedding_models SET status = 'retired' WHERE id = %s", (target.id,))
    return get(conn, name)
