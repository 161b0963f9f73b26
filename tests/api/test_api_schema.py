"""The OpenAPI schema describes the API truthfully.

``schemathesis`` reads ``/api/schema/`` and sends generated requests to every operation,
signed in with a real token of a demo user (Ada, Northwind's admin) on the seeded demo. Path
parameters are aimed at real rows of Northwind's (the list endpoint's first row), so the
generated requests reach the code behind the 404. Half the requests are valid by the
schema, half deliberately not (wrong types, missing fields, values out of range). Every
answer must be no 5xx, a status code, content type, headers and body the schema documents
for that operation.
"""

import os
import re
from contextlib import contextmanager
from io import StringIO

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from alliances.api.auth import api_token_create
from alliances.models import Alliance, Membership, User

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Generated requests per operation; enough to try each field's types and edges. Raise it
# (CONCORD_FUZZ_EXAMPLES=200) for a deeper search than the suite's.
EXAMPLES_PER_OPERATION = int(os.environ.get("CONCORD_FUZZ_EXAMPLES", "12"))


def test_schema_generates_without_warnings(tmp_path):
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yaml"),
        stdout=StringIO(), stderr=StringIO(),
    )  # fmt: skip


def test_docs_are_served_from_our_own_static_files_under_the_strict_policy(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"(src|href)=\"https?://", html), "the docs must not load from a CDN"
    assert "<style" not in html and "unsafe-inline" not in response["Content-Security-Policy"]
    assets = re.findall(r"(?:src|href)=\"/static/([^\"]+)\"", html)
    assert len(assets) >= 4
    for asset in assets:
        assert finders.find(asset), f"{asset} is not among the static files"
    assert client.get("/api/docs/?script=").status_code == 200
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert schema["paths"] and "tokenAuth" in schema["components"]["securitySchemes"]


@contextmanager
def _connection_kept():
    """What Django's test client does around a request: the end of a request must not close
    the database connection, which holds the test's transaction. (The test client connects
    the handler again after each of its own requests, so it must not be used inside.)"""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _wsgi_app():
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def _first_ids(operations, key: str, alliance: int) -> dict[str, int]:
    """For each detail path, the id of the first row its list endpoint gives Ada; a nested
    path's parent ids come from the parent's own detail path."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    found: dict[str, int] = {}
    for path in sorted({op.path for op in operations if "{id}" in op.path}, key=len):
        listing = path.split("{id}")[0]
        known = {"org": "northwind", "alliance": alliance}
        for name in re.findall(r"{(\w+)}", listing):
            if name not in known:
                parent = listing.split("{" + name + "}")[0] + "{id}/"
                if parent not in found:
                    break
                known[name] = found[parent]
        else:
            response = client.get(listing.format(**known))
            body = response.json() if response.status_code == 200 else None
            rows = body.get("results", body) if isinstance(body, dict) else body
            if isinstance(rows, list) and rows and isinstance(rows[0], dict) and "id" in rows[0]:
                found[path] = rows[0]["id"]
    return found


@pytest.mark.django_db
def test_every_operation_answers_as_its_schema_says(monkeypatch):
    call_command("seed_demo", stdout=StringIO())
    ada = User.objects.get(email="ada@northwind.example")
    _, key = api_token_create(
        membership=Membership.objects.get(user=ada, organization__slug="northwind"), name="fuzz"
    )
    alliance = (
        Alliance.objects.filter(
            lead_organization__slug="northwind", partner_organization__isnull=False
        )
        .order_by("pk")
        .first()
    )
    with _connection_kept():
        schema = schemathesis.openapi.from_wsgi("/api/schema/", _wsgi_app())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    ids = _first_ids(operations, key, alliance.pk)  # (Django's test client, outside)
    with _connection_kept():
        headers = {"Authorization": f"Bearer {key}"}
        strategies = []
        for operation in operations:
            fixed = {"org": "northwind", "alliance": alliance.pk}
            if operation.path in ids:
                fixed["id"] = ids[operation.path]
            names = {p.name for p in operation.path_parameters}
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                strategies.append(
                    operation.as_strategy(
                        generation_mode=mode,
                        path_parameters={k: v for k, v in fixed.items() if k in names},
                        headers=headers,
                    )
                )
        seen = []

        @settings(
            max_examples=2 * EXAMPLES_PER_OPERATION * len(operations),
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=st.one_of(strategies))
        def check(case):
            response = case.call(headers=headers)
            seen.append((case.method, case.operation.path, response.status_code))
            case.validate_response(response, checks=CHECKS)

        check()
    reached = {(method, path) for method, path, code in seen if code < 400}
    # The fuzzing reached real rows: most reads answered 200, not just 404s.
    reads = {op.path for op in operations if op.method.upper() == "GET"}
    assert len({p for m, p in reached if m == "GET"}) >= 0.8 * len(reads), sorted(reached)
