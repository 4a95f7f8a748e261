"""Schema migrations are ordered, recorded and idempotent; model registration creates vector tables."""

from __future__ import annotations

import pytest

from llamapg import db, migrations, models


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


def test_registering_a_model_creates_its_narrow_vector_table(conn):
    model = models.register(conn, "wide", provider="openai", model="text-embedding-3-small",
                            dimensions=1536, max_input_tokens=8191)
    columns = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attstorage FROM pg_attribute a"
        " WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (model.vectors_table,),
    ).fetchall()
    assert [(c["attname"], c["type"]) for c in columns] == [
        ("content_hash", "bytea"), ("embedding", "vector(1536)"), ("created_at", "timestamp with time zone")]
    assert next(c for c in columns if c["attname"] == "embedding")["attstorage"] == "p"  # PLAIN: kept in line
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
