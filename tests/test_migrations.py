"""Schema migrations are ordered, recorded and idempotent; model registration creates vector tables."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.synthetic import add_synthetic_collection
from llamapg import collections, db, migrations, models
from llamapg.retrieval import retrieve
from llamapg.settings import DEFAULT_MODEL_NAME
from tests.support.vectors import assert_vectors_by_document_are_the_live_chunks


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


def test_upgrading_a_database_with_chunks_fills_the_counts_postings_and_lookup_index(pg_server):
    """A database at 0008 with live and pending chunks, then migrated: each document's live chunks are
    counted (0009), the existing partition gets its hash index (0010), every posting carries its
    chunk's document (0011), chunks are indexed by document (0012), the live chunks' vectors are
    stored again by document for the exact plan (0013), and a filtered request is planned from the
    counts and answered from them."""
    url = db._with_database(pg_server, "upgraded_from_0008")
    db.ensure_database(url, pg_server)
    before = [path for path in sorted(migrations.MIGRATIONS_DIR.glob("*.sql")) if path.stem[:4] <= "0008"]
    with db.connect(url, vectors=False, autocommit=True) as conn:
        migrations.pending(conn)  # creates schema_migrations
        for path in before:
            with conn.transaction():
                conn.execute(path.read_text())
                conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (path.stem,))
    with db.connect(url, autocommit=True) as conn:
        assert migrations.pending(conn)[0] == "0009_document_live_chunks"
        model = models.register_default(conn, DEFAULT_MODEL_NAME)
        vectors = np.random.default_rng(0).normal(size=(60, 384)).astype(np.float32)
        collection_id = add_synthetic_collection(conn, model, "old", vectors, documents=6,
                                                 metadata=lambda number: {"bucket": number % 3})
        document = conn.execute("SELECT min(id) AS id FROM documents").fetchone()["id"]
        conn.execute("UPDATE chunks SET pending = true WHERE document_id = %s AND ordinal < 4", (document,))
        applied = migrations.migrate(conn)
        assert applied and applied[:5] == ["0009_document_live_chunks", "0010_vector_hash_lookup",
                                           "0011_postings_document", "0012_chunks_by_document",
                                           "0013_vectors_by_document"]
        assert assert_vectors_by_document_are_the_live_chunks(conn, model) == 56
        counts = {row["document_id"]: row["live_chunks"] for row in conn.execute(
            "SELECT document_id, live_chunks FROM document_live_chunks")}
        assert counts[document] == 6 and sum(counts.values()) == 56 and len(counts) == 6
        assert conn.execute("SELECT count(*) AS n FROM lexical_postings p JOIN chunks c ON c.id = p.chunk_id"
                            " WHERE p.document_id <> c.document_id").fetchone()["n"] == 0
        assert conn.execute("SELECT count(*) AS n FROM lexical_postings").fetchone()["n"] > 0
        indexes = [row["indexdef"] for row in conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s", (model.partition(collection_id),))]
        assert any("USING hash (content_hash)" in definition for definition in indexes), indexes
        assert conn.execute("SELECT to_regclass('chunks_live_by_document') IS NOT NULL AS present").fetchone()["present"]
        result = retrieve(conn, model, collection_id, vectors[0], 5, filters={"bucket": 0})
        assert (result.plan, result.matches, len(result.sources)) == ("exact", 16, 5)
