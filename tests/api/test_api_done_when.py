"""Issue 7's "done when", end to end through the API only: a user makes a token, and with the
calls /api/docs/ describes lists their alliances, registers a webhook, bulk-imports KPI
values, and when an alert is raised receives it, signed, at their own HTTP server; then
reads the latest lights, which show why."""

from datetime import date

from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from scorecards.kpis import kpi_defaults_seed, month_add, month_start
from tests.conftest import verify
from tests.test_health_alerts import CORNERS, add_round, check

from .conftest import v1

CALLS = [
    ("get", "/api/v1/organizations/{org}/alliances/"),
    ("post", "/api/v1/organizations/{org}/webhooks/"),
    ("get", "/api/v1/organizations/{org}/alliances/{alliance}/kpis/"),
    ("post", "/api/v1/organizations/{org}/alliances/{alliance}/kpi-values/bulk/"),
    ("get", "/api/v1/organizations/{org}/alliances/{alliance}/scores/latest/"),
]


def test_from_a_new_token_to_a_signed_webhook(
    alliance,
    world,
    client_for,
    receiver,
    django_capture_on_commit_callbacks,
):
    kpi_defaults_seed(alliance=alliance)
    # The token, made on the settings page and shown once.
    page = client_for(world.ada).post(reverse("api_tokens", args=["northwind"]), {"name": "CRM"})
    key = page.context["new_key"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    # Every call below is in the docs' schema, which needs no sign-in to read.
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for method, path in CALLS:
        assert method in schema["paths"][path], (method, path)
    assert "tokenAuth" in schema["components"]["securitySchemes"]

    # 1. List my alliances.
    listed = api.get(v1("organizations/northwind/alliances/")).json()["results"]
    mine = next(a for a in listed if a["name"] == alliance.name)

    # 2. Register a webhook for raised alerts; its secret comes back once, to sign with.
    hook = api.post(
        v1("organizations/northwind/webhooks/"),
        {"url": receiver.url, "events": ["alert.raised"], "description": "CRM"},
    )
    assert hook.status_code == 201, hook.json()
    secret = hook.json()["secret"]

    # 3. Bulk-import KPI values, safely retried with the same Idempotency-Key.
    base = f"organizations/northwind/alliances/{mine['id']}/"
    kpis = api.get(v1(base + "kpis/"), {"source": "manual"}).json()["results"]
    last_month = month_add(month_start(date.today()), -1)
    values = [
        {"kpi": kpi["id"], "month": f"{last_month:%Y-%m}", "value": str(10 + i)}
        for i, kpi in enumerate(kpis[:3])
    ]
    for _ in range(2):
        imported = api.post(
            v1(base + "kpi-values/bulk/"), {"values": values}, HTTP_IDEMPOTENCY_KEY="crm-1"
        )
        assert imported.status_code == 200, imported.json()
    assert imported["Idempotent-Replayed"] == "true"
    stored = api.get(v1(base + "kpi-values/"), {"month": f"{last_month:%Y-%m}-01"}).json()
    assert sorted(v["value"] for v in stored["results"]) == [10, 11, 12]

    # 4. Relational trust turns red: an alert is raised and the webhook arrives, signed.
    add_round(alliance, 0, 80)
    add_round(alliance, 1, {**dict.fromkeys(CORNERS, 80), "relational": 25, "trust": 80})
    with django_capture_on_commit_callbacks(execute=True):
        check(alliance)
    assert receiver.requests, "no webhook arrived"
    events = [verify(secret, request) for request in receiver.requests]
    raised = [e for e in events if e["type"] == "alert.raised"]
    assert any(e["data"]["alert"]["metric"] == "relational" for e in raised), events
    assert all(e["data"]["alliance"]["id"] == mine["id"] for e in raised)

    # 5. The latest lights say the same.
    latest = api.get(v1(base + "scores/latest/"))
    assert latest.status_code == 200 and latest["ETag"]
    corners = {corner["metric"]: corner for corner in latest.json()["corners"]}
    assert corners["relational"]["color"] == "red", corners["relational"]
    assert corners["relational"]["reasons"]
    assert (
        api.get(v1(base + "scores/latest/"), HTTP_IF_NONE_MATCH=latest["ETag"]).status_code == 304
    )
