"""The audit log: each kind of event is recorded by the code path that causes it (pages, the
API, sign-in), with who and from where; the page is for the organisation's admins only."""

import logging

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from alliances import services
from alliances.api.auth import api_token_create
from alliances.audit import audit_record
from alliances.models import (
    ApiToken,
    AuditAction,
    AuditEvent,
    Membership,
    Role,
    Stage,
    WebhookEndpoint,
)
from scorecards import services as score_services
from tests.factories import PASSWORD, UserFactory, member
from tests.test_invitations import link_token, signup

ADDRESS = "203.0.113.5"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def events(organization, action=None):
    rows = AuditEvent.objects.visible_to(organization).order_by("pk")
    return list(rows.filter(action=action) if action else rows)


def only(organization, action) -> AuditEvent:
    (event,) = events(organization, action)
    return event


@pytest.fixture
def as_user(client):
    """A client signed in as ``user`` whose requests come from ``ADDRESS``; the sign-in's own
    events are cleared, so a test sees only what it does."""

    def sign_in(user):
        client.force_login(user)
        client.defaults["REMOTE_ADDR"] = ADDRESS
        AuditEvent.objects.all().delete()
        return client

    return sign_in


# --- sign-in ---------------------------------------------------------------------------------


def test_a_sign_in_is_recorded_in_each_of_the_persons_organisations(world):
    member(world.ben, world.northwind, Role.VIEWER)
    client = Client(REMOTE_ADDR=ADDRESS)
    response = client.post("/accounts/login/", {"username": world.ben.email, "password": PASSWORD})
    assert response.status_code == 302
    for organization in (world.contoso, world.northwind):
        event = only(organization, AuditAction.LOGIN)
        assert event.actor == world.ben and event.actor_email == world.ben.email
        assert event.ip == ADDRESS and world.ben.email in event.summary
    assert events(world.fabrikam) == []


def test_a_failed_sign_in_is_recorded_for_the_account_and_unknown_ones_only_logged(world, caplog):
    client = Client(REMOTE_ADDR=ADDRESS)
    client.post("/accounts/login/", {"username": world.ada.email, "password": "wrong"})
    event = only(world.northwind, AuditAction.LOGIN_FAILED)
    assert event.actor is None and event.actor_email == world.ada.email
    assert event.ip == ADDRESS and not events(world.northwind, AuditAction.LOGIN)
    assert events(world.contoso) == [] and events(world.fabrikam) == []

    with caplog.at_level(logging.WARNING, logger="concord.audit"):
        client.post("/accounts/login/", {"username": "nobody@example.com", "password": "x"})
    assert AuditEvent.objects.count() == 1  # nothing new, anywhere
    assert "nobody@example.com" in caplog.text and ADDRESS in caplog.text


# --- members ---------------------------------------------------------------------------------


def test_a_role_change_is_recorded_with_who_and_from_where(world, as_user):
    dan = Membership.objects.get(user=world.dan, organization=world.northwind)
    response = as_user(world.ada).post(f"/o/northwind/members/{dan.pk}/role/", {"role": Role.ADMIN})
    assert response.status_code == 302
    event = only(world.northwind, AuditAction.ROLE_CHANGED)
    assert event.actor == world.ada and event.ip == ADDRESS
    assert event.summary == "dan@northwind.example: Manager → Admin."
    assert event.target == f"membership {dan.pk}"


def test_a_refused_role_change_records_nothing(world, as_user):
    ada = Membership.objects.get(user=world.ada, organization=world.northwind)
    as_user(world.ada).post(f"/o/northwind/members/{ada.pk}/role/", {"role": Role.VIEWER})
    assert Membership.objects.get(pk=ada.pk).role == Role.ADMIN  # the last admin stays
    assert events(world.northwind) == []


def test_a_removal_is_recorded_and_outlives_the_actor(world, as_user):
    vic = Membership.objects.get(user=world.vic, organization=world.northwind)
    as_user(world.ada).post(f"/o/northwind/members/{vic.pk}/remove/")
    assert not Membership.objects.filter(pk=vic.pk).exists()
    event = only(world.northwind, AuditAction.MEMBER_REMOVED)
    assert "vic@northwind.example" in event.summary and event.actor == world.ada
    world.ada.delete()
    event.refresh_from_db()
    assert event.actor is None and event.actor_email == "ada@northwind.example"


def test_joining_through_an_invitation_is_recorded(
    world, as_user, django_capture_on_commit_callbacks
):
    admin = as_user(world.ada)
    with django_capture_on_commit_callbacks(execute=True):
        admin.post("/o/northwind/members/", {"email": "newbie@northwind.example", "role": "viewer"})
    token = link_token(mail.outbox[-1], "join")
    newcomer = Client(REMOTE_ADDR="198.51.100.4")
    assert newcomer.post(f"/join/{token}/", signup()).status_code == 302
    event = only(world.northwind, AuditAction.MEMBER_ADDED)
    assert event.actor.email == "newbie@northwind.example"
    assert event.ip == "198.51.100.4"
    assert "as Viewer" in event.summary and "Ada Lovelace" in event.summary
    assert only(world.northwind, AuditAction.LOGIN).actor == event.actor  # then signed in


# --- stages and thresholds ------------------------------------------------------------------


def test_stage_moves_are_recorded_for_both_parties(world, as_user):
    client = as_user(world.ada)
    base = f"/o/northwind/alliances/{world.shared.pk}/stage/"
    body = {"note": "Ready", "override_reason": "Board said go"}
    assert client.post(base + "advance/", body).status_code == 302
    assert client.post(base + "back/", {"to_stage": "1", "reason": "Too soon"}).status_code == 302
    for organization in (world.northwind, world.contoso):
        forward, back = events(organization, AuditAction.STAGE_CHANGED)
        assert "Formation → Governance" in forward.summary
        assert "Governance → Formation" in back.summary
        assert forward.actor == world.ada and forward.ip == ADDRESS
        assert forward.target == f"alliance {world.shared.pk}"
    assert events(world.fabrikam) == []


def test_a_stage_move_through_the_api_names_the_tokens_user(world):
    membership = Membership.objects.get(user=world.dan, organization=world.northwind)
    _, key = api_token_create(membership=membership, name="CRM")
    api = APIClient(REMOTE_ADDR=ADDRESS)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    url = f"/api/v1/organizations/northwind/alliances/{world.litware.pk}/transitions/advance/"
    assert api.post(url, {"note": "Ready", "override_reason": "Go"}).status_code == 201
    event = only(world.northwind, AuditAction.STAGE_CHANGED)
    assert event.actor == world.dan and event.ip == ADDRESS


def test_threshold_changes_are_recorded_and_an_unchanged_save_is_not(world, as_user):
    client = as_user(world.ada)
    body = {"green_from_3": "60", "red_below_3": "40"}
    assert client.post("/o/northwind/settings/thresholds/", body).status_code == 302
    event = only(world.northwind, AuditAction.THRESHOLD_CHANGED)
    assert event.summary == "Thresholds of Northwind: Execution: green from 60, red below 40."
    assert event.actor == world.ada and event.ip == ADDRESS
    client.post("/o/northwind/settings/thresholds/", body)  # the same again
    assert len(events(world.northwind, AuditAction.THRESHOLD_CHANGED)) == 1

    alliance = f"/o/northwind/alliances/{world.shared.pk}/health/thresholds/"
    client.post(alliance, {"green_from_all": "65", "red_below_all": "45"})
    latest = events(world.northwind, AuditAction.THRESHOLD_CHANGED)[-1]
    assert latest.summary == (
        f"Thresholds of “{world.shared.name}”: all stages: green from 65, red below 45."
    )


def test_the_threshold_services_record_too(world):
    score_services.threshold_save(
        organization=world.fabrikam, green_from=60, red_below=40, user=world.cy
    )
    score_services.threshold_delete(organization=world.fabrikam)
    saved, deleted = events(world.fabrikam, AuditAction.THRESHOLD_CHANGED)
    assert saved.actor == world.cy and "green from 60" in saved.summary
    assert deleted.actor is None and "override removed" in deleted.summary
    assert deleted.ip is None  # no request: a job or a command


# --- API tokens and webhooks ----------------------------------------------------------------


def test_api_tokens_made_and_revoked_are_recorded(world, as_user):
    client = as_user(world.dan)
    assert client.post("/o/northwind/settings/api-tokens/", {"name": "BI"}).status_code == 200
    token = ApiToken.objects.get(name="BI")
    created = only(world.northwind, AuditAction.API_TOKEN_CREATED)
    assert created.actor == world.dan and token.prefix in created.summary
    assert created.target == f"api token {token.pk}"
    admin = as_user(world.ada)
    admin.post(f"/o/northwind/settings/api-tokens/{token.pk}/revoke/")
    revoked = only(world.northwind, AuditAction.API_TOKEN_REVOKED)
    assert revoked.actor == world.ada and "dan@northwind.example" in revoked.summary


def test_webhooks_made_and_deleted_are_recorded(world, as_user):
    client = as_user(world.ada)
    body = {"url": "https://hooks.example.com/concord", "events": ["alert.raised"]}
    assert client.post("/o/northwind/settings/webhooks/", body).status_code == 302
    endpoint = WebhookEndpoint.objects.get(organization=world.northwind)
    created = only(world.northwind, AuditAction.WEBHOOK_CREATED)
    assert created.actor == world.ada and endpoint.url in created.summary
    client.post(f"/o/northwind/settings/webhooks/{endpoint.pk}/", {**body, "description": "x"})
    assert len(events(world.northwind, AuditAction.WEBHOOK_CREATED)) == 1  # an edit is not
    client.post(f"/o/northwind/settings/webhooks/{endpoint.pk}/delete/")
    deleted = only(world.northwind, AuditAction.WEBHOOK_DELETED)
    assert deleted.target == f"webhook {endpoint.pk}" and deleted.ip == ADDRESS


# --- the page --------------------------------------------------------------------------------

URL = "/o/northwind/settings/audit/"


def test_only_the_organisations_admins_see_the_log(world, client):
    assert client.get(URL).status_code == 302  # to the sign-in page
    for user, status in ((world.vic, 403), (world.dan, 403), (world.cy, 404), (world.ben, 404)):
        client.force_login(user)
        assert client.get(URL).status_code == status, user
    client.force_login(world.ada)
    assert client.get(URL).status_code == 200


def test_the_menu_links_the_log_for_admins_only(world, client):
    link = f'href="{URL}"'
    client.force_login(world.ada)
    assert link in client.get("/o/northwind/members/").content.decode()
    client.force_login(world.dan)
    assert link not in client.get("/o/northwind/members/").content.decode()


def test_the_log_is_newest_first_filtered_and_shows_no_other_tenants_events(world, client):
    client.force_login(world.cy)  # a sign-in at Fabrikam, which Northwind must not see
    audit_record(organizations=[world.northwind], action=AuditAction.ROLE_CHANGED, summary="older")
    audit_record(
        organizations=[world.northwind], action=AuditAction.WEBHOOK_CREATED, summary="newer"
    )
    client.force_login(world.ada)
    page = client.get(URL)
    shown = [event.summary for event in page.context["page"].object_list]
    assert shown[:3] == [f"{world.ada.email} signed in.", "newer", "older"]
    assert not any("cy@" in summary for summary in shown)
    filtered = client.get(URL, {"action": "role_changed"}).context["page"].object_list
    assert [event.summary for event in filtered] == ["older"]
    assert client.get(URL, {"action": "bogus"}).status_code == 200  # shows everything


def add_events(organization, n):
    AuditEvent.objects.bulk_create(
        AuditEvent(organization=organization, action=AuditAction.LOGIN, summary=f"event {i}")
        for i in range(n)
    )


def test_the_log_is_paginated_by_fifty(world, client):
    client.force_login(world.ada)
    AuditEvent.objects.all().delete()
    add_events(world.northwind, 120)
    first = client.get(URL).context["page"]
    assert len(first.object_list) == 50 and first.paginator.num_pages == 3
    last = client.get(URL, {"page": 3}).context["page"]
    assert len(last.object_list) == 20
    assert 'rel="next"' in client.get(URL).content.decode()


def test_the_log_page_costs_the_same_queries_however_many_events(world, client):
    client.force_login(world.ada)
    client.get(URL)  # the session and caches warm up
    add_events(world.northwind, 3)
    with CaptureQueriesContext(connection) as few:
        assert client.get(URL).status_code == 200
    add_events(world.northwind, 200)
    UserFactory.create_batch(3)
    with CaptureQueriesContext(connection) as many:
        assert client.get(URL).status_code == 200
    assert len(many) == len(few), [q["sql"][:90] for q in many.captured_queries]
    assert len(few) <= 4, [q["sql"][:120] for q in few.captured_queries]


def test_a_stage_move_outside_a_request_names_the_user_it_was_given(world):
    """A command or job: no request, so no address; the actor is the service's ``user``."""
    services.stage_advance(
        alliance=world.fabrikam_alliance,
        user=world.cy,
        organization=world.fabrikam,
        note="Ready",
        override_reason="Go",
    )
    event = only(world.fabrikam, AuditAction.STAGE_CHANGED)
    assert f"{Stage.FORMATION.label} → {Stage.GOVERNANCE.label}" in event.summary
    assert event.actor == world.cy and event.ip is None
