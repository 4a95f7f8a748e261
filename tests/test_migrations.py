"""Schema migrations are ordered, recorded and idempotent; model registration creates vector tables."""

from __future__ import annotations

import pytest

from llamapg import collections, db, migrations, models


def test_migrate_is_idempotent_and_recorded(conn):
    assert migrations.migrate(conn) == []
    versions = [row["version"] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == sorted(path.stem for path in migrations.MIGRATIONS_DIR.glob("*.sql"))


def test_fresh_database_is_migrated_from_nothing(pg_server):
    url = db._with_database(pg_server, "fresh_from_nothing")
    db.ensure_database(url, pg_server)
    with db.connect(url, vectors=False) as conn:
        applied = migrations.migrate(conn)
        conn.commit()
        assert applied == [path.stem for path in sorted(migrations.MIGRATIONS_DIR.glob("*.sql"))]
        assert conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()["extversion"]


def vector_columns(conn, table: str) -> list[dict]:
    return conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attstorage FROM pg_attribute a"
        " WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (table,),
    ).fetchall()


def test_registering_a_model_creates_its_narrow_vector_table_partitioned_by_collection(conn):
    model = models.register(conn, "wide", provider="openai", model="text-embedding-3-small",
                            dimensions=1536, max_input_tokens=8191)
    columns = vector_columns(conn, model.vectors_table)
    assert [(c["attname"], c["type"]) for c in columns] == [
        ("collection_id", "bigint"), ("content_hash", "bytea"), ("embedding", "vector(1536)"),
        ("created_at", "timestamp with time zone")]
    assert conn.execute("SELECT relkind FROM pg_class WHERE relname = %s",
                        (model.vectors_table,)).fetchone()["relkind"] == "p"
    collection = collections.register(conn, "manuals", None)
    partition = models.ensure_partition(conn, model, collection.id)
    assert partition == model.partition(collection.id)
    assert models.ensure_partition(conn, model, collection.id) == partition  # idempotent
    stored = {c["attname"]: c["attstorage"] for c in vector_columns(conn, partition)}
    assert stored["embedding"] == "p"  # PLAIN: kept in line, in every partition
    assert models.register(conn, "wide", provider="openai", model="text-embedding-3-small",
                           dimensions=1536, max_input_tokens=8191) == model
    with pytest.raises(ValueError, match="different specification"):
        models.register(conn, "wide", provider="openai", model="other", dimensions=768, max_input_tokens=512)


def test_only_one_model_is_active(conn):
    models.register(conn, "second", provider="openai", model="m", dimensions=8, max_input_tokens=100)
    models.activate(conn, "second")
    assert [m.name for m in models.list_models(conn) if m.status == "active"] == ["second"]
    with pytest.raises(models.UnknownModel, match="registered: all-minilm-l6-v2, second"):
        models.get(conn, "third")
