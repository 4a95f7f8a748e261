"""Schemathesis explores every operation of /openapi.json, with an admin key (the widest reach): no
input may cause a server error."""

from __future__ import annotations

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from llamapg.settings import get_settings
from query_service.main import create_app
from tests.support.api import bearer, issue_key


def test_no_input_causes_a_server_error(ingested, monkeypatch):
    monkeypatch.setenv("LLAMAPG_TRUSTED_HOSTS", "localhost,testserver")  # schemathesis's ASGI client's Host
    get_settings.cache_clear()
    app = create_app(get_settings())
    headers = bearer(issue_key(role="admin"))
    errors: list[str] = []
    calls: list[str] = []
    with TestClient(app):  # runs the lifespan: pool, model, prompts
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 12

        for operation in operations:
            # A short budget per operation keeps the suite fast; Hypothesis still varies every field.
            @given(case=operation.as_strategy())
            @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
            def explore(case):
                response = case.call(headers=headers)
                calls.append(operation.label)
                if response.status_code >= 500:
                    errors.append(f"{case.method} {case.formatted_path} {case.body!r:.200} -> "
                                  f"{response.status_code}: {response.text[:200]}")

            explore()
    assert errors == []
    assert {label for label in calls} == {operation.label for operation in operations}
    assert len(calls) >= 10 * len(operations)
