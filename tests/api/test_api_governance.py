"""Governance through the API: bodies, meetings, decision rights, decisions, escalations,
action items and risks, with the pages' rules (tenancy, roles, sides, visibility)."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alliances.models import Side, Visibility
from governance import services
from governance.defaults import DEFAULT_DECISION_RIGHTS
from governance.models import (
    ActionItem,
    ActionStatus,
    Decision,
    DecisionRight,
    Escalation,
    GovernanceBody,
    GovernanceChange,
    Meeting,
    Risk,
    RiskCategory,
    Tier,
)
from tests.factories import ContactFactory

from .conftest import v1

RESOURCES = [
    "bodies",
    "meetings",
    "decision-rights",
    "decisions",
    "escalations",
    "actions",
    "risks",
]
SIDE_OWNED = ["actions", "risks"]


def url(alliance, rest: str, org: str = "northwind") -> str:
    return v1(f"organizations/{org}/alliances/{alliance.pk}/{rest}")


def contact(alliance, side=Side.LEAD):
    return alliance.contacts.filter(side=side).order_by("pk").first()


def ids(response) -> set[int]:
    assert response.status_code == 200, response.json()
    return {row["id"] for row in response.json()["results"]}


def first_row(alliance, resource: str):
    """One row of each resource in the shared alliance (a shared one for actions/risks)."""
    models = {
        "bodies": GovernanceBody,
        "meetings": Meeting,
        "decision-rights": DecisionRight,
        "decisions": Decision,
        "escalations": Escalation,
        "actions": ActionItem,
        "risks": Risk,
    }
    rows = models[resource].objects.filter(alliance=alliance)
    if resource in SIDE_OWNED:
        rows = rows.filter(visibility=Visibility.SHARED)
    return rows.order_by("pk").first()


@pytest.fixture
def lead(world, api_for):
    return api_for(world.dan, world.northwind)


@pytest.fixture
def partner(world, api_for):
    return api_for(world.ben, world.contoso)


# --- reading: both sides, and never the other side's internal records -----------------------


@pytest.mark.parametrize("resource", RESOURCES)
def test_both_sides_read_every_resource(world, lead, partner, resource):
    seen_by_lead = ids(lead.get(url(world.shared, f"{resource}/")))
    seen_by_partner = ids(partner.get(url(world.shared, f"{resource}/", "contoso")))
    assert seen_by_lead and seen_by_partner
    row = first_row(world.shared, resource)
    for api, org in ((lead, "northwind"), (partner, "contoso")):
        response = api.get(url(world.shared, f"{resource}/{row.pk}/", org))
        assert response.status_code == 200 and response.json()["id"] == row.pk
    # Another alliance's row is not here, even for an organisation that is party to both.
    other = first_row(world.litware, resource)
    assert lead.get(url(world.shared, f"{resource}/{other.pk}/")).status_code == 404
    assert other.pk not in seen_by_lead


@pytest.mark.parametrize("resource", SIDE_OWNED)
def test_each_side_sees_shared_records_and_only_its_own_internal_ones(
    world, lead, partner, resource
):
    model = ActionItem if resource == "actions" else Risk
    rows = model.objects.filter(alliance=world.shared)
    for api, mine, theirs in (
        (lead, world.northwind, world.contoso),
        (partner, world.contoso, world.northwind),
    ):
        org = mine.slug
        seen = ids(api.get(url(world.shared, f"{resource}/", org), {"page_size": 200}))
        expected = rows.exclude(author_organization=theirs, visibility=Visibility.INTERNAL)
        assert seen == set(expected.values_list("pk", flat=True))
        hidden = rows.get(author_organization=theirs, visibility=Visibility.INTERNAL)
        assert hidden.pk not in seen
        assert api.get(url(world.shared, f"{resource}/{hidden.pk}/", org)).status_code == 404
        assert api.patch(url(world.shared, f"{resource}/{hidden.pk}/", org), {}).status_code == 404
        filtered = api.get(url(world.shared, f"{resource}/", org), {"visibility": "internal"})
        assert ids(filtered) == {rows.get(author_organization=mine, visibility="internal").pk}
        own = api.get(url(world.shared, f"{resource}/", org)).json()["results"]
        sides = {r["id"]: r["author_side"] for r in own}
        shared_by_them = rows.get(author_organization=theirs, visibility=Visibility.SHARED)
        assert sides[shared_by_them.pk] == world.shared.side_of(theirs)


# --- roles and tenants ----------------------------------------------------------------------


def writes(alliance, resource: str, row) -> list[tuple[str, str]]:
    found = [("post", f"{resource}/")]
    if resource not in ("decisions", "escalations"):
        found.append(("patch", f"{resource}/{row.pk}/"))
    extra = {
        "decision-rights": [
            ("delete", f"decision-rights/{row.pk}/"),
            ("post", "decision-rights/defaults/"),
        ],
        "escalations": [("post", f"escalations/{row.pk}/resolve/")],
        "actions": [("post", f"actions/{row.pk}/complete/")],
    }
    return found + extra.get(resource, [])


@pytest.mark.parametrize("resource", RESOURCES)
def test_a_viewer_reads_but_writes_nothing(world, api_for, resource):
    viewer = api_for(world.vic, world.northwind)
    row = first_row(world.shared, resource)
    assert viewer.get(url(world.shared, f"{resource}/")).status_code == 200
    for method, rest in writes(world.shared, resource, row):
        response = getattr(viewer, method)(url(world.shared, rest), {"title": "x"})
        assert response.status_code == 403, (method, rest)
        assert response.json()["code"] == "permission_denied"
    assert type(row).objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize("resource", RESOURCES)
def test_an_outsider_gets_404_for_every_method(world, api_for, resource):
    outsider = api_for(world.cy, world.fabrikam)
    row = first_row(world.shared, resource)
    before = type(row).objects.count()
    assert outsider.get(url(world.shared, f"{resource}/", "fabrikam")).status_code == 404
    assert outsider.get(url(world.shared, f"{resource}/{row.pk}/", "fabrikam")).status_code == 404
    for method, rest in writes(world.shared, resource, row):
        response = getattr(outsider, method)(url(world.shared, rest, "fabrikam"), {"title": "x"})
        assert response.status_code == 404, (method, rest)
    # Their own alliance's URL does not reach Northwind's row either.
    mine = url(world.fabrikam_alliance, f"{resource}/{row.pk}/", "fabrikam")
    assert outsider.get(mine).status_code == 404
    assert type(row).objects.count() == before


def test_an_archived_alliance_takes_no_governance_writes(world, lead):
    world.shared.archived_at = timezone.now()
    world.shared.save()
    response = lead.post(url(world.shared, "risks/"), {"title": "Late"})
    assert response.status_code == 403 and "archived" in response.json()["detail"]


@pytest.mark.parametrize("resource", RESOURCES)
def test_unknown_fields_and_non_objects_are_refused(world, lead, resource):
    model = type(first_row(world.shared, resource))
    before = model.objects.count()
    response = lead.post(url(world.shared, f"{resource}/"), {"colour": "red"})
    assert response.status_code == 400
    assert response.json()["errors"]["colour"] == ["Unknown field."]
    response = lead.post(url(world.shared, f"{resource}/"), ["not", "an", "object"])
    assert response.json()["errors"] == {"non_field_errors": ["Send a JSON object."]}
    row = first_row(world.shared, resource)
    if resource not in ("decisions", "escalations"):
        response = lead.patch(url(world.shared, f"{resource}/{row.pk}/"), {"colour": "red"})
        assert response.json()["errors"] == {"colour": ["Unknown field."]}
    assert model.objects.count() == before


@pytest.mark.parametrize("resource", ["decisions", "escalations"])
def test_logged_records_cannot_be_edited(world, lead, resource):
    row = first_row(world.shared, resource)
    response = lead.patch(url(world.shared, f"{resource}/{row.pk}/"), {"title": "x"})
    assert response.status_code == 405


# --- bodies ---------------------------------------------------------------------------------


def test_create_a_body_the_chair_joins_its_members(world, lead):
    member = contact(world.shared, Side.PARTNER)
    chair = contact(world.shared, Side.LEAD)
    response = lead.post(
        url(world.shared, "bodies/"),
        {
            "name": "Steering",
            "tier": Tier.EXECUTIVE_STEERING,
            "members": [member.pk],
            "chair": chair.pk,
        },
    )
    assert response.status_code == 201, response.json()
    body = GovernanceBody.objects.get(pk=response.json()["id"])
    assert body.cadence == "quarterly"  # the tier's default, as the service sets it
    assert set(body.members.all()) == {member, chair}
    assert set(response.json()["members"]) == {member.pk, chair.pk}

    edited = lead.patch(url(world.shared, f"bodies/{body.pk}/"), {"purpose": "Direction"})
    assert edited.status_code == 200, edited.json()
    body.refresh_from_db()
    assert body.purpose == "Direction" and body.chair == chair and body.members.count() == 2

    duplicate = lead.post(
        url(world.shared, "bodies/"), {"name": "STEERING", "tier": "working_team"}
    )
    assert duplicate.status_code == 400
    assert duplicate.json()["errors"] == {
        "name": ["This alliance already has a body with this name."]
    }


def test_the_partner_edits_bodies_too(world, partner):
    body = first_row(world.shared, "bodies")
    response = partner.patch(
        url(world.shared, f"bodies/{body.pk}/", "contoso"), {"cadence": "weekly"}
    )
    assert response.status_code == 200, response.json()
    body.refresh_from_db()
    assert body.cadence == "weekly"


@pytest.mark.parametrize("field", ["members", "chair"])
@pytest.mark.parametrize("where", ["litware", "fabrikam_alliance"])
def test_body_people_must_be_contacts_of_this_alliance(world, lead, field, where):
    stranger = contact(getattr(world, where))
    value = [stranger.pk] if field == "members" else stranger.pk
    body = first_row(world.shared, "bodies")
    response = lead.patch(url(world.shared, f"bodies/{body.pk}/"), {field: value})
    assert response.status_code == 400
    assert response.json()["errors"][field] == ["Choose people who are contacts of this alliance."]
    assert stranger not in body.members.all()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "tier": "galactic"}, "tier"),
        ({"tier": "working_team"}, "name"),
        ({"name": "X", "tier": "working_team", "members": "all"}, "members"),
        ({"name": "X", "tier": "working_team", "colour": "red"}, "colour"),
    ],
)
def test_bad_body_input_is_a_field_error(world, lead, body, field):
    response = lead.post(url(world.shared, "bodies/"), body)
    assert response.status_code == 400 and field in response.json()["errors"]


# --- meetings -------------------------------------------------------------------------------


def test_record_a_meeting_with_attendees_and_decisions_taken(world, lead):
    body = first_row(world.shared, "bodies")
    came = contact(world.shared, Side.PARTNER)
    response = lead.post(
        url(world.shared, "meetings/"),
        {
            "body": body.pk,
            "held_on": "2026-03-02",
            "agenda": "Pipeline",
            "attendees": [came.pk],
            "decisions": [{"decision": "Ship it", "rationale": "Ready"}, {"decision": ""}],
        },
    )
    assert response.status_code == 201, response.json()
    meeting = Meeting.objects.get(pk=response.json()["id"])
    assert meeting.body == body and list(meeting.attendees.all()) == [came]
    assert meeting.created_by == world.dan
    decision = meeting.decisions.get()
    assert (decision.decision, decision.forum, decision.decided_on) == (
        "Ship it",
        body.name,
        date(2026, 3, 2),
    )
    assert decision.recorded_by == world.dan
    assert response.json()["decisions"] == [decision.pk]

    edited = lead.patch(url(world.shared, f"meetings/{meeting.pk}/"), {"notes": "Went well"})
    assert edited.status_code == 200, edited.json()
    meeting.refresh_from_db()
    assert meeting.notes == "Went well" and list(meeting.attendees.all()) == [came]
    moved = lead.patch(url(world.shared, f"meetings/{meeting.pk}/"), {"body": body.pk})
    assert moved.status_code == 400 and moved.json()["errors"] == {"body": ["Unknown field."]}


def test_meeting_attendees_are_members_of_the_body_and_of_this_alliance(world, lead):
    body = first_row(world.shared, "bodies")
    newcomer = ContactFactory(alliance=world.shared, side=Side.LEAD, name="Nova Newcomer")
    response = lead.post(
        url(world.shared, "meetings/"),
        {"body": body.pk, "held_on": "2026-03-02", "attendees": [newcomer.pk]},
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "attendees": [f"Not members of {body.name}: Nova Newcomer."]
    }
    for where in (world.litware, world.fabrikam_alliance):
        response = lead.post(
            url(world.shared, "meetings/"),
            {"body": body.pk, "held_on": "2026-03-02", "attendees": [contact(where).pk]},
        )
        assert response.status_code == 400
        assert response.json()["errors"]["attendees"] == [
            "Choose people who are contacts of this alliance."
        ]
    for stranger_body in (
        first_row(world.litware, "bodies"),
        first_row(world.fabrikam_alliance, "bodies"),
    ):
        response = lead.post(
            url(world.shared, "meetings/"), {"body": stranger_body.pk, "held_on": "2026-03-02"}
        )
        assert response.status_code == 400
        assert response.json()["errors"] == {"body": ["Choose a body of this alliance."]}
    response = lead.post(
        url(world.shared, "meetings/"),
        {"body": body.pk, "held_on": "2026-03-02", "decisions": [{"rationale": "Why"}]},
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "decisions": {"0": {"decision": ["Write the decision, or clear its rationale."]}}
    }
    assert not Meeting.objects.filter(held_on=date(2026, 3, 2)).exists()


def test_meetings_filter_by_body_and_date(world, lead):
    body = first_row(world.shared, "bodies")
    other = services.body_save(
        body=GovernanceBody(alliance=world.shared, name="Working team", tier=Tier.WORKING_TEAM)
    )
    old = services.meeting_record(meeting=Meeting(body=other, held_on=date(2025, 1, 15)))
    listing = url(world.shared, "meetings/")
    assert ids(lead.get(listing, {"body": other.pk})) == {old.pk}
    assert old.pk not in ids(lead.get(listing, {"body": body.pk}))
    assert ids(lead.get(listing, {"held_on__lte": "2025-12-31"})) == {old.pk}
    assert old.pk not in ids(lead.get(listing, {"held_on__gte": "2026-01-01"}))
    # Another tenant's body id filters to nothing, like an id that does not exist.
    foreign = first_row(world.fabrikam_alliance, "bodies")
    assert ids(lead.get(listing, {"body": foreign.pk})) == set()
    assert ids(lead.get(listing, {"body": 999_999})) == set()
    assert lead.get(listing, {"body": "one"}).status_code == 400


# --- decision rights ------------------------------------------------------------------------


def test_edit_the_decision_rights_matrix_with_history(world, lead, partner):
    listing = url(world.shared, "decision-rights/")
    created = lead.post(
        listing,
        {"decision_type": "Pricing", "owner": "Sales leads", "forum": "Council", "sla_days": 5},
    )
    assert created.status_code == 201, created.json()
    right = DecisionRight.objects.get(pk=created.json()["id"])
    assert right.position == len(DEFAULT_DECISION_RIGHTS)
    assert created.json()["escalation_rung"] == 3  # the model's default

    changed = partner.patch(
        url(world.shared, f"decision-rights/{right.pk}/", "contoso"), {"sla_days": 8}
    )
    assert changed.status_code == 200, changed.json()
    right.refresh_from_db()
    assert right.sla_days == 8

    history = GovernanceChange.objects.filter(subject="decision right", object_id=right.pk)
    assert [c.author_organization for c in history.order_by("pk")] == [
        world.northwind,
        world.contoso,
    ]
    duplicate = lead.post(
        listing, {"decision_type": "pricing", "owner": "x", "forum": "y", "sla_days": 3}
    )
    assert duplicate.json()["errors"] == {
        "decision_type": ["The matrix already has this decision type."]
    }
    for days in (0, 366):
        response = lead.patch(url(world.shared, f"decision-rights/{right.pk}/"), {"sla_days": days})
        assert response.json()["errors"] == {"sla_days": ["The SLA is between 1 and 365 days."]}

    removed = lead.delete(url(world.shared, f"decision-rights/{right.pk}/"))
    assert removed.status_code == 204
    assert not DecisionRight.objects.filter(pk=right.pk).exists()
    assert history.filter(summary__startswith="Removed").exists()


def test_default_rows_are_added_once(world, lead):
    DecisionRight.objects.filter(alliance=world.shared).delete()
    response = lead.post(url(world.shared, "decision-rights/defaults/"))
    assert response.status_code == 200 and response.json() == {
        "added": len(DEFAULT_DECISION_RIGHTS)
    }
    again = lead.post(url(world.shared, "decision-rights/defaults/"))
    assert again.json() == {"added": 0}
    assert DecisionRight.objects.filter(alliance=world.shared).count() == len(
        DEFAULT_DECISION_RIGHTS
    )


# --- decisions ------------------------------------------------------------------------------


def test_log_a_decision_linked_to_this_alliance_s_meeting_and_right(world, lead):
    meeting = first_row(world.shared, "meetings")
    right = first_row(world.shared, "decision-rights")
    response = lead.post(
        url(world.shared, "decisions/"),
        {
            "decision": "Enter Nordics",
            "forum": "Council",
            "decided_on": "2026-02-01",
            "meeting": meeting.pk,
            "decision_right": right.pk,
        },
    )
    assert response.status_code == 201, response.json()
    decision = Decision.objects.get(pk=response.json()["id"])
    assert decision.recorded_by == world.dan and decision.meeting == meeting
    listing = url(world.shared, "decisions/")
    assert decision.pk in ids(lead.get(listing, {"decision_right": right.pk}))
    assert ids(
        lead.get(listing, {"decided_on__gte": "2026-02-01", "decided_on__lte": "2026-02-01"})
    ) == {decision.pk}

    for field, foreign, message in (
        ("meeting", first_row(world.litware, "meetings"), "Choose a meeting of this alliance."),
        (
            "decision_right",
            first_row(world.fabrikam_alliance, "decision-rights"),
            "Choose a row of this alliance's matrix.",
        ),
    ):
        response = lead.post(
            listing, {"decision": "x", "forum": "y", "decided_on": "2026-02-01", field: foreign.pk}
        )
        assert response.status_code == 400
        assert response.json()["errors"] == {field: [message]}


# --- escalations ----------------------------------------------------------------------------


def test_raise_and_resolve_an_escalation(world, lead, partner):
    right = first_row(world.shared, "decision-rights")
    raised = partner.post(
        url(world.shared, "escalations/", "contoso"),
        {"title": "Pricing stuck", "rung": 2, "decision_right": right.pk},
    )
    assert raised.status_code == 201, raised.json()
    body = raised.json()
    assert body["sla_days"] == right.sla_days and body["raised_by_organization"] == "Contoso"
    assert body["is_open"] and body["moves"] == []
    escalation = Escalation.objects.get(pk=body["id"])
    assert escalation.due_at - escalation.raised_at == timedelta(days=right.sla_days)
    assert escalation.raised_by == world.ben

    resolve = url(world.shared, f"escalations/{escalation.pk}/resolve/")
    blank = lead.post(resolve, {"resolution": ""})
    assert blank.status_code == 400 and "resolution" in blank.json()["errors"]
    assert lead.post(resolve, {"resolution": "Agreed", "extra": 1}).json()["errors"] == {
        "extra": ["Unknown field."]
    }
    resolved = lead.post(resolve, {"resolution": "Split the difference"})
    assert resolved.status_code == 200, resolved.json()
    assert (
        not resolved.json()["is_open"] and resolved.json()["resolution"] == "Split the difference"
    )
    escalation.refresh_from_db()
    assert escalation.resolved_at is not None
    assert GovernanceChange.objects.filter(
        subject="escalation", object_id=escalation.pk, summary__startswith="Resolved"
    ).exists()

    again = lead.post(resolve, {"resolution": "Once more"})
    assert again.status_code == 400
    assert again.json()["errors"] == {"non_field_errors": ["This escalation is already resolved."]}
    escalation.refresh_from_db()
    assert escalation.resolution == "Split the difference"


def test_escalation_input_errors(world, lead):
    listing = url(world.shared, "escalations/")
    foreign = first_row(world.litware, "decision-rights")
    response = lead.post(listing, {"title": "x", "decision_right": foreign.pk})
    assert response.json()["errors"] == {
        "decision_right": ["Choose a row of this alliance's matrix."]
    }
    assert "rung" in lead.post(listing, {"title": "x", "rung": 9}).json()["errors"]
    assert "title" in lead.post(listing, {}).json()["errors"]


def test_escalations_list_open_first_with_their_moves(world, lead):
    open_one = first_row(world.shared, "escalations")
    done = services.escalation_raise(
        escalation=Escalation(alliance=world.shared, title="Old"),
        user=None,
        organization=world.northwind,
    )
    services.escalation_resolve(
        escalation=done, resolution="Fine", user=world.ada, organization=world.northwind
    )
    services.escalations_move_overdue(now=timezone.now() + timedelta(days=30))
    rows = lead.get(url(world.shared, "escalations/")).json()["results"]
    assert [r["id"] for r in rows] == [open_one.pk, done.pk]
    assert rows[0]["moves"][0]["from_rung"] == 1 and rows[0]["moves"][0]["to_rung"] == 2
    assert rows[1]["moves"] == []
    assert ids(lead.get(url(world.shared, "escalations/"), {"resolved_at__isnull": "true"})) == {
        open_one.pk
    }


# --- action items ---------------------------------------------------------------------------


def test_add_an_action_and_mark_it_done(world, lead):
    owner = contact(world.shared, Side.PARTNER)
    due = (timezone.localdate() + timedelta(days=3)).isoformat()
    created = lead.post(
        url(world.shared, "actions/"), {"title": "Send deck", "owner": owner.pk, "due_on": due}
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["author_side"] == "lead" and body["visibility"] == "shared"
    assert body["status"] == "open" and body["source"] == "manual"
    action = ActionItem.objects.get(pk=body["id"])
    assert action.author_organization == world.northwind and action.created_by == world.dan

    done = lead.post(url(world.shared, f"actions/{action.pk}/complete/"))
    assert done.status_code == 200 and done.json()["status"] == "done"
    action.refresh_from_db()
    assert action.completed_at is not None  # the service stamped it
    reopened = lead.patch(url(world.shared, f"actions/{action.pk}/"), {"status": "in_progress"})
    assert reopened.status_code == 200
    action.refresh_from_db()
    assert action.completed_at is None


def test_a_new_action_due_in_the_past_needs_confirming(world, lead):
    owner = contact(world.shared)
    past = (timezone.localdate() - timedelta(days=2)).isoformat()
    body = {"title": "Late", "owner": owner.pk, "due_on": past}
    refused = lead.post(url(world.shared, "actions/"), body)
    assert refused.status_code == 400
    assert refused.json()["errors"] == {
        "due_on": ["This date is in the past. If that is right, tick the box below it."]
    }
    created = lead.post(url(world.shared, "actions/"), {**body, "confirm_past_due": True})
    assert created.status_code == 201, created.json()
    # Only new actions are checked, and the box is not offered on an edit.
    edit = url(world.shared, f"actions/{created.json()['id']}/")
    assert lead.patch(edit, {"title": "Later"}).status_code == 200
    response = lead.patch(edit, {"confirm_past_due": True})
    assert response.status_code == 400
    assert response.json()["errors"] == {"confirm_past_due": ["Not accepted here."]}


@pytest.mark.parametrize("resource", SIDE_OWNED)
def test_the_partner_edits_the_lead_s_shared_record_but_not_its_visibility(
    world, partner, resource
):
    model = ActionItem if resource == "actions" else Risk
    record = model.objects.get(
        alliance=world.shared, author_organization=world.northwind, visibility=Visibility.SHARED
    )
    detail = url(world.shared, f"{resource}/{record.pk}/", "contoso")
    hidden = partner.patch(detail, {"visibility": "internal"})
    assert hidden.status_code == 400
    assert hidden.json()["errors"] == {"visibility": ["You cannot change this field here."]}
    record.refresh_from_db()
    assert record.visibility == Visibility.SHARED
    renamed = partner.patch(detail, {"title": "Renamed by Contoso"})
    assert renamed.status_code == 200, renamed.json()
    record.refresh_from_db()
    assert record.title == "Renamed by Contoso" and record.author_organization == world.northwind
    # Its own record, the partner may make internal.
    own = model.objects.get(
        alliance=world.shared, author_organization=world.contoso, visibility=Visibility.SHARED
    )
    response = partner.patch(
        url(world.shared, f"{resource}/{own.pk}/", "contoso"), {"visibility": "internal"}
    )
    assert response.status_code == 200, response.json()


@pytest.mark.parametrize("resource", SIDE_OWNED)
@pytest.mark.parametrize("where", ["litware", "fabrikam_alliance"])
def test_owners_must_be_contacts_of_this_alliance(world, lead, resource, where):
    stranger = contact(getattr(world, where))
    record = first_row(world.shared, resource)
    response = lead.patch(url(world.shared, f"{resource}/{record.pk}/"), {"owner": stranger.pk})
    assert response.status_code == 400
    assert response.json()["errors"] == {"owner": ["Choose a contact of this alliance."]}
    record.refresh_from_db()
    assert record.owner_id != stranger.pk


@pytest.mark.parametrize("resource", SIDE_OWNED)
def test_an_internal_record_is_owned_by_someone_of_the_author_s_side(world, lead, resource):
    fields = {
        "actions": {
            "title": "Quiet",
            "due_on": (timezone.localdate() + timedelta(days=1)).isoformat(),
        },
        "risks": {"title": "Quiet", "category": "cultural", "likelihood": 2, "impact": 2},
    }[resource]
    response = lead.post(
        url(world.shared, f"{resource}/"),
        {**fields, "visibility": "internal", "owner": contact(world.shared, Side.PARTNER).pk},
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "owner": ["An internal record can only be owned by someone of your own side."]
    }


def test_actions_filter_and_order(world, lead):
    owner = contact(world.shared, Side.PARTNER)
    today = timezone.localdate()
    done = services.action_save(
        action=ActionItem(
            alliance=world.shared,
            author_organization=world.northwind,
            title="Finished",
            owner=owner,
            due_on=today + timedelta(days=30),
            status=ActionStatus.DONE,
        ),
        user=None,
    )
    listing = url(world.shared, "actions/")
    assert ids(lead.get(listing, {"status": "done"})) == {done.pk}
    assert done.pk in ids(lead.get(listing, {"owner": owner.pk}))
    assert contact(world.shared).pk not in {
        r["owner"] for r in lead.get(listing, {"owner": owner.pk}).json()["results"]
    }
    assert ids(lead.get(listing, {"due_on__gte": (today + timedelta(days=20)).isoformat()})) == {
        done.pk
    }
    assert done.pk not in ids(
        lead.get(listing, {"due_on__lte": (today + timedelta(days=20)).isoformat()})
    )
    rows = lead.get(listing, {"ordering": "-due_on"}).json()["results"]
    assert rows[0]["id"] == done.pk
    dues = [r["due_on"] for r in lead.get(listing).json()["results"]]
    assert dues == sorted(dues)
    assert lead.get(listing, {"status": "someday"}).status_code == 400
    foreign_owner = contact(world.fabrikam_alliance)
    assert ids(lead.get(listing, {"owner": foreign_owner.pk})) == set()


# --- risks ----------------------------------------------------------------------------------


def test_add_and_change_a_risk_with_history(world, lead):
    created = lead.post(
        url(world.shared, "risks/"),
        {"title": "Key person leaves", "category": "resourcing", "likelihood": 4, "impact": 5},
    )
    assert created.status_code == 201, created.json()
    assert created.json()["score"] == 20 and created.json()["owner"] is None
    risk = Risk.objects.get(pk=created.json()["id"])
    changed = lead.patch(url(world.shared, f"risks/{risk.pk}/"), {"status": "mitigating"})
    assert changed.status_code == 200 and changed.json()["likelihood"] == 4
    summaries = GovernanceChange.objects.filter(subject="risk", object_id=risk.pk)
    assert summaries.count() == 2
    for bad in ({"likelihood": 6}, {"impact": 0}, {"category": "alien"}, {"likelihood": "high"}):
        response = lead.patch(url(world.shared, f"risks/{risk.pk}/"), bad)
        assert response.status_code == 400 and set(response.json()["errors"]) == set(bad)


def test_risks_filter_and_order_by_score(world, lead):
    low = services.risk_save(
        risk=Risk(
            alliance=world.shared,
            author_organization=world.northwind,
            title="Low",
            category=RiskCategory.REGULATORY,
            likelihood=1,
            impact=2,
        ),
        user=world.ada,
        organization=world.northwind,
    )
    listing = url(world.shared, "risks/")
    scores = [r["score"] for r in lead.get(listing).json()["results"]]
    assert scores == sorted(scores, reverse=True) and scores[-1] == 2
    assert lead.get(listing, {"ordering": "score_value"}).json()["results"][0]["id"] == low.pk
    assert lead.get(listing, {"ordering": "likelihood"}).json()["results"][0]["id"] == low.pk
    assert ids(lead.get(listing, {"category": "regulatory"})) == {low.pk}
    assert low.pk not in ids(lead.get(listing, {"status": "closed"}))
    assert lead.get(listing, {"category": "alien"}).status_code == 400


# --- query counts ---------------------------------------------------------------------------


def grow(alliance, resource: str, n: int) -> None:
    """``n`` more rows of ``resource``, each with the related rows its listing shows."""
    lead_org, partner_org = alliance.lead_organization, alliance.partner_organization
    people = [contact(alliance, Side.LEAD), contact(alliance, Side.PARTNER)]
    body = GovernanceBody.objects.filter(alliance=alliance).first()
    start = GovernanceBody.objects.count() + DecisionRight.objects.count()  # unique names
    for i in range(start, start + n):
        if resource == "bodies":
            services.body_save(
                body=GovernanceBody(alliance=alliance, name=f"Body {i}", tier=Tier.WORKING_TEAM),
                members=people,
                chair=people[0],
            )
        elif resource == "meetings":
            meeting = services.meeting_record(
                meeting=Meeting(body=body, held_on=date(2025, 1, 1) + timedelta(days=i)),
                attendees=people,
            )
            Decision.objects.create(
                alliance=alliance,
                decision=f"D{i}",
                forum="x",
                decided_on=date.today(),
                meeting=meeting,
            )
        elif resource == "decision-rights":
            DecisionRight.objects.create(
                alliance=alliance, decision_type=f"Type {i}", owner="x", forum="y", sla_days=5
            )
        elif resource == "decisions":
            Decision.objects.create(
                alliance=alliance, decision=f"D{i}", forum="x", decided_on=date.today()
            )
        elif resource == "escalations":
            services.escalation_raise(
                escalation=Escalation(alliance=alliance, title=f"E{i}"),
                user=None,
                organization=partner_org,
            )
        else:
            for organization, visibility in (
                (lead_org, Visibility.SHARED),
                (partner_org, Visibility.SHARED),
                (partner_org, Visibility.INTERNAL),
            ):
                owner = people[0] if organization == lead_org else people[1]
                common = {
                    "alliance": alliance,
                    "author_organization": organization,
                    "visibility": visibility,
                    "title": f"R{i}",
                    "owner": owner,
                }
                if resource == "actions":
                    ActionItem.objects.create(**common, due_on=date.today())
                else:
                    Risk.objects.create(**common, category="other", likelihood=2, impact=3)
    if resource == "escalations":
        services.escalations_move_overdue(now=timezone.now() + timedelta(days=60))


def count_queries(api, path) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = api.get(path, {"page_size": 200})
    assert response.status_code == 200
    return len(captured), response.json()["count"]


@pytest.mark.parametrize("resource", RESOURCES)
def test_lists_take_the_same_number_of_queries_however_many_rows(world, lead, resource):
    path = url(world.shared, f"{resource}/")
    lead.get(path)  # the token's first use is recorded once
    grow(world.shared, resource, 1)
    few, rows_before = count_queries(lead, path)
    grow(world.shared, resource, 12)
    many, rows_after = count_queries(lead, path)
    assert rows_after >= rows_before + 12
    assert many == few, f"{few} queries for {rows_before} rows, {many} for {rows_after}"
