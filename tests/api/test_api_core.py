"""The API's conventions on its first resources: tokens, tenancy, roles, errors, pagination,
filters, unknown fields, idempotent bulk writes."""

import json

import pytest
from rest_framework.test import APIClient

from alliances.api.auth import api_token_create, api_token_revoke
from alliances.models import Alliance, ApiToken, Contact, IdempotencyKey, Membership, Side, Stage
from alliances.tokens import token_hash

from .conftest import v1


def alliance_url(world_alliance, org="northwind", rest=""):
    return v1(f"organizations/{org}/alliances/{world_alliance.pk}/{rest}")


# --- tokens ---------------------------------------------------------------------------------


def test_token_is_stored_only_as_a_hash_and_works_until_revoked(world):
    membership = Membership.objects.get(user=world.ada, organization=world.northwind)
    token, key = api_token_create(membership=membership, name="CRM sync")
    assert key.startswith("ck_") and len(key) > 40
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.token_hash == token_hash(key) and key not in stored.token_hash
    assert key not in json.dumps(list(ApiToken.objects.values()), default=str)
    assert stored.last_used_at is None

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get(v1("organizations/")).status_code == 200
    stored.refresh_from_db()
    assert stored.last_used_at is not None

    api_token_revoke(token=stored)
    response = client.get(v1("organizations/"))
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_no_credentials_or_a_wrong_key_is_a_401_with_the_error_body(world):
    response = APIClient().get(v1("organizations/"))
    assert response.status_code == 401
    assert set(response.json()) == {"status", "code", "detail"}
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer ck_not-a-key")
    assert client.get(v1("organizations/northwind/alliances/")).status_code == 401


def test_a_token_opens_only_its_own_organisation(world, api_for):
    # Ada is also made a member of Contoso: her Northwind token must still not open it.
    Membership.objects.create(user=world.ada, organization=world.contoso, role="admin")
    api = api_for(world.ada, world.northwind)
    assert [o["slug"] for o in api.get(v1("organizations/")).json()] == ["northwind"]
    assert api.get(v1("organizations/contoso/alliances/")).status_code == 404
    assert api.get(v1("organizations/contoso/")).status_code == 404


def test_a_removed_member_s_token_stops_working(world, api_for):
    api = api_for(world.dan, world.northwind)
    assert api.get(v1("organizations/northwind/alliances/")).status_code == 200
    Membership.objects.filter(user=world.dan).delete()
    assert api.get(v1("organizations/northwind/alliances/")).status_code == 404


# --- alliances ------------------------------------------------------------------------------


def test_alliances_lists_only_the_organisation_s_own(world, api_for):
    body = api_for(world.ben, world.contoso).get(v1("organizations/contoso/alliances/")).json()
    assert [a["name"] for a in body["results"]] == [world.shared.name]
    assert body["results"][0]["your_side"] == "partner"
    assert body["results"][0]["lead"] == {"name": "Northwind", "joined": True}
    assert body["count"] == 1


def test_another_tenant_s_alliance_is_a_404_for_every_method(world, api_for):
    api = api_for(world.cy, world.fabrikam)
    url = alliance_url(world.shared, org="fabrikam")
    assert api.get(url).status_code == 404
    assert api.patch(url, {"name": "Mine"}).status_code == 404
    assert api.get(alliance_url(world.shared, "fabrikam", "contacts/")).status_code == 404
    assert api.post(alliance_url(world.shared, "fabrikam", "contacts/"), {}).status_code == 404
    world.shared.refresh_from_db()
    assert world.shared.name != "Mine"


def test_create_and_edit_an_alliance_through_the_page_rules(world, api_for):
    api = api_for(world.dan, world.northwind)
    created = api.post(
        v1("organizations/northwind/alliances/"),
        {"name": "Northwind–Tailspin", "partner_name": "Tailspin", "purpose": "Fly"},
    )
    assert created.status_code == 201, created.json()
    assert created.json()["value_thesis"]["purpose"] == "Fly"
    alliance = Alliance.objects.get(pk=created.json()["id"])
    assert alliance.lead_organization == world.northwind and alliance.stage == Stage.FORMATION
    assert alliance.transitions.count() == 1  # the service ran, not just a save

    duplicate = api.post(
        v1("organizations/northwind/alliances/"),
        {"name": "northwind–tailspin", "partner_name": "Other"},
    )
    assert duplicate.status_code == 400
    assert duplicate.json()["errors"] == {"name": ["An alliance with this name already exists."]}

    edited = api.patch(alliance_url(alliance), {"strategic_importance": 5})
    assert edited.status_code == 200 and edited.json()["strategic_importance"] == 5
    alliance.refresh_from_db()
    assert alliance.partner_name == "Tailspin" and alliance.purpose == "Fly"  # untouched


def test_the_partner_may_not_edit_the_lead_s_settings_and_a_viewer_writes_nothing(world, api_for):
    partner = api_for(world.ben, world.contoso)
    response = partner.patch(alliance_url(world.shared, "contoso"), {"name": "Taken over"})
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    viewer = api_for(world.vic, world.northwind)
    assert viewer.post(v1("organizations/northwind/alliances/"), {"name": "x"}).status_code == 403
    assert viewer.patch(alliance_url(world.shared), {"name": "x"}).status_code == 403


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"name": "A", "partner_name": "B", "colour": "red"}, "colour", "Unknown field."),
        ({"name": ["A"], "partner_name": "B"}, "name", "Not a valid string."),
        (
            {"name": "A", "partner_name": "B", "strategic_importance": 9},
            "strategic_importance",
            "Ensure this value is less than or equal to 5.",
        ),
        ({"name": "A", "partner_name": "B", "start_date": "tomorrow"}, "start_date", None),
        ({"partner_name": "B"}, "name", "This field is required."),
    ],
)
def test_bad_fields_get_field_errors(world, api_for, body, field, message):
    response = api_for(world.ada, world.northwind).post(
        v1("organizations/northwind/alliances/"), body, format="json"
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert field in errors
    if message:
        assert errors[field] == [message]


def test_malformed_json_and_a_non_object_body_are_clear_400s(world, api_for):
    api = api_for(world.ada, world.northwind)
    url = v1("organizations/northwind/alliances/")
    response = api.generic("POST", url, "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "parse_error"
    response = api.post(url, [1, 2], format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"non_field_errors": ["Send a JSON object."]}
    response = api.generic("POST", url, "name=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


# --- pagination, filters, ordering ----------------------------------------------------------


def test_page_size_is_capped_with_an_error_not_silently(world, api_for):
    api = api_for(world.ada, world.northwind)
    url = v1("organizations/northwind/alliances/")
    assert api.get(url, {"page_size": 1}).json()["next"]
    for bad in ("1000", "0", "many"):
        response = api.get(url, {"page_size": bad})
        assert response.status_code == 400
        assert "page_size" in response.json()["errors"]
    assert api.get(url, {"page": 99}).status_code == 404


def test_filters_and_ordering(world, api_for):
    api = api_for(world.ada, world.northwind)
    url = v1("organizations/northwind/alliances/")
    names = [a["name"] for a in api.get(url, {"ordering": "-name"}).json()["results"]]
    assert names == sorted(names, reverse=True) and len(names) == 2
    found = api.get(url, {"name__icontains": "litware"}).json()["results"]
    assert [a["name"] for a in found] == [world.litware.name]
    assert api.get(url, {"stage": "not-a-stage"}).status_code == 400
    assert api.get(url, {"ordering": "secret_field"}).status_code == 200  # ignored, not an error


# --- contacts -------------------------------------------------------------------------------


def test_each_side_adds_and_edits_only_its_own_contacts(world, api_for):
    partner = api_for(world.ben, world.contoso)
    url = alliance_url(world.shared, "contoso", "contacts/")
    created = partner.post(url, {"name": "Cleo", "email": "CLEO@contoso.example"})
    assert created.status_code == 201, created.json()
    assert created.json()["side"] == "partner" and created.json()["email"] == "cleo@contoso.example"
    lead_contact = world.shared.contacts.get(side=Side.LEAD)
    response = partner.patch(f"{url}{lead_contact.pk}/", {"name": "Renamed"})
    assert response.status_code == 403
    lead_contact.refresh_from_db()
    assert lead_contact.name != "Renamed"


def test_bulk_contacts_are_all_or_nothing_with_errors_by_position(world, api_for):
    api = api_for(world.ada, world.northwind)
    url = alliance_url(world.shared, rest="contacts/bulk/")
    before = Contact.objects.count()
    response = api.post(
        url,
        {
            "contacts": [
                {"name": "One", "email": "one@northwind.example"},
                {"name": "Two", "email": "not-an-email"},
                {"name": "Again", "email": "ONE@northwind.example"},
            ]
        },
    )
    assert response.status_code == 400
    errors = response.json()["errors"]["contacts"]
    assert set(errors) == {"1", "2"}
    assert "email" in errors["1"] and "email" in errors["2"]
    assert Contact.objects.count() == before

    good = {"contacts": [{"name": f"P{i}", "email": f"p{i}@northwind.example"} for i in range(3)]}
    response = api.post(url, good)
    assert response.status_code == 201
    assert [c["side"] for c in response.json()["created"]] == ["lead"] * 3
    assert Contact.objects.count() == before + 3


def test_idempotency_key_replays_the_first_answer_and_refuses_a_different_body(world, api_for):
    api = api_for(world.ada, world.northwind)
    url = alliance_url(world.shared, rest="contacts/bulk/")
    body = {"contacts": [{"name": "Once", "email": "once@northwind.example"}]}
    first = api.post(url, body, HTTP_IDEMPOTENCY_KEY="import-42")
    again = api.post(url, body, HTTP_IDEMPOTENCY_KEY="import-42")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Contact.objects.filter(email="once@northwind.example").count() == 1

    other = {"contacts": [{"name": "Other", "email": "other@northwind.example"}]}
    conflict = api.post(url, other, HTTP_IDEMPOTENCY_KEY="import-42")
    assert conflict.status_code == 409 and conflict.json()["code"] == "conflict"
    assert not Contact.objects.filter(email="other@northwind.example").exists()

    # A failed request does not use up its key: fixed and sent again, it is written.
    bad = {"contacts": [{"name": "Fix", "email": "broken"}]}
    assert api.post(url, bad, HTTP_IDEMPOTENCY_KEY="import-43").status_code == 400
    fixed = {"contacts": [{"name": "Fix", "email": "fix@northwind.example"}]}
    assert api.post(url, fixed, HTTP_IDEMPOTENCY_KEY="import-43").status_code == 201
    assert IdempotencyKey.objects.filter(key__startswith="import-").count() == 2

    # Keys belong to the client that sent them: another token may reuse the name.
    dan = api.__class__()
    _, key = api_token_create(membership=Membership.objects.get(user=world.dan), name="dan")
    dan.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert dan.post(url, other, HTTP_IDEMPOTENCY_KEY="import-42").status_code == 201


def test_a_bad_idempotency_key_is_a_field_error(world, api_for):
    api = api_for(world.ada, world.northwind)
    url = alliance_url(world.shared, rest="contacts/bulk/")
    body = {"contacts": [{"name": "x", "email": "x@northwind.example"}]}
    response = api.post(url, body, HTTP_IDEMPOTENCY_KEY="has spaces")
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["errors"]


# --- the lifecycle --------------------------------------------------------------------------


def test_stage_moves_follow_the_gate_rules(world, api_for):
    api = api_for(world.ada, world.northwind)
    url = alliance_url(world.litware, rest="transitions/")
    response = api.post(url + "advance/", {"note": ""})
    assert response.status_code == 400 and "note" in response.json()["errors"]
    response = api.post(url + "advance/", {"note": "Ready", "override_reason": "Board said go"})
    assert response.status_code == 201, response.json()
    world.litware.refresh_from_db()
    assert world.litware.stage == Stage.GOVERNANCE
    listed = api.get(url).json()["results"]
    assert listed[0]["to_stage"] == Stage.GOVERNANCE and listed[0]["by_organization"] == "Northwind"
    back = api.post(url + "back/", {"to_stage": 5, "reason": "Oops"})
    assert back.status_code == 400 and back.json()["errors"]["to_stage"]
    partner = api_for(world.ben, world.contoso)
    assert (
        partner.post(
            alliance_url(world.shared, "contoso", "transitions/advance/"), {"note": "x"}
        ).status_code
        == 403
    )


def test_idempotency_keys_are_forgotten_after_a_day(world, api_for):
    from datetime import timedelta

    from django.utils import timezone

    from alliances.jobs import run_job

    api = api_for(world.ada, world.northwind)
    url = alliance_url(world.shared, rest="contacts/bulk/")
    body = {"contacts": [{"name": "Day", "email": "day@northwind.example"}]}
    assert api.post(url, body, HTTP_IDEMPOTENCY_KEY="day-1").status_code == 201
    run_job("idempotency_keys_expire", now=timezone.now() + timedelta(hours=23))
    assert IdempotencyKey.objects.filter(key="day-1").exists()
    run_job("idempotency_keys_expire", now=timezone.now() + timedelta(hours=25))
    run_job("idempotency_keys_expire", now=timezone.now() + timedelta(hours=25))  # twice: same
    assert not IdempotencyKey.objects.filter(key="day-1").exists()
    # The key is free again: the same request now writes (and meets the duplicate email).
    again = api.post(url, body, HTTP_IDEMPOTENCY_KEY="day-1")
    assert again.status_code == 400 and "email" in again.json()["errors"]["contacts"]["0"]


def test_huge_and_negative_ids_are_clear_answers_not_crashes(world, api_for, client_for):
    page = client_for(world.ada).get("/o/northwind/alliances/99999999999999999999999/")
    assert page.status_code == 404
    api = api_for(world.ada, world.northwind)
    assert (
        api.get(alliance_url(world.shared, rest="contacts/99999999999999999999999/")).status_code
        == 404
    )
    assert api.get(v1("organizations/northwind/alliances/-3/")).json()["code"] == "not_found"
    response = api.post(
        alliance_url(world.shared, rest="bodies/"),
        {"name": "Big", "tier": "operational_council", "members": [2**70, -1]},
    )
    assert response.status_code == 400 and "members" in response.json()["errors"]


def test_date_time_filters_refuse_offsets_no_database_takes(world, api_for):
    api = api_for(world.ada, world.northwind)
    url = v1("organizations/northwind/alerts/")
    for bad in ("0025-07-21T21:13:37+21:15", "0001-01-01T00:00:00+05:00"):
        response = api.get(url, {"raised_at__lte": bad})
        assert response.status_code == 400, bad
        assert "raised_at__lte" in response.json()["errors"]
    assert api.get(url, {"raised_at__lte": "2026-07-21T21:13:37+05:30"}).status_code == 200


def _queries(api, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert api.get(url).status_code == 200
    return len(captured)


def test_list_queries_do_not_grow_with_the_rows(world, api_for):
    from alliances import services as alliance_services
    from tests.factories import ContactFactory

    api = api_for(world.ada, world.northwind)
    urls = [
        v1("organizations/"),
        v1("organizations/northwind/alliances/"),
        alliance_url(world.shared, rest="contacts/"),
        alliance_url(world.shared, rest="transitions/"),
    ]
    api.get(urls[0])  # the token's first use of the minute also records it: not a list's cost
    before = [_queries(api, url) for url in urls]
    for i in range(6):
        alliance = alliance_services.alliance_create(
            organization=world.northwind, user=world.ada, name=f"Extra {i}", partner_name=f"P{i}"
        )
        alliance.partner_organization = world.contoso
        alliance.save()
        ContactFactory(alliance=world.shared, side=Side.LEAD)
        alliance_services.stage_advance(
            alliance=world.shared if i == 0 else alliance,
            user=world.ada,
            organization=world.northwind,
            note="Next",
            override_reason="Test",
        )
    after = [_queries(api, url) for url in urls]
    assert after == before
