"""Webhooks against a real local HTTP server: signed (checked by an implementation of our
own here), emitted by the real code paths, retried with backoff, claimed once, swept up
when an enqueue is lost, disabled after repeated failures with one email to the admins;
the settings pages and the API for admins only."""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alliances import services, webhooks
from alliances.jobs import run_job
from alliances.models import (
    DeliveryStatus,
    Role,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from scorecards import services as scorecard_services
from scorecards.models import Alert, AlertKind
from surveys.services import rounds_close_due
from tests.api import conftest as api_conftest
from tests.api.conftest import v1
from tests.conftest import verify
from tests.factories import UserFactory, member, survey_round_open
from tests.test_health_alerts import CORNERS, add_round, check

ALL_EVENTS = list(WebhookEvent.values)
api_for = api_conftest.api_for  # the API tests' token client, here at the top of tests/


def endpoint_for(organization, url, events=ALL_EVENTS, **fields) -> WebhookEndpoint:
    return webhooks.endpoint_save(
        endpoint=WebhookEndpoint(organization=organization, url=url, events=events, **fields)
    )


def advance(world, **kwargs):
    return services.stage_advance(
        alliance=world.shared,
        user=world.ada,
        organization=world.northwind,
        note="Ready for governance: the internal plan says so.",
        override_reason="Internal override reason: pipeline numbers are confidential.",
        **kwargs,
    )


def deliveries(endpoint, event=None):
    rows = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("pk")
    return list(rows.filter(event=event) if event else rows)


# --- done when: an alert raised → a signed webhook arrives ---------------------------------


def test_an_alert_raised_arrives_at_the_local_server_signed(
    alliance, receiver, django_capture_on_commit_callbacks
):
    lead = alliance.lead_organization
    endpoint = endpoint_for(lead, receiver.url, [WebhookEvent.ALERT_RAISED])
    add_round(alliance, 0, 80)
    add_round(alliance, 1, {**dict.fromkeys(CORNERS, 80), "relational": 25, "trust": 80})
    with django_capture_on_commit_callbacks(execute=True):
        check(alliance)
    alerts = Alert.objects.filter(alliance=alliance)
    red = alerts.get(kind=AlertKind.RED)
    assert len(receiver.requests) == alerts.count() >= 1
    bodies = {}
    for request in receiver.requests:
        body = verify(endpoint.secret, request)
        assert request["headers"]["concord-event"] == "alert.raised"
        assert request["headers"]["user-agent"] == "Concord-Webhooks/1"
        assert request["headers"]["content-type"] == "application/json"
        assert request["path"] == "/hooks/concord"
        bodies[body["data"]["alert"]["id"]] = (request, body)
    request, body = bodies[red.pk]
    assert body["type"] == "alert.raised"
    assert body["organization"] == lead.slug
    assert body["data"]["alliance"] == {"id": alliance.pk, "name": alliance.name}
    assert body["data"]["alert"]["metric"] == "relational"
    assert body["data"]["alert"]["color"] == "red"
    assert body["data"]["alert"]["status"] == "open"
    delivery = WebhookDelivery.objects.get(endpoint=endpoint, event_id=body["id"])
    assert request["headers"]["concord-delivery"] == str(delivery.pk)
    assert (delivery.status, delivery.last_status_code, delivery.attempts) == (
        DeliveryStatus.SUCCEEDED,
        200,
        1,
    )
    # The check run again raises nothing new, so nothing is sent again.
    with django_capture_on_commit_callbacks(execute=True):
        check(alliance)
    assert len(receiver.requests) == alerts.count()


def test_a_forged_or_altered_body_fails_the_independent_check(
    world, receiver, django_capture_on_commit_callbacks
):
    endpoint = endpoint_for(world.northwind, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        advance(world)
    (request,) = receiver.requests
    verify(endpoint.secret, request)
    with pytest.raises(AssertionError, match="signature"):
        verify(endpoint.secret, {**request, "body": request["body"].replace(b"}", b" }", 1)})
    with pytest.raises(AssertionError, match="signature"):
        verify("whsec_someone-else", request)


# --- each event from its real code path, with shared data only -----------------------------


INTERNAL = ("internal", "confidential", "Ready for governance", "Solid month")


def assert_shared_only(body: dict):
    text = json.dumps(body)
    for word in INTERNAL:
        assert word.lower() not in text.lower(), word


def test_stage_changes_reach_both_parties_and_nobody_else(
    world, receiver, django_capture_on_commit_callbacks
):
    lead = endpoint_for(world.northwind, receiver.url, [WebhookEvent.STAGE_CHANGED])
    partner = endpoint_for(world.contoso, receiver.url + "?side=partner", ALL_EVENTS)
    unsubscribed = endpoint_for(world.northwind, receiver.url, [WebhookEvent.ROUND_CLOSED])
    outsider = endpoint_for(world.fabrikam, receiver.url, ALL_EVENTS)
    with django_capture_on_commit_callbacks(execute=True):
        transition = advance(world)
        services.stage_back(
            alliance=world.shared,
            user=world.ada,
            organization=world.northwind,
            to_stage=1,
            reason="Internal: the partner's budget was cut.",
        )
    assert len(deliveries(lead)) == len(deliveries(partner)) == 2
    assert deliveries(unsubscribed) == deliveries(outsider) == []
    assert len(receiver.requests) == 4
    by_org = {}
    for request in receiver.requests:
        secret = partner.secret if "side=partner" in request["path"] else lead.secret
        body = verify(secret, request)
        assert_shared_only(body)
        by_org.setdefault(body["organization"], []).append(body)
    forward = next(b for b in by_org["northwind"] if b["data"]["transition"]["id"] == transition.pk)
    assert forward["type"] == "alliance.stage_changed"
    assert forward["data"] == {
        "alliance": {"id": world.shared.pk, "name": world.shared.name},
        "transition": {
            "id": transition.pk,
            "from_stage": {"value": 1, "label": "Formation"},
            "to_stage": {"value": 2, "label": "Governance"},
            "outcome": None,
            "at": transition.at.isoformat(),
        },
    }
    # Each party gets its own copy, addressed to it, of the same event.
    assert sorted(by_org) == ["contoso", "northwind"]
    assert {b["id"] for b in by_org["contoso"]} == {b["id"] for b in by_org["northwind"]}


def test_alert_raised_and_resolved_by_the_check_and_by_hand(
    alliance, receiver, django_capture_on_commit_callbacks
):
    endpoint = endpoint_for(alliance.lead_organization, receiver.url)
    add_round(alliance, 0, 25)
    with django_capture_on_commit_callbacks(execute=True):
        check(alliance)
    raised = deliveries(endpoint, WebhookEvent.ALERT_RAISED)
    assert raised and all(d.status == DeliveryStatus.SUCCEEDED for d in raised)
    # Two green rounds resolve the alerts (the threshold check's own path)…
    add_round(alliance, 1, 75)
    add_round(alliance, 2, 78)
    by_hand = Alert.objects.filter(alliance=alliance).first()
    with django_capture_on_commit_callbacks(execute=True):
        scorecard_services.alert_resolve(
            alert=by_hand,
            user=None,
            note="Internal: fixed in the confidential account plan.",
            now=timezone.now(),
        )
    with django_capture_on_commit_callbacks(execute=True):
        check(alliance)
    resolved = deliveries(endpoint, WebhookEvent.ALERT_RESOLVED)
    assert len(resolved) == Alert.objects.filter(alliance=alliance).count()
    bodies = [verify(endpoint.secret, r) for r in receiver.requests]
    for body in bodies:
        assert_shared_only(body)
        assert set(body) == {"id", "type", "created_at", "organization", "data"}
        assert set(body["data"]) == {"alliance", "alert"}
    by_hand_body = next(
        b
        for b in bodies
        if b["type"] == "alert.resolved" and b["data"]["alert"]["id"] == by_hand.pk
    )
    assert by_hand_body["data"]["alert"]["status"] == "resolved"
    assert "resolution" not in by_hand_body["data"]["alert"]  # a person's note stays home


def test_round_closed_carries_its_period_and_response_rate(
    alliance, receiver, django_capture_on_commit_callbacks
):
    endpoint = endpoint_for(alliance.partner_organization, receiver.url)
    opened = timezone.now() - timedelta(days=40)
    survey_round = survey_round_open(alliance, now=opened)
    with django_capture_on_commit_callbacks(execute=True):
        assert rounds_close_due(now=timezone.now()) == [survey_round.pk]
        rounds_close_due(now=timezone.now())  # nothing more is due
    (request,) = receiver.requests
    body = verify(endpoint.secret, request)
    assert body["type"] == "round.closed"
    assert body["organization"] == alliance.partner_organization.slug
    assert body["data"]["round"] == {
        "id": survey_round.pk,
        "label": survey_round.label,
        "kind": "scheduled",
        "period_start": survey_round.period_start.isoformat(),
        "period_end": survey_round.period_end.isoformat(),
        "closed_at": survey_round.closes_at.isoformat(),
        "response_rate": 0,
    }


def test_an_event_emitted_twice_is_delivered_once(world, receiver):
    endpoint = endpoint_for(world.northwind, receiver.url)
    transition = advance(world)
    webhooks.stage_changed(transition)  # e.g. a job run twice
    (delivery,) = deliveries(endpoint)
    assert webhooks.delivery_attempt(delivery_id=delivery.pk) == "sent"
    assert len(receiver.requests) == 1


def test_a_rolled_back_change_sends_nothing(world, receiver):
    endpoint = endpoint_for(world.northwind, receiver.url)
    with pytest.raises(RuntimeError, match="rolled"), transaction.atomic():
        advance(world)
        raise RuntimeError("rolled back")
    assert deliveries(endpoint) == []


# --- delivery: retries, claim, sweeper, disabling -------------------------------------------


def test_a_500_is_retried_with_backoff_until_the_server_recovers(
    world, receiver, django_capture_on_commit_callbacks
):
    endpoint = endpoint_for(world.northwind, receiver.url)
    receiver.answer = 500
    with django_capture_on_commit_callbacks(execute=True):
        advance(world)
    (delivery,) = deliveries(endpoint)
    first_try = timezone.now()
    assert len(receiver.requests) == 1
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert "500" in delivery.last_error
    wait = delivery.next_attempt_at - first_try
    assert timedelta(seconds=50) < wait <= timedelta(minutes=1)
    # Not due yet: nothing is sent.
    assert webhooks.delivery_attempt(delivery_id=delivery.pk, now=first_try) == "skipped"
    due = delivery.next_attempt_at
    assert webhooks.delivery_attempt(delivery_id=delivery.pk, now=due) == "retry"
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert delivery.next_attempt_at == due + timedelta(minutes=5)  # the backoff grows
    receiver.answer = 200
    assert webhooks.delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at) == (
        "sent"
    )
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 3, 200)
    assert len(receiver.requests) == 3
    ids = {verify(endpoint.secret, r)["id"] for r in receiver.requests}
    assert ids == {str(delivery.event_id)}  # the same event each time
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0


def test_after_the_last_attempt_the_delivery_has_failed(world, receiver):
    endpoint = endpoint_for(world.northwind, receiver.url)
    receiver.answer = 503
    advance(world)
    (delivery,) = deliveries(endpoint)
    now = delivery.next_attempt_at
    results = []
    for _ in range(webhooks.MAX_ATTEMPTS):
        results.append(webhooks.delivery_attempt(delivery_id=delivery.pk, now=now))
        delivery.refresh_from_db()
        now = delivery.next_attempt_at
    assert results == ["retry"] * (webhooks.MAX_ATTEMPTS - 1) + ["failed"]
    assert (delivery.status, delivery.attempts) == ("failed", webhooks.MAX_ATTEMPTS)
    assert webhooks.delivery_attempt(delivery_id=delivery.pk, now=now + timedelta(days=1)) == (
        "skipped"
    )
    assert len(receiver.requests) == webhooks.MAX_ATTEMPTS
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 1 and endpoint.is_active


def test_an_unreachable_endpoint_is_recorded_and_retried(world, settings):
    settings.WEBHOOKS_ALLOW_HTTP = True
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    endpoint = endpoint_for(world.northwind, "http://127.0.0.1:9/nobody-listens")
    advance(world)
    (delivery,) = deliveries(endpoint)
    assert webhooks.delivery_attempt(delivery_id=delivery.pk) == "retry"
    delivery.refresh_from_db()
    assert delivery.last_status_code is None and delivery.last_error


def test_failing_endpoints_are_disabled_with_one_email_to_each_admin(world, receiver):
    other_admin = UserFactory(email="grace@northwind.example")
    member(other_admin, world.northwind, Role.ADMIN)
    endpoint = endpoint_for(world.northwind, receiver.url)
    receiver.answer = 500
    count = webhooks.DISABLE_AFTER + 1
    for subject in range(count):
        webhooks.emit(
            WebhookEvent.STAGE_CHANGED, alliance=world.shared, subject=f"t{subject}", data={}
        )
    rows = deliveries(endpoint)
    assert len(rows) == count
    now = timezone.now()
    for _ in range(webhooks.MAX_ATTEMPTS):  # every delivery in step, as a queue would
        for row in rows:
            webhooks.delivery_attempt(delivery_id=row.pk, now=now)
        now += max(webhooks.BACKOFF) + timedelta(minutes=1)
    endpoint.refresh_from_db()
    assert endpoint.disabled_at is not None
    assert endpoint.consecutive_failures == webhooks.DISABLE_AFTER
    statuses = sorted(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("status"))
    assert statuses == [("failed",)] * webhooks.DISABLE_AFTER + [("pending",)]
    assert len(receiver.requests) == webhooks.DISABLE_AFTER * webhooks.MAX_ATTEMPTS + (
        webhooks.MAX_ATTEMPTS - 1
    )
    assert sorted(m.to[0] for m in mail.outbox) == [
        "ada@northwind.example",
        "grace@northwind.example",
    ]
    message = mail.outbox[0]
    assert "Webhook disabled" in message.subject
    assert receiver.url in message.body
    assert f"/o/northwind/settings/webhooks/{endpoint.pk}/" in message.body
    # Nothing more is sent, emitted or emailed while it is disabled.
    webhooks.deliveries_sweep(now=now + timedelta(days=1))
    webhooks._count_failure(endpoint, now=now)
    assert len(mail.outbox) == 2
    sent = len(receiver.requests)
    assert (
        webhooks.emit(WebhookEvent.STAGE_CHANGED, alliance=world.shared, subject="x", data={}) == 0
    )
    # Enabled again, the pending delivery resumes.
    receiver.answer = 200
    webhooks.endpoint_enable(endpoint=endpoint)
    (pending,) = WebhookDelivery.objects.filter(endpoint=endpoint, status="pending")
    assert webhooks.delivery_attempt(delivery_id=pending.pk, now=now) == "sent"
    assert len(receiver.requests) == sent + 1
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.consecutive_failures) == (True, 0)


def test_a_claimed_delivery_is_never_sent_twice(world, receiver):
    endpoint = endpoint_for(world.northwind, receiver.url)
    advance(world)
    (delivery,) = deliveries(endpoint)
    # Another worker holds the claim: this one sends nothing.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.DELIVERING, next_attempt_at=timezone.now() + webhooks.LEASE
    )
    assert webhooks.delivery_attempt(delivery_id=delivery.pk) == "skipped"
    assert receiver.requests == []
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, next_attempt_at=timezone.now()
    )
    # Delivered twice (a duplicate message, two workers): sent once.
    assert webhooks.delivery_attempt(delivery_id=delivery.pk) == "sent"
    assert webhooks.delivery_attempt(delivery_id=delivery.pk) == "skipped"
    assert len(receiver.requests) == 1


def test_the_sweeper_sends_what_was_never_enqueued_once(world, receiver):
    endpoint = endpoint_for(world.northwind, receiver.url)
    advance(world)  # the test transaction never commits: the enqueue is "lost"
    (delivery,) = deliveries(endpoint)
    now = timezone.now()
    assert webhooks.deliveries_sweep(now=now) == 0  # its own enqueue gets a moment first
    assert receiver.requests == []
    later = now + timedelta(minutes=2)
    run_job("webhook_deliveries", now=later)
    run_job("webhook_deliveries", now=later)
    webhooks.deliveries_sweep(now=later + timedelta(hours=1))
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED


def test_the_sweeper_takes_back_a_dead_workers_lease(world, receiver):
    endpoint = endpoint_for(world.northwind, receiver.url)
    advance(world)
    (delivery,) = deliveries(endpoint)
    crashed_at = timezone.now() - timedelta(minutes=10)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.DELIVERING, attempts=1, next_attempt_at=crashed_at + webhooks.LEASE
    )
    webhooks.deliveries_sweep(now=timezone.now())
    webhooks.deliveries_sweep(now=timezone.now())
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    assert len(receiver.requests) == 1


def test_retry_countdowns_stay_below_the_visibility_timeout(settings):
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 600}
    assert webhooks.max_countdown() == 300
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
    assert webhooks.max_countdown() == 900  # longer waits are the sweeper's


# --- URLs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, problem",
    [
        ("http://example.com/hook", "https"),
        ("ftp://example.com/hook", "https"),
        ("https://user:secret@example.com/hook", "credentials"),
        ("https://127.0.0.1/hook", "public address"),
        ("https://10.1.2.3/hook", "public address"),
        ("https://[::1]/hook", "public address"),
        ("https://localhost/hook", "public address"),
        ("https://169.254.169.254/latest", "public address"),
        ("https://example.com:99999/", "valid"),
    ],
)
def test_urls_that_are_refused(url, problem):
    assert problem in webhooks.url_problem(url)


def test_a_plain_public_https_url_is_fine(settings):
    assert webhooks.url_problem("https://hooks.example.com/concord?x=1") is None
    settings.WEBHOOKS_ALLOW_HTTP = True
    assert webhooks.url_problem("http://hooks.example.com/concord") is None


def test_sending_to_a_name_that_resolves_privately_is_refused(world, settings, monkeypatch):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    endpoint = endpoint_for(world.northwind, "https://hooks.example.com/concord")
    monkeypatch.setattr(
        webhooks.socket, "getaddrinfo", lambda host, port: [(2, 1, 6, "", ("10.0.0.5", 0))]
    )
    advance(world)
    (delivery,) = deliveries(endpoint)
    assert webhooks.delivery_attempt(delivery_id=delivery.pk) == "retry"
    delivery.refresh_from_db()
    assert "private address" in delivery.last_error


# --- the settings pages ----------------------------------------------------------------------


def page(name, org="northwind", *args):
    return reverse(name, args=[org, *args])


def test_admin_adds_a_webhook_sees_its_secret_and_pings_it(
    world, client_for, receiver, django_capture_on_commit_callbacks
):
    client = client_for(world.ada)
    assert client.get(page("webhooks")).status_code == 200
    response = client.post(
        page("webhooks"),
        {"url": receiver.url, "events": ["alert.raised", "round.closed"], "description": "CRM"},
    )
    endpoint = WebhookEndpoint.objects.get(organization=world.northwind)
    assert response.status_code == 302
    assert response["Location"] == page("webhook_detail", "northwind", endpoint.pk)
    assert endpoint.events == ["alert.raised", "round.closed"]
    assert endpoint.created_by == world.ada
    detail = client.get(page("webhook_detail", "northwind", endpoint.pk))
    assert endpoint.secret in detail.content.decode()
    assert detail["Cache-Control"] == "no-store"
    assert "Concord-Signature" in detail.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(page("webhook_ping", "northwind", endpoint.pk))
    (request,) = receiver.requests
    assert verify(endpoint.secret, request)["type"] == "ping"
    log = client.get(page("webhook_detail", "northwind", endpoint.pk)).content.decode()
    assert "ping" in log and "Delivered" in log
    # Admins find the page from any page's account menu.
    assert page("webhooks") in client.get(page("member_list")).content.decode()


def test_the_form_says_what_is_wrong(world, client_for, settings):
    client = client_for(world.ada)
    response = client.post(page("webhooks"), {"url": "http://example.com/x", "events": []})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "https" in errors["url"][0]
    assert "at least one event" in errors["events"][0]
    response = client.post(
        page("webhooks"), {"url": "https://me:pw@example.com/x", "events": ["nope"]}
    )
    assert "credentials" in response.context["form"].errors["url"][0]
    assert "events" in response.context["form"].errors
    assert not WebhookEndpoint.objects.exists()


def test_disabled_endpoints_are_enabled_again_and_deleted(world, client_for):
    endpoint = endpoint_for(world.northwind, "https://hooks.example.com/c")
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        disabled_at=timezone.now(), consecutive_failures=5
    )
    client = client_for(world.ada)
    assert (
        "Enable again"
        in client.get(page("webhook_detail", "northwind", endpoint.pk)).content.decode()
    )
    client.post(page("webhook_enable", "northwind", endpoint.pk))
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.consecutive_failures == 0
    client.post(page("webhook_delete", "northwind", endpoint.pk))
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("who", ["dan", "vic"])
def test_managers_and_viewers_get_403_on_every_page(world, client_for, who):
    endpoint = endpoint_for(world.northwind, "https://hooks.example.com/c")
    client = client_for(getattr(world, who))
    assert client.get(page("webhooks")).status_code == 403
    assert (
        client.post(
            page("webhooks"), {"url": "https://x.example/", "events": ["round.closed"]}
        ).status_code
        == 403
    )
    assert client.get(page("webhook_detail", "northwind", endpoint.pk)).status_code == 403
    for name in ("webhook_ping", "webhook_enable", "webhook_delete"):
        assert client.post(page(name, "northwind", endpoint.pk)).status_code == 403
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert not WebhookDelivery.objects.exists()
    assert "settings/webhooks" not in client.get(page("member_list")).content.decode()


def test_another_tenants_webhooks_are_404(world, client_for):
    endpoint = endpoint_for(world.northwind, "https://hooks.example.com/c")
    client = client_for(world.cy)  # Fabrikam's admin
    assert client.get(page("webhooks")).status_code == 404
    for org in ("northwind", "fabrikam"):
        assert client.get(page("webhook_detail", org, endpoint.pk)).status_code == 404
        for name in ("webhook_ping", "webhook_enable", "webhook_delete"):
            assert client.post(page(name, org, endpoint.pk)).status_code == 404
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert client.get(page("webhooks", "fabrikam")).status_code == 200
    assert endpoint.url not in client.get(page("webhooks", "fabrikam")).content.decode()


# --- the API ---------------------------------------------------------------------------------


def api_url(org="northwind", pk=None, tail=""):
    base = f"organizations/{org}/webhooks/"
    return v1(base + (f"{pk}/" if pk else "") + tail)


def test_api_create_read_update_delete(world, api_for):
    api = api_for(world.ada, world.northwind)
    response = api.post(
        api_url(), {"url": "https://hooks.example.com/a", "events": ["alert.raised"]}
    )
    assert response.status_code == 201, response.json()
    created = response.json()
    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    assert created["secret"] == endpoint.secret and endpoint.secret.startswith("whsec_")
    assert created["active"] is True and created["created_by"] == "ada@northwind.example"
    assert api.get(api_url()).json()["results"][0]["id"] == endpoint.pk
    response = api.patch(api_url(pk=endpoint.pk), {"events": ["round.closed", "alert.raised"]})
    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.events == ["round.closed", "alert.raised"]
    assert endpoint.url == "https://hooks.example.com/a"  # PATCH keeps what is not sent
    assert api.delete(api_url(pk=endpoint.pk)).status_code == 204
    assert not WebhookEndpoint.objects.exists()


def test_api_bad_input_is_a_field_error(world, api_for):
    api = api_for(world.ada, world.northwind)
    response = api.post(api_url(), {"url": "http://hooks.example.com/", "events": ["alert.raised"]})
    assert response.status_code == 400
    assert "https" in response.json()["errors"]["url"][0]
    response = api.post(api_url(), {"url": "https://h.example.com/", "events": ["nope"]})
    assert response.status_code == 400 and "events" in response.json()["errors"]
    response = api.post(
        api_url(), {"url": "https://h.example.com/", "events": ["alert.raised"], "secret": "x"}
    )
    assert response.status_code == 400
    assert response.json()["errors"]["secret"] == ["Unknown field."]
    response = api.post(api_url(), {"events": ["alert.raised"]})
    assert response.status_code == 400 and "url" in response.json()["errors"]
    assert not WebhookEndpoint.objects.exists()


def test_api_enable_ping_and_deliveries(
    world, api_for, receiver, django_capture_on_commit_callbacks
):
    endpoint = endpoint_for(world.northwind, receiver.url)
    api = api_for(world.ada, world.northwind)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(api_url(pk=endpoint.pk, tail="ping/"))
    assert response.status_code == 202
    assert response.json()["event"] == "ping"
    (request,) = receiver.requests
    verify(endpoint.secret, request)
    log = api.get(api_url(pk=endpoint.pk, tail="deliveries/")).json()["results"]
    assert [(d["event"], d["status"], d["last_status_code"]) for d in log] == [
        ("ping", "succeeded", 200)
    ]
    only_failed = api.get(api_url(pk=endpoint.pk, tail="deliveries/?status=failed")).json()
    assert only_failed["results"] == []
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(disabled_at=timezone.now())
    assert api.post(api_url(pk=endpoint.pk, tail="ping/")).status_code == 400
    response = api.post(api_url(pk=endpoint.pk, tail="enable/"))
    assert response.status_code == 200 and response.json()["active"] is True


@pytest.mark.parametrize("who", ["dan", "vic"])
def test_api_is_for_admins_only(world, api_for, who):
    endpoint = endpoint_for(world.northwind, "https://hooks.example.com/c")
    api = api_for(getattr(world, who), world.northwind)
    assert api.get(api_url()).status_code == 403
    assert api.get(api_url(pk=endpoint.pk)).status_code == 403
    assert api.get(api_url(pk=endpoint.pk, tail="deliveries/")).status_code == 403
    response = api.post(api_url(), {"url": "https://x.example/", "events": ["round.closed"]})
    assert response.status_code == 403
    assert api.patch(api_url(pk=endpoint.pk), {"description": "x"}).status_code == 403
    assert api.delete(api_url(pk=endpoint.pk)).status_code == 403
    assert api.post(api_url(pk=endpoint.pk, tail="ping/")).status_code == 403
    assert WebhookEndpoint.objects.count() == 1 and not WebhookDelivery.objects.exists()


def test_api_another_tenants_webhooks_are_404(world, api_for):
    endpoint = endpoint_for(world.northwind, "https://hooks.example.com/c")
    api = api_for(world.cy, world.fabrikam)
    assert api.get(api_url()).status_code == 404
    assert api.get(api_url("fabrikam")).json()["results"] == []
    for org in ("northwind", "fabrikam"):
        assert api.get(api_url(org, endpoint.pk)).status_code == 404
        assert api.get(api_url(org, endpoint.pk, "deliveries/")).status_code == 404
        assert api.patch(api_url(org, endpoint.pk), {"description": "x"}).status_code == 404
        assert api.delete(api_url(org, endpoint.pk)).status_code == 404
        assert api.post(api_url(org, endpoint.pk, "enable/")).status_code == 404
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_api_lists_use_a_constant_number_of_queries(world, api_for):
    api = api_for(world.ada, world.northwind)
    first = endpoint_for(world.northwind, "https://hooks.example.com/0", created_by=world.ada)

    def count(path):
        with CaptureQueriesContext(connection) as captured:
            assert api.get(path).status_code == 200
        return len(captured.captured_queries)

    def add_deliveries(n):
        for i in range(n):
            webhooks.emit(
                WebhookEvent.STAGE_CHANGED, alliance=world.shared, subject=f"q{i}-{n}", data={}
            )

    add_deliveries(1)
    api.get(api_url())  # the token's first use records its last-used time
    few = (count(api_url()), count(api_url(pk=first.pk, tail="deliveries/")))
    for i in range(1, 8):
        endpoint_for(world.northwind, f"https://hooks.example.com/{i}", created_by=world.dan)
    add_deliveries(9)
    many = (count(api_url()), count(api_url(pk=first.pk, tail="deliveries/")))
    assert few == many
