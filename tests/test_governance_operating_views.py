"""Governance pages: bodies and meetings, the decision-rights matrix, the decision log."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse

from alliances.models import Side
from governance import services as gov
from governance.defaults import DEFAULT_DECISION_RIGHTS
from governance.models import (
    Decision,
    DecisionRight,
    GovernanceBody,
    GovernanceChange,
    Meeting,
    Tier,
)
from tests.factories import ContactFactory


def url(alliance, name, *args, org="northwind"):
    return reverse(name, args=[org, alliance.pk, *args])


def first_body(alliance):
    return alliance.governance_bodies.get(name="Operational council")


def contact(alliance, side):
    return alliance.contacts.filter(side=side).first()


def pages(alliance):
    body = first_body(alliance)
    return [
        url(alliance, "governance_overview"),
        url(alliance, "governance_body_create"),
        url(alliance, "governance_body", body.pk),
        url(alliance, "governance_body_edit", body.pk),
        url(alliance, "meeting_create", body.pk),
        url(alliance, "meeting_edit", alliance.meetings.first().pk),
        url(alliance, "decision_rights"),
        url(alliance, "decision_right_create"),
        url(alliance, "decision_right_edit", alliance.decision_rights.first().pk),
        url(alliance, "decision_log"),
        url(alliance, "decision_create"),
    ]


# --- access ---------------------------------------------------------------------------------


def test_every_page_renders_for_the_lead(world, client_for):
    client = client_for(world.ada)
    for page in pages(world.shared):
        response = client.get(page)
        assert response.status_code == 200, page


def test_every_page_renders_for_the_partner(world, client_for):
    client = client_for(world.ben)
    for page in pages(world.shared):
        response = client.get(page.replace("/o/northwind/", "/o/contoso/"))
        assert response.status_code == 200, page


def test_the_outsider_gets_404_everywhere(world, client_for):
    client = client_for(world.cy)
    for page in pages(world.shared):
        assert client.get(page).status_code == 404, page
        assert client.get(page.replace("/o/northwind/", "/o/fabrikam/")).status_code == 404
        assert client.post(page.replace("/o/northwind/", "/o/fabrikam/")).status_code == 404


def test_another_alliances_ids_are_404_inside_ones_own(world, client_for):
    client = client_for(world.ben)
    foreign_body = first_body(world.litware)
    foreign_right = world.litware.decision_rights.first()
    for name, pk in (
        ("governance_body", foreign_body.pk),
        ("governance_body_edit", foreign_body.pk),
        ("meeting_create", foreign_body.pk),
        ("meeting_edit", world.litware.meetings.first().pk),
        ("decision_right_edit", foreign_right.pk),
        ("decision_right_delete", foreign_right.pk),
    ):
        page = url(world.shared, name, pk, org="contoso")
        assert client.post(page).status_code == 404, name
    assert DecisionRight.objects.filter(pk=foreign_right.pk).exists()


def test_the_viewer_gets_403_on_every_post(world, client_for):
    client = client_for(world.vic)
    right = world.shared.decision_rights.first()
    lists = {"governance_overview", "governance_body", "decision_rights", "decision_log"}
    writes = [page for page in pages(world.shared) if resolve(page).url_name not in lists]
    writes += [
        url(world.shared, "decision_rights_seed"),
        url(world.shared, "decision_right_delete", right.pk),
    ]
    assert len(writes) == 9
    for page in writes:
        assert client.post(page, right_data(name="x")).status_code == 403, page
    assert DecisionRight.objects.filter(pk=right.pk).exists()
    assert not DecisionRight.objects.filter(decision_type="Pricing exceptions").exists()
    assert client.get(url(world.shared, "governance_overview")).status_code == 200


# --- bodies ---------------------------------------------------------------------------------


def test_create_a_body_with_members_of_both_sides_and_the_tier_default_cadence(world, client_for):
    alliance = world.shared
    lead, partner = contact(alliance, Side.LEAD), contact(alliance, Side.PARTNER)
    response = client_for(world.ben).post(
        url(alliance, "governance_body_create", org="contoso"),
        {
            "name": "Steering",
            "tier": Tier.EXECUTIVE_STEERING,
            "cadence": "",
            "chair": partner.pk,
            "members": [lead.pk],
        },
    )
    assert response.status_code == 302
    body = alliance.governance_bodies.get(name="Steering")
    assert body.cadence == "quarterly"
    assert body.chair == partner
    assert set(body.members.all()) == {lead, partner}
    page = client_for(world.ada).get(url(alliance, "governance_overview")).content.decode()
    assert "Steering" in page and "Executive steering committee" in page


def test_the_body_form_groups_members_by_side_and_explains_cadence(world, client_for):
    page = client_for(world.ada).get(url(world.shared, "governance_body_create")).content.decode()
    assert "<legend>Northwind (lead)</legend>" in page
    assert "<legend>Contoso (partner)</legend>" in page
    assert "operational council: monthly" in page


def test_edit_a_body(world, client_for):
    alliance = world.shared
    body = first_body(alliance)
    lead = contact(alliance, Side.LEAD)
    response = client_for(world.ada).post(
        url(alliance, "governance_body_edit", body.pk),
        {
            "name": "Ops council",
            "tier": Tier.OPERATIONAL_COUNCIL,
            "cadence": "weekly",
            "members": [lead.pk],
        },
    )
    assert response.status_code == 302
    body.refresh_from_db()
    assert (body.name, body.cadence, body.chair) == ("Ops council", "weekly", None)
    assert list(body.members.all()) == [lead]


@pytest.mark.parametrize("field", ["members", "chair"])
def test_a_contact_of_another_alliance_is_a_field_error(world, client_for, field):
    stranger = contact(world.litware, Side.PARTNER)
    response = client_for(world.ada).post(
        url(world.shared, "governance_body_create"),
        {"name": "Tampered", "tier": Tier.WORKING_TEAM, field: stranger.pk},
    )
    assert response.status_code == 400
    assert "Choose people who are contacts of this alliance." in response.content.decode()
    assert not GovernanceBody.objects.filter(name="Tampered").exists()


def test_bad_body_input_is_refused_with_messages(world, client_for):
    client = client_for(world.ada)
    page = url(world.shared, "governance_body_create")
    duplicate = client.post(page, {"name": "operational COUNCIL", "tier": Tier.WORKING_TEAM})
    assert duplicate.status_code == 400
    assert "already has a body with this name" in duplicate.content.decode()
    for data in (
        {},
        {"name": "X", "tier": "bogus"},
        {"name": "X", "tier": "working_team", "members": ["abc"]},
    ):
        assert client.post(page, data).status_code == 400


# --- meetings -------------------------------------------------------------------------------


def test_record_a_meeting_with_attendance_and_decisions(world, client_for):
    alliance = world.shared
    body = first_body(alliance)
    partner = contact(alliance, Side.PARTNER)
    held = date.today() - timedelta(days=1)
    response = client_for(world.ben).post(
        url(alliance, "meeting_create", body.pk, org="contoso"),
        {
            "held_on": held.isoformat(),
            "starts_at": "09:30",
            "duration_minutes": "45",
            "agenda": "Roadmap",
            "notes": "Good meeting",
            "attendees": [partner.pk],
            "decisions-TOTAL_FORMS": "3",
            "decisions-INITIAL_FORMS": "0",
            "decisions-0-decision": "Ship the connector in Q3",
            "decisions-0-rationale": "Customers asked",
            "decisions-1-decision": "",
            "decisions-1-rationale": "",
            "decisions-2-decision": "Hire a solutions architect",
        },
    )
    assert response.status_code == 302
    meeting = alliance.meetings.get(held_on=held)
    assert list(meeting.attendees.all()) == [partner]
    decisions = Decision.objects.filter(meeting=meeting).order_by("pk")
    assert [(d.decision, d.forum, d.decided_on) for d in decisions] == [
        ("Ship the connector in Q3", body.name, held),
        ("Hire a solutions architect", body.name, held),
    ]
    assert decisions[0].rationale == "Customers asked"
    detail = client_for(world.ada).get(url(alliance, "governance_body", body.pk)).content.decode()
    assert "Ship the connector in Q3" in detail
    assert "1 of 2" in detail


def test_edit_a_meeting(world, client_for):
    alliance = world.shared
    meeting = alliance.meetings.first()
    form = client_for(world.ada).get(url(alliance, "meeting_edit", meeting.pk)).content.decode()
    assert form.count('name="attendees"') == 2 and form.count(" checked>") == 2
    assert f"{alliance} decision" in form  # decisions already logged for the meeting
    response = client_for(world.ada).post(
        url(alliance, "meeting_edit", meeting.pk),
        {
            "held_on": meeting.held_on.isoformat(),
            "duration_minutes": "90",
            "agenda": "New",
            "decisions-TOTAL_FORMS": "0",
            "decisions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    meeting.refresh_from_db()
    assert (meeting.agenda, meeting.duration_minutes, meeting.attendees.count()) == ("New", 90, 0)


def test_an_attendee_who_is_not_a_member_is_a_field_error(world, client_for):
    alliance = world.shared
    body = first_body(alliance)
    outsider = ContactFactory(alliance=alliance, side=Side.LEAD, name="Not A Member")
    stranger = contact(world.litware, Side.LEAD)
    client = client_for(world.ada)
    management = {"decisions-TOTAL_FORMS": "1", "decisions-INITIAL_FORMS": "0"}
    base = {"held_on": "2026-01-05", "duration_minutes": "60", **management}
    page = url(alliance, "meeting_create", body.pk)
    response = client.post(page, {**base, "attendees": [outsider.pk]})
    assert response.status_code == 400
    assert "Not members of Operational council: Not A Member." in response.content.decode()
    response = client.post(page, {**base, "attendees": [stranger.pk]})
    assert response.status_code == 400
    assert "Choose people who are contacts of this alliance." in response.content.decode()
    assert not Meeting.objects.filter(held_on=date(2026, 1, 5)).exists()


def test_bad_meeting_input_is_refused_with_messages(world, client_for):
    body = first_body(world.shared)
    client = client_for(world.ada)
    page = url(world.shared, "meeting_create", body.pk)
    management = {"decisions-TOTAL_FORMS": "1", "decisions-INITIAL_FORMS": "0"}
    response = client.post(
        page,
        {
            "held_on": "2026-01-05",
            "duration_minutes": "60",
            "decisions-0-rationale": "Because",
            **management,
        },
    )
    assert response.status_code == 400
    assert "Write the decision, or clear its rationale." in response.content.decode()
    for data in (
        {},  # no management form: the formset says so, no 500
        {"held_on": "not a date", **management},
        {"held_on": "2026-01-05", "duration_minutes": "0", **management},
        {"held_on": "2026-01-05", "duration_minutes": "60", "decisions-TOTAL_FORMS": "x"},
    ):
        assert client.post(page, data).status_code == 400, data
    assert not Decision.objects.filter(rationale="Because").exists()


# --- decision rights ------------------------------------------------------------------------


def right_data(**overrides):
    return {
        "decision_type": "Pricing exceptions",
        "owner": "Business leads",
        "joint_approval": "yes",
        "forum": "Operational council",
        "sla_days": "7",
        "escalation_rung": "3",
        **overrides,
    }


def test_matrix_add_edit_delete_with_history(world, client_for):
    alliance = world.shared
    client = client_for(world.ben)
    org = "contoso"
    assert client.post(url(alliance, "decision_right_create", org=org), right_data()).status_code
    right = alliance.decision_rights.get(decision_type="Pricing exceptions")
    response = client.post(
        url(alliance, "decision_right_edit", right.pk, org=org), right_data(sla_days="12")
    )
    assert response.status_code == 302
    right.refresh_from_db()
    assert right.sla_days == 12
    response = client.post(url(alliance, "decision_right_delete", right.pk, org=org))
    assert response.status_code == 302
    assert not DecisionRight.objects.filter(pk=right.pk).exists()
    changes = GovernanceChange.objects.filter(alliance=alliance, object_id=right.pk)
    assert [c.summary.split(" ")[0] for c in changes.order_by("pk")] == [
        "Added",
        "Changed",
        "Removed",
    ]
    page = client_for(world.ada).get(url(alliance, "decision_rights")).content.decode()
    assert "Removed decision right “Pricing exceptions”." in page
    assert "Ben Partner" in page or "ben@contoso.example" in page


def test_the_matrix_page_is_an_annex_table(world, client_for):
    page = client_for(world.ada).get(url(world.shared, "decision_rights")).content.decode()
    for header in (
        "Decision type",
        "Owner",
        "Joint approval",
        "Forum",
        "SLA (days)",
        "Escalates to",
    ):
        assert f'<th scope="col">{header}</th>' in page
    assert "Roadmap changes" in page
    assert "Add the default rows" not in page


def test_an_empty_matrix_offers_the_default_rows(world, client_for):
    alliance = world.shared
    alliance.decision_rights.all().delete()
    client = client_for(world.ada)
    assert "Add the default rows" in client.get(url(alliance, "decision_rights")).content.decode()
    assert client.post(url(alliance, "decision_rights_seed")).status_code == 302
    assert alliance.decision_rights.count() == len(DEFAULT_DECISION_RIGHTS)
    assert client.get(url(alliance, "decision_rights_seed")).status_code == 405


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (right_data(sla_days="0"), "The SLA is between 1 and 365 days."),
        (right_data(sla_days="-3"), "The SLA is between 1 and 365 days."),
        (right_data(sla_days="366"), "The SLA is between 1 and 365 days."),
        (right_data(sla_days="soon"), "Enter a whole number."),
        (right_data(decision_type="roadmap CHANGES"), "The matrix already has this decision type."),
        (right_data(escalation_rung="9"), "Select a valid choice."),
        (right_data(decision_type=""), "This field is required."),
    ],
)
def test_bad_decision_right_input_is_a_field_error(world, client_for, data, message):
    response = client_for(world.ada).post(url(world.shared, "decision_right_create"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert world.shared.decision_rights.count() == len(DEFAULT_DECISION_RIGHTS)


# --- decision log ---------------------------------------------------------------------------


def test_log_a_decision_linked_to_a_meeting_and_a_right(world, client_for):
    alliance = world.shared
    meeting = alliance.meetings.first()
    right = alliance.decision_rights.first()
    response = client_for(world.ben).post(
        url(alliance, "decision_create", org="contoso"),
        {
            "decision": "Open a joint sales pod",
            "forum": "Steering",
            "decided_on": "2026-02-01",
            "rationale": "Pipeline is thin",
            "meeting": meeting.pk,
            "decision_right": right.pk,
        },
    )
    assert response.status_code == 302
    decision = alliance.decisions.get(decision="Open a joint sales pod")
    assert (decision.meeting, decision.decision_right) == (meeting, right)
    assert decision.recorded_by == world.ben
    page = client_for(world.ada).get(url(alliance, "decision_log")).content.decode()
    assert "Open a joint sales pod" in page and "Pipeline is thin" in page


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("meeting", "Choose a meeting of this alliance."),
        ("decision_right", "Choose a row of this alliance&#x27;s matrix."),
    ],
)
def test_a_foreign_meeting_or_right_is_a_field_error(world, client_for, field, message):
    foreign = {
        "meeting": world.litware.meetings.first(),
        "decision_right": world.litware.decision_rights.first(),
    }[field]
    response = client_for(world.ada).post(
        url(world.shared, "decision_create"),
        {"decision": "Tampered", "forum": "X", "decided_on": "2026-02-01", field: foreign.pk},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Decision.objects.filter(decision="Tampered").exists()


def test_the_decision_service_refuses_another_alliances_meeting(world):
    decision = Decision(
        alliance=world.shared,
        decision="x",
        forum="y",
        decided_on=date.today(),
        meeting=world.litware.meetings.first(),
    )
    with pytest.raises(ValidationError, match="meeting of this alliance"):
        gov.decision_record(decision=decision, user=None)


def test_bad_decision_input_is_refused(world, client_for):
    client = client_for(world.ada)
    valid = {"decision": "x", "forum": "y", "decided_on": "2026-01-01"}
    for data in ({}, {**valid, "decided_on": "31/31/2026"}, {**valid, "meeting": "abc"}):
        assert client.post(url(world.shared, "decision_create"), data).status_code == 400


# --- query counts ---------------------------------------------------------------------------


def grow(alliance, bodies: int, meetings: int) -> None:
    lead, partner = contact(alliance, Side.LEAD), contact(alliance, Side.PARTNER)
    for n in range(bodies):
        body = gov.body_save(
            body=GovernanceBody(alliance=alliance, name=f"Team {n}", tier=Tier.WORKING_TEAM),
            members=[lead, partner],
            chair=partner,
        )
        for m in range(meetings):
            meeting = gov.meeting_record(
                meeting=Meeting(body=body, held_on=date.today() - timedelta(days=7 * m)),
                attendees=[lead] if m % 2 else [lead, partner],
            )
            Decision.objects.create(
                alliance=alliance,
                decision=f"D{n}.{m}",
                forum=body.name,
                decided_on=meeting.held_on,
                meeting=meeting,
            )
            gov.decision_right_save(
                right=DecisionRight(
                    alliance=alliance, decision_type=f"T{n}.{m}", owner="o", forum="f", sla_days=3
                ),
                user=None,
                organization=alliance.lead_organization,
            )


@pytest.mark.parametrize(
    "name", ["governance_overview", "governance_body", "decision_rights", "decision_log"]
)
def test_query_counts_do_not_grow_with_rows(world, client_for, django_assert_max_num_queries, name):
    alliance = world.shared
    client = client_for(world.ada)

    def page():
        args = [first_body(alliance).pk] if name == "governance_body" else []
        return url(alliance, name, *args)

    target = page()
    client.get(target)  # warm the session
    with CaptureQueriesContext(connection) as small:
        assert client.get(target).status_code == 200
    grow(alliance, bodies=4, meetings=5)
    body = first_body(alliance)
    for m in range(5):
        gov.meeting_record(
            meeting=Meeting(body=body, held_on=date.today() - timedelta(days=30 + m)),
            attendees=list(body.members.all()),
        )
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(target).status_code == 200


def test_a_body_without_a_meeting_within_cadence_and_grace_is_flagged_missed(world, client_for):
    alliance = world.shared
    body = first_body(alliance)
    page = url(alliance, "governance_overview")
    client = client_for(world.ada)
    assert 'tag-bad">missed' not in client.get(page).content.decode()
    # Monthly: 30 days of cadence and 7 of grace since the last meeting.
    body.meetings.update(held_on=date.today() - timedelta(days=38))
    html = client.get(page).content.decode()
    assert 'tag-bad">missed' in html
    assert "no meeting within the cadence and grace period" in html
    detail = client.get(url(alliance, "governance_body", body.pk)).content.decode()
    assert 'tag-bad">missed' in detail


def test_overview_shows_attendance_overall_and_per_side(world, client_for):
    alliance = world.shared
    body = first_body(alliance)
    lead = contact(alliance, Side.LEAD)
    gov.meeting_record(meeting=Meeting(body=body, held_on=date.today()), attendees=[lead])
    html = client_for(world.ada).get(url(alliance, "governance_overview")).content.decode()
    # Two meetings of two members: lead 2 of 2, partner 1 of 2, overall 3 of 4.
    assert "<dt>Attendance</dt><dd>75%" in html
    assert "<dt>Attendance, Northwind</dt><dd>100%" in html
    assert "<dt>Attendance, Contoso</dt><dd>50%" in html
    assert 'Contoso Sponsor <small class="muted">(Contoso)</small>' in html
