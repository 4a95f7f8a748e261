"""Security and hardening (docs/security.md): keys scoped to collections, browser safety, bounded
input, no 500 from any input, honest status codes, private files. One test per case found by
probing the service as an attacker would."""

from __future__ import annotations

import json
import logging
import re
import stat

import pytest
from click.testing import CliRunner

from llamapg import collections, db, documents, keys, querylog
from llamapg.cli import main
from llamapg.settings import get_settings
from query_service.main import create_app
from tests.support.api import api_client, bearer, issue_key

SECRET_TEXT = b"The vault code is 4711."


@pytest.fixture
def two_teams(database_url, conn):
    """Collections `alpha` and `beta`, a document and a logged query in `beta`."""
    for name in ("alpha", "beta"):
        collections.register(conn, name, None)
    beta = collections.get(conn, "beta")
    document_id = documents.upsert(conn, beta.id, [documents.DocumentRow(
        "uploads/secret.txt", "hash", "secret", {}, "ready")])["uploads/secret.txt"]
    query_id = querylog.record(conn, endpoint="query", question="q", collection="beta", model="m",
                               sources=[], timings_ms={})
    return {"document_id": document_id, "query_id": query_id}


def search(client, collection: str, **extra):
    return client.post("/search", json={"question": "vault code", "collection": collection, "k": 3, **extra})


# ------------------------------------------------------------------ 1. keys scoped to collections
def test_every_route_but_the_probes_needs_a_key(two_teams):
    with api_client() as client:
        client.headers.pop("Authorization")
        assert client.get("/health").status_code == 200
        assert client.get("/openapi.json").status_code == 200
        for method, path, body in [
            ("GET", "/collections", None), ("GET", "/collections/alpha", None), ("POST", "/search", {}),
            ("POST", "/query", {}), ("POST", "/feedback", {}), ("GET", "/prompts", None),
            ("GET", f"/documents/{two_teams['document_id']}", None), ("DELETE", f"/documents/{two_teams['document_id']}", None),
            ("GET", "/v1/models", None), ("POST", "/v1/chat/completions", {}), ("GET", "/metrics", None),
        ]:
            response = client.request(method, path, json=body)
            assert response.status_code == 401, (method, path, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
        # A page on another site can make a browser send this form, but not the key: 401.
        upload = client.post("/collections/alpha/documents", files={"files": ("a.txt", b"x")},
                             headers={"Origin": "https://evil.example"})
        assert upload.status_code == 401 and "access-control-allow-origin" not in upload.headers
        wrong = client.get("/collections", headers=bearer("lpg_" + "x" * 43))
        assert (wrong.status_code, wrong.json()["detail"]) == (401, "unknown or revoked API key")


def test_a_key_never_learns_that_other_collections_exist(two_teams):
    with api_client(role="write", collections=["alpha"]) as client:
        assert [c["name"] for c in client.get("/collections").json()] == ["alpha"]
        assert [m["id"] for m in client.get("/v1/models").json()["data"]] == ["alpha"]
        # beta exists, zeta does not: the answers are the same but for the name.
        for name in ("beta", "zeta"):
            for response in (search(client, name), client.get(f"/collections/{name}"),
                             client.post(f"/collections/{name}/documents", files={"files": ("a.txt", b"x")})):
                assert (response.status_code, response.json()) == (404, {"detail": f"unknown collection {name!r}"})
            chat = client.post("/v1/chat/completions", json={"model": name, "messages": [{"role": "user", "content": "hi"}]})
            assert chat.status_code == 404 and chat.json()["error"]["code"] == "model_not_found"
            assert name in chat.json()["error"]["message"]
        hidden, missing = two_teams["document_id"], two_teams["document_id"] + 1000
        for document_id in (hidden, missing):
            for response in (client.get(f"/documents/{document_id}"), client.delete(f"/documents/{document_id}")):
                assert (response.status_code, response.json()) == (404, {"detail": f"unknown document {document_id}"})
        for query_id in (two_teams["query_id"], two_teams["query_id"] + 1000):
            rated = client.post("/feedback", json={"query_id": query_id, "rating": 1})
            assert (rated.status_code, rated.json()) == (404, {"detail": f"unknown query {query_id}"})
        assert search(client, "alpha").status_code == 200


def test_roles_read_write_admin(two_teams, tmp_path):
    with api_client(role="read", collections=["alpha", "beta"]) as reader:
        assert search(reader, "beta").status_code == 200
        refused = reader.post("/collections/alpha/documents", files={"files": ("a.txt", b"x")})
        assert (refused.status_code, refused.json()["detail"]) == (403, "this key's role is read; this needs write")
        assert reader.get("/metrics").status_code == 403
        assert {c["source"] for c in reader.get("/collections").json()} == {None}
    settings = get_settings()
    with db.connection(db.database_url(settings)) as conn:
        collections.register(conn, "alpha", str(tmp_path))
    with api_client(role="write") as writer:
        stored = writer.post("/collections/gamma/documents", files={"files": ("a.txt", SECRET_TEXT)})
        assert stored.status_code == 202
        # Server paths are for admin keys only.
        assert {c["name"]: c["source"] for c in writer.get("/collections").json()}["alpha"] is None
    with api_client(role="admin") as admin:
        assert {c["name"]: c["source"] for c in admin.get("/collections").json()}["alpha"] == str(tmp_path)
        assert admin.get("/metrics").status_code == 200


def test_keys_are_stored_hashed_and_revocation_takes_effect(two_teams, conn, monkeypatch):
    monkeypatch.setenv("LLAMAPG_API_KEY_CACHE_S", "0")
    get_settings.cache_clear()
    runner = CliRunner()
    created = runner.invoke(main, ["keys", "create", "--role", "read", "--collection", "beta", "--collection", "alpha",
                                   "--name", "support bot"])
    assert created.exit_code == 0, created.output
    token = created.output.strip().splitlines()[-1]
    assert re.fullmatch(r"lpg_[A-Za-z0-9_-]{43}", token)
    row = conn.execute("SELECT * FROM api_keys WHERE name = 'support bot'").fetchone()
    assert token not in json.dumps(row, default=str) and row["prefix"] == token[:12]
    assert row["collections"] == ["alpha", "beta"] and row["role"] == "read"
    listed = runner.invoke(main, ["keys", "list"]).output
    assert f"{token[:12]}...  read   alpha, beta" in listed and "active  support bot" in listed
    with api_client() as client:
        assert client.get("/collections", headers=bearer(token)).status_code == 200
        assert runner.invoke(main, ["keys", "revoke", token[:12]]).exit_code == 0
        assert client.get("/collections", headers=bearer(token)).status_code == 401
    assert "revoked" in runner.invoke(main, ["keys", "list"]).output
    assert runner.invoke(main, ["keys", "revoke", token[:12]]).exit_code != 0
    unknown_role = runner.invoke(main, ["keys", "create", "--role", "root"])
    assert unknown_role.exit_code != 0


def test_auth_off_is_explicit_and_loud_beyond_loopback(two_teams, monkeypatch, caplog):
    monkeypatch.setenv("LLAMAPG_AUTH", "false")
    monkeypatch.setenv("LLAMAPG_API_HOST", "0.0.0.0")
    get_settings.cache_clear()
    with caplog.at_level(logging.WARNING):
        app = create_app(get_settings())
    assert any(record.levelno == logging.CRITICAL and "LLAMAPG_AUTH is off" in record.getMessage()
               for record in caplog.records)
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://localhost") as client:
        assert client.get("/collections").status_code == 200


def test_a_service_with_no_key_yet_says_how_to_make_one(database_url, caplog):
    from fastapi.testclient import TestClient

    with caplog.at_level(logging.WARNING), TestClient(create_app(get_settings()), base_url="http://localhost") as client:
        assert client.get("/collections").status_code == 401
    assert any("no API key exists yet" in record.getMessage() and "llamapg keys create" in record.getMessage()
               for record in caplog.records)


def test_the_local_key_is_private_and_reused(database_url):
    runner = CliRunner()
    first = runner.invoke(main, ["keys", "local"])
    assert first.exit_code == 0, first.output
    path = keys.local_key_file(get_settings())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((path.parent / keys.SECRET_FILE).stat().st_mode) == 0o600
    assert runner.invoke(main, ["keys", "local"]).output == first.output
    runner.invoke(main, ["keys", "revoke", first.output.strip()[:12]])
    assert runner.invoke(main, ["keys", "local"]).output != first.output


# ------------------------------------------------------------------ 2. browser safety
def test_foreign_hosts_and_origins_are_refused_and_urls_come_from_configuration(two_teams, monkeypatch):
    with api_client() as client:
        assert client.get("/collections", headers={"Host": "attacker.example"}).status_code == 400
        assert client.get("/collections", headers={"Host": "127.0.0.1:8000"}).status_code == 200
        preflight = client.options("/search", headers={"Origin": "https://evil.example",
                                                       "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in preflight.headers
        cross = client.get("/collections", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in cross.headers
    monkeypatch.setenv("LLAMAPG_CORS_ORIGINS", "https://app.example.com")
    monkeypatch.setenv("LLAMAPG_PUBLIC_URL", "https://rag.example.com/")
    monkeypatch.setenv("LLAMAPG_TRUSTED_HOSTS", "localhost,rag.example.com")
    get_settings.cache_clear()
    with api_client() as client:
        allowed = client.get("/collections", headers={"Origin": "https://app.example.com"})
        assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
        other = client.get("/collections", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        stored = client.post("/collections/alpha/documents", files={"files": ("a.txt", b"hello")},
                             headers={"Host": "rag.example.com"})
    (document,) = stored.json()["documents"]
    assert document["status_url"] == f"https://rag.example.com/documents/{document['id']}"


# ------------------------------------------------------------------ 3. bounded input
def test_bodies_and_uploads_over_their_limits_get_413_and_leave_nothing(two_teams, monkeypatch):
    monkeypatch.setenv("LLAMAPG_MAX_BODY_BYTES", "4096")
    monkeypatch.setenv("LLAMAPG_MAX_UPLOAD_FILE_BYTES", "1000")
    monkeypatch.setenv("LLAMAPG_MAX_UPLOAD_REQUEST_BYTES", "20000")
    get_settings.cache_clear()
    settings = get_settings()
    landing = collections.landing_dir("alpha", settings)
    with api_client(settings) as client:
        big = client.post("/search", json={"question": "x" * 10_000, "collection": "alpha"})
        assert big.status_code == 413 and "LLAMAPG_MAX_BODY_BYTES" in big.json()["detail"]

        def chunked():  # no Content-Length: counted as it arrives
            yield b'{"question": "'
            for _ in range(10):
                yield b"y" * 1000
            yield b'", "collection": "alpha"}'

        streamed = client.post("/search", content=chunked(), headers={"content-type": "application/json"})
        assert streamed.status_code == 413, streamed.text
        too_big = client.post("/collections/alpha/documents",
                              files=[("files", ("ok.txt", b"fine")), ("files", ("big.txt", b"z" * 5000))])
        assert too_big.status_code == 413 and "LLAMAPG_MAX_UPLOAD_FILE_BYTES" in too_big.json()["detail"]
        request_too_big = client.post("/collections/alpha/documents", files={"files": ("huge.txt", b"z" * 30000)})
        assert request_too_big.status_code == 413
        assert "LLAMAPG_MAX_UPLOAD_REQUEST_BYTES" in request_too_big.text
    assert not landing.exists() or list(landing.iterdir()) == []
    with db.connection(db.database_url(settings)) as conn:
        assert conn.execute("SELECT count(*) AS n FROM documents WHERE source_uri LIKE 'uploads/%%' "
                            "AND source_uri <> 'uploads/secret.txt'").fetchone()["n"] == 0


def test_questions_and_filters_over_their_limits_get_422(two_teams, monkeypatch):
    monkeypatch.setenv("LLAMAPG_MAX_QUESTION_CHARS", "50")
    get_settings.cache_clear()
    with api_client() as client:
        long = search(client, "alpha", question="why " * 20)
        assert long.status_code == 422 and "LLAMAPG_MAX_QUESTION_CHARS" in long.json()["detail"]
        keys_4000 = search(client, "alpha", filters={f"key{i}": i for i in range(4000)})
        assert keys_4000.status_code == 422 and "LLAMAPG_MAX_FILTER_KEYS" in keys_4000.json()["detail"]
        values = search(client, "alpha", filters={"team": {"in": list(range(1001))}})
        assert values.status_code == 422 and "LLAMAPG_MAX_FILTER_VALUES" in values.json()["detail"]
        chat = client.post("/v1/chat/completions", json={"model": "alpha",
                                                          "messages": [{"role": "user", "content": "x" * 60}]})
        assert chat.status_code == 400 and "LLAMAPG_MAX_QUESTION_CHARS" in chat.json()["error"]["message"]


# ------------------------------------------------------------------ 4. no 500 from any input
def raw_multipart(files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart body with the file names as raw UTF-8, as a hostile client sends them (httpx
    would percent-encode a NUL)."""
    boundary = "llamapg-test-boundary"
    parts = [b"--" + boundary.encode() + b'\r\nContent-Disposition: form-data; name="files"; filename="'
             + name.encode("utf-8") + b'"\r\nContent-Type: text/plain\r\n\r\n' + data + b"\r\n"
             for name, data in files]
    return b"".join(parts) + b"--" + boundary.encode() + b"--\r\n", f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("name, reason", [
    ("bad\x00name.txt", "control and bidirectional-override characters"),
    ("tab\tname.txt", "control and bidirectional-override characters"),
    ("invoice_\u202efdp.exe.txt", "control and bidirectional-override characters"),
    ("a" * 230 + ".txt", "LLAMAPG_MAX_FILE_NAME_BYTES"),
    ("é" * 110 + ".txt", "LLAMAPG_MAX_FILE_NAME_BYTES"),
])
def test_bad_file_names_get_422_and_store_nothing(two_teams, name, reason):
    settings = get_settings()
    with api_client(settings) as client:
        body, content_type = raw_multipart([("good.txt", b"good"), (name, b"bad")])
        response = client.post("/collections/alpha/documents", content=body, headers={"content-type": content_type})
    assert response.status_code == 422 and reason in response.json()["detail"], response.text
    landing = collections.landing_dir("alpha", settings)
    assert not landing.exists() or list(landing.iterdir()) == []


def test_the_longest_allowed_file_name_is_stored(two_teams):
    name = "n" * 196 + ".txt"  # 200 bytes: its temporary name is 239 bytes, within the 255 allowed
    with api_client() as client:
        response = client.post("/collections/alpha/documents", files={"files": (name, b"long name")})
    assert response.status_code == 202, response.text
    assert (collections.landing_dir("alpha", get_settings()) / name).read_bytes() == b"long name"


@pytest.mark.parametrize("body", [
    b'{"question": "\\ud800 vault", "collection": "alpha"}',
    b'{"question": "vault\\u0000", "collection": "alpha"}',
    b'{"question": "vault", "collection": "alpha", "min_similarity": NaN}',
    b'{"question": "vault", "collection": "alpha", "min_similarity": Infinity}',
    b'{"question": "vault", "collection": "alpha", "filters": {"team\\ud800": 1}}',
    b'{"question": "vault", "collection": "alpha", "filters": {"team": "\\udfff"}}',
    b'{"question": "vault", "collection": "alpha", "filters": {"year": {"gte": NaN}}}',
    b'{"question": "vault", "collection": "alpha", "prompt": "\\ud800"}',
])
def test_text_and_numbers_the_database_cannot_hold_get_422(two_teams, body):
    with api_client() as client:
        for path in ("/search", "/query") if b'"prompt"' not in body else ("/query",):  # /search has no prompt
            response = client.post(path, content=body, headers={"content-type": "application/json"})
            assert response.status_code == 422, (path, body, response.text)
            assert "portal" not in response.text and "parameter $" not in response.text


def test_other_unstorable_input_gets_422_in_plain_words(two_teams):
    with api_client() as client:
        for path in (f"/documents/{2**63}", f"/documents/{2**70}", "/documents/-1"):
            assert client.get(path).status_code == 422
        feedback = client.post("/feedback", json={"query_id": 2**63, "rating": 1})
        assert feedback.status_code == 422 and "bigint" not in feedback.text
        comment = client.post("/feedback", json={"query_id": two_teams["query_id"], "rating": 1, "comment": "a\x00b"})
        assert comment.status_code == 422 and "NUL" in comment.text
        metadata = client.post("/collections/alpha/documents", files={"files": ("m.txt", b"x")},
                               data={"metadata": '{"team": "\\ud800"}'})
        assert metadata.status_code == 422 and "surrogate" in metadata.json()["detail"]
        for content in (b'[{"type": "text", "text": 5}]', b'"\\ud800 hi"', b'[{"type": "text", "text": "\\udfff"}]'):
            chat = client.post("/v1/chat/completions", headers={"content-type": "application/json"},
                               content=b'{"model": "alpha", "messages": [{"role": "user", "content": ' + content + b"}]}")
            assert chat.status_code == 400, (content, chat.text)


# ------------------------------------------------------------------ 5. honest errors
def test_pool_exhaustion_is_503_with_retry_after_and_says_so(two_teams, monkeypatch):
    monkeypatch.setenv("LLAMAPG_POOL_MAX_SIZE", "1")
    monkeypatch.setenv("LLAMAPG_MAX_CONCURRENT_REQUESTS", "1")
    monkeypatch.setenv("LLAMAPG_POOL_TIMEOUT_S", "0.5")
    monkeypatch.setenv("LLAMAPG_API_KEY_CACHE_S", "60")
    get_settings.cache_clear()
    with api_client() as client:
        assert client.get("/collections").status_code == 200  # the key is verified and cached
        with client.app.state.pool.connection():  # the only connection, held
            response = client.get("/collections")
    assert response.status_code == 503 and int(response.headers["retry-after"]) >= 1
    assert "all 1 database connections are in use" in response.json()["detail"]


# ------------------------------------------------------------------ 6. files on disk
def test_uploads_are_private_to_the_service_user(two_teams):
    settings = get_settings()
    with api_client(settings) as client:
        assert client.post("/collections/alpha/documents", files={"files": ("s.txt", SECRET_TEXT)}).status_code == 202
    landing = collections.landing_dir("alpha", settings)
    assert stat.S_IMODE((landing / "s.txt").stat().st_mode) == 0o600
    assert stat.S_IMODE(landing.stat().st_mode) == 0o700
    assert stat.S_IMODE(settings.uploads_dir.stat().st_mode) == 0o700
