"""Pages for escalations, action items, the risk register and "my actions"."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from alliances.models import Side, Visibility
from governance import services
from governance.models import (
    ActionItem,
    ActionStatus,
    Escalation,
    GovernanceChange,
    Risk,
    RiskCategory,
    RiskStatus,
)
from tests.factories import ContactFactory


def url(alliance, suffix: str = "", org: str = "northwind") -> str:
    return f"/o/{org}/alliances/{alliance.pk}/{suffix}"


def lead_contact(alliance):
    return alliance.contacts.get(side=Side.LEAD)


def partner_contact(alliance):
    return alliance.contacts.get(side=Side.PARTNER)


def action(world, visibility=Visibility.SHARED, organization=None, **fields):
    return ActionItem.objects.get(
        alliance=world.shared,
        author_organization=organization or world.northwind,
        visibility=visibility,
        **fields,
    )


def risk(world, visibility=Visibility.SHARED, organization=None):
    return Risk.objects.get(
        alliance=world.shared,
        author_organization=organization or world.northwind,
        visibility=visibility,
    )


PAGES = ["escalations/", "escalations/new/", "actions/", "actions/new/", "risks/", "risks/new/"]


# --- pages and visibility -------------------------------------------------------------------


@pytest.mark.parametrize("suffix", PAGES)
def test_pages_render_for_both_sides(world, client_for, suffix):
    assert client_for(world.ada).get(url(world.shared, suffix)).status_code == 200
    assert client_for(world.ben).get(url(world.shared, suffix, "contoso")).status_code == 200


@pytest.mark.parametrize("suffix", [*PAGES, "actions/?status=all", "actions/?status=done"])
def test_the_outsider_gets_404(world, client_for, suffix):
    client = client_for(world.cy)
    assert client.get(url(world.shared, suffix)).status_code == 404
    assert client.get(url(world.shared, suffix, "fabrikam")).status_code == 404


@pytest.mark.parametrize(
    ("suffix", "kind"), [("actions/?status=all", "action"), ("risks/", "risk")]
)
def test_each_side_sees_only_its_own_internal_records(world, client_for, suffix, kind):
    ada_page = client_for(world.ada).get(url(world.shared, suffix)).content.decode()
    ben_page = client_for(world.ben).get(url(world.shared, suffix, "contoso")).content.decode()
    assert f"Northwind internal {kind}" in ada_page
    assert f"Contoso internal {kind}" not in ada_page
    assert f"Contoso internal {kind}" in ben_page
    assert f"Northwind internal {kind}" not in ben_page
    for page in (ada_page, ben_page):
        assert f"Northwind shared {kind}" in page
        assert f"Contoso shared {kind}" in page


def test_risk_history_keeps_internal_changes_internal(world, client_for):
    ben_page = client_for(world.ben).get(url(world.shared, "risks/", "contoso")).content.decode()
    assert "Added risk “Contoso internal risk”" in ben_page
    assert "Added risk “Northwind shared risk”" in ben_page
    assert "Northwind internal risk" not in ben_page


@pytest.mark.parametrize(("kind", "model"), [("actions", ActionItem), ("risks", Risk)])
def test_the_partner_cannot_edit_the_leads_internal_record(world, client_for, kind, model):
    secret = model.objects.get(
        alliance=world.shared, author_organization=world.northwind, visibility=Visibility.INTERNAL
    )
    client = client_for(world.ben)
    assert client.get(url(world.shared, f"{kind}/{secret.pk}/edit/", "contoso")).status_code == 404
    assert client.post(url(world.shared, f"{kind}/{secret.pk}/edit/", "contoso")).status_code == 404
    if kind == "actions":
        response = client.post(url(world.shared, f"actions/{secret.pk}/complete/", "contoso"))
        assert response.status_code == 404
        secret.refresh_from_db()
        assert secret.status == ActionStatus.OPEN


def test_ids_of_another_alliance_are_404_inside_ones_own(world, client_for):
    other = ActionItem.objects.filter(alliance=world.litware).first()
    other_risk = Risk.objects.filter(alliance=world.litware).first()
    other_escalation = Escalation.objects.get(alliance=world.litware)
    client = client_for(world.ada)
    for suffix in (
        f"actions/{other.pk}/edit/",
        f"risks/{other_risk.pk}/edit/",
        f"escalations/{other_escalation.pk}/resolve/",
    ):
        assert client.get(url(world.shared, suffix)).status_code == 404


POSTS = [
    "escalations/new/",
    "actions/new/",
    "risks/new/",
]


def test_the_viewer_gets_403_on_every_write(world, client_for):
    client = client_for(world.vic)
    shared_action = action(world)
    shared_risk = risk(world)
    escalation = Escalation.objects.get(alliance=world.shared)
    for suffix in [
        *POSTS,
        f"escalations/{escalation.pk}/resolve/",
        f"actions/{shared_action.pk}/edit/",
        f"actions/{shared_action.pk}/complete/",
        f"risks/{shared_risk.pk}/edit/",
    ]:
        assert client.post(url(world.shared, suffix), {"title": "x"}).status_code == 403, suffix
    shared_action.refresh_from_db()
    assert shared_action.status == ActionStatus.OPEN
    page = client.get(url(world.shared, "actions/")).content.decode()
    assert "Mark done" not in page and "New action" not in page


def test_nonsense_input_never_answers_500(world, client_for):
    client = client_for(world.ada)
    junk = {
        "title": "x" * 500,
        "owner": "abc",
        "due_on": "31/02/2026",
        "likelihood": "1e9",
        "impact": "-3",
        "rung": "99",
        "decision_right": "nope",
        "status": "weird",
        "visibility": "public",
    }
    for suffix in POSTS:
        assert client.post(url(world.shared, suffix), junk).status_code == 400
    assert client.get(url(world.shared, "actions/?status=<script>")).status_code == 200


# --- escalations ----------------------------------------------------------------------------


def test_raise_an_escalation_with_the_sla_of_its_decision_right(world, client_for):
    right = world.shared.decision_rights.get(decision_type__icontains="commercial")
    response = client_for(world.ben).post(
        url(world.shared, "escalations/new/", "contoso"),
        {"title": "Pricing stalemate", "rung": "2", "decision_right": right.pk},
    )
    assert response.status_code == 302
    escalation = Escalation.objects.get(title="Pricing stalemate")
    assert escalation.sla_days == right.sla_days
    assert escalation.raised_by_organization == world.contoso
    assert escalation.rung == 2
    assert GovernanceChange.objects.filter(subject="escalation", object_id=escalation.pk).exists()
    page = client_for(world.ada).get(url(world.shared, "escalations/")).content.decode()
    assert "Pricing stalemate" in page and right.decision_type in page


def test_raise_without_a_decision_right_uses_the_default_sla(world, client_for, settings):
    settings.ESCALATION_DEFAULT_SLA_DAYS = 12
    client = client_for(world.ada)
    assert (
        "default of 12 days" in client.get(url(world.shared, "escalations/new/")).content.decode()
    )
    client.post(url(world.shared, "escalations/new/"), {"title": "No row", "rung": "1"})
    assert Escalation.objects.get(title="No row").sla_days == 12


def test_a_decision_right_of_another_alliance_is_a_field_error(world, client_for):
    foreign = world.litware.decision_rights.first()
    response = client_for(world.ada).post(
        url(world.shared, "escalations/new/"),
        {"title": "Sneaky", "rung": "1", "decision_right": foreign.pk},
    )
    assert response.status_code == 400
    assert "decision_right" in response.context["form"].errors
    assert not Escalation.objects.filter(title="Sneaky").exists()


def test_resolve_needs_a_note_and_only_once(world, client_for):
    escalation = Escalation.objects.get(alliance=world.shared)
    client = client_for(world.ben)
    resolve = url(world.shared, f"escalations/{escalation.pk}/resolve/", "contoso")
    response = client.post(resolve, {"resolution": "  "})
    assert response.status_code == 400
    assert "resolution" in response.context["form"].errors
    assert client.post(resolve, {"resolution": "Split the difference"}).status_code == 302
    escalation.refresh_from_db()
    assert escalation.resolution == "Split the difference"
    again = client.post(resolve, {"resolution": "Again"})
    assert again.status_code == 400
    assert "already resolved" in again.content.decode()
    escalation.refresh_from_db()
    assert escalation.resolution == "Split the difference"


def test_escalation_list_flags_overdue_and_shows_moves_and_stats(world, client_for):
    escalation = Escalation.objects.get(alliance=world.shared)
    Escalation.objects.filter(pk=escalation.pk).update(due_at=timezone.now() - timedelta(days=1))
    services.escalations_move_overdue(now=timezone.now())
    page = client_for(world.ada).get(url(world.shared, "escalations/")).content.decode()
    assert "Working-level leads → Alliance managers" in page
    assert 'aria-current="step"' in page
    assert "Conflicts per quarter" in page and f"Q{(timezone.now().month - 1) // 3 + 1}" in page
    Escalation.objects.filter(pk=escalation.pk).update(due_at=timezone.now() - timedelta(days=1))
    page = client_for(world.ada).get(url(world.shared, "escalations/")).content.decode()
    assert '<span class="tag tag-bad">overdue</span>' in page


# --- action items ---------------------------------------------------------------------------


def action_data(owner, **overrides):
    data = {
        "title": "Send the joint pipeline",
        "owner": owner.pk,
        "due_on": (date.today() + timedelta(days=3)).isoformat(),
        "status": ActionStatus.OPEN,
        "source": "manual",
        "visibility": Visibility.SHARED,
    }
    return {**data, **overrides}


def test_create_an_action_authored_by_ones_side(world, client_for):
    response = client_for(world.ben).post(
        url(world.shared, "actions/new/", "contoso"), action_data(lead_contact(world.shared))
    )
    assert response.status_code == 302
    created = ActionItem.objects.get(title="Send the joint pipeline")
    assert created.author_organization == world.contoso
    assert created.created_by == world.ben


def test_a_past_due_date_needs_confirmation(world, client_for):
    client = client_for(world.ada)
    data = action_data(lead_contact(world.shared), due_on="2020-01-01")
    response = client.post(url(world.shared, "actions/new/"), data)
    assert response.status_code == 400
    assert "due_on" in response.context["form"].errors
    response = client.post(url(world.shared, "actions/new/"), {**data, "confirm_past_due": "on"})
    assert response.status_code == 302
    assert ActionItem.objects.get(title="Send the joint pipeline").is_overdue()
    page = client.get(url(world.shared, "actions/")).content.decode()
    assert '<span class="tag tag-bad">overdue</span>' in page


def test_an_owner_of_another_alliance_is_a_field_error(world, client_for):
    response = client_for(world.ada).post(
        url(world.shared, "actions/new/"), action_data(lead_contact(world.litware))
    )
    assert response.status_code == 400
    assert "owner" in response.context["form"].errors


def test_an_internal_action_owned_by_the_other_side_is_a_field_error(world, client_for):
    response = client_for(world.ada).post(
        url(world.shared, "actions/new/"),
        action_data(partner_contact(world.shared), visibility=Visibility.INTERNAL),
    )
    assert response.status_code == 400
    assert "own side" in str(response.context["form"].errors["owner"])


def test_edit_an_action_of_the_other_side(world, client_for):
    theirs = action(world, organization=world.contoso)
    response = client_for(world.ada).post(
        url(world.shared, f"actions/{theirs.pk}/edit/"),
        action_data(theirs.owner, title="Renamed", status=ActionStatus.IN_PROGRESS),
    )
    assert response.status_code == 302
    theirs.refresh_from_db()
    assert (theirs.title, theirs.status) == ("Renamed", ActionStatus.IN_PROGRESS)
    assert theirs.visibility == Visibility.SHARED  # the other side's to choose


def test_complete_in_place_with_htmx_returns_the_row(world, client_for):
    mine = action(world)
    response = client_for(world.ada).post(
        url(world.shared, f"actions/{mine.pk}/complete/"), HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<tr id="action-{mine.pk}"')
    assert "Done" in body and "<html" not in body
    mine.refresh_from_db()
    assert mine.status == ActionStatus.DONE and mine.completed_at


def test_complete_without_javascript_redirects_back(world, client_for):
    mine = action(world, organization=world.contoso)
    response = client_for(world.ben).post(
        url(world.shared, f"actions/{mine.pk}/complete/", "contoso")
    )
    assert response.status_code == 302
    assert response.url == url(world.shared, "actions/", "contoso")
    mine.refresh_from_db()
    assert mine.status == ActionStatus.DONE


def test_action_filter_links_and_htmx_partial(world, client_for):
    done = action(world)
    done.status = ActionStatus.DONE
    services.action_save(action=done, user=None)
    client = client_for(world.ada)
    open_page = client.get(url(world.shared, "actions/")).content.decode()
    assert "Northwind shared action" not in open_page
    assert 'href="?status=done"' in open_page
    partial = client.get(url(world.shared, "actions/?status=done"), HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    assert body.lstrip().startswith('<div id="action-table">')
    assert "Northwind shared action" in body and "Northwind internal action" not in body


# --- my actions -----------------------------------------------------------------------------


def test_my_actions_lists_what_the_user_owns_across_alliances(world, client_for):
    today = date.today()
    ada_shared = ContactFactory(
        alliance=world.shared, side=Side.LEAD, email="ADA@northwind.example"
    )
    ada_litware = ContactFactory(
        alliance=world.litware, side=Side.LEAD, email="ada@northwind.example"
    )

    def make(alliance, owner, title, due_on, **fields):
        services.action_save(
            action=ActionItem(
                alliance=alliance,
                author_organization=alliance.lead_organization,
                owner=owner,
                title=title,
                due_on=due_on,
                **fields,
            ),
            user=None,
            allow_past_due=True,
        )

    make(world.shared, ada_shared, "Late thing", today - timedelta(days=2))
    make(world.litware, ada_litware, "This week thing", today + timedelta(days=3))
    make(world.shared, ada_shared, "Later thing", today + timedelta(days=30))
    make(world.shared, ada_shared, "Finished thing", today, status=ActionStatus.DONE)
    # The partner's internal action owned by Ada's contact is still not hers to see.
    services.action_save(
        action=ActionItem(
            alliance=world.shared,
            author_organization=world.contoso,
            visibility=Visibility.SHARED,
            owner=ada_shared,
            title="Contoso asks Ada",
            due_on=today + timedelta(days=1),
        ),
        user=None,
    )
    page = client_for(world.ada).get("/o/northwind/actions/").content.decode()
    overdue, rest = page.split('id="week-h"')
    week, later = rest.split('id="later-h"')
    assert "Late thing" in overdue
    assert "This week thing" in week and "Contoso asks Ada" in week
    assert "Later thing" in later
    assert "Finished thing" not in page
    assert "Northwind shared action" not in page  # owned by someone else
    assert f"/o/northwind/alliances/{world.litware.pk}/actions/" in page
    # Ben sees none of it, and the outsider cannot open Northwind's page.
    assert "Late thing" not in client_for(world.ben).get("/o/contoso/actions/").content.decode()
    assert client_for(world.cy).get("/o/northwind/actions/").status_code == 404


def test_my_actions_hides_the_other_sides_internal_actions(world, client_for):
    ben_contact = ContactFactory(
        alliance=world.shared, side=Side.PARTNER, email="ben@contoso.example"
    )
    ActionItem.objects.filter(alliance=world.shared).update(owner=ben_contact)
    page = client_for(world.ben).get("/o/contoso/actions/").content.decode()
    assert "Contoso internal action" in page
    assert "Northwind shared action" in page
    assert "Northwind internal action" not in page


# --- risks ----------------------------------------------------------------------------------


def risk_data(owner, **overrides):
    data = {
        "title": "Key engineer leaves",
        "category": RiskCategory.RESOURCING,
        "likelihood": "2",
        "impact": "5",
        "owner": owner.pk if owner else "",
        "mitigation": "Pair up",
        "status": RiskStatus.OPEN,
        "visibility": Visibility.SHARED,
    }
    return {**data, **overrides}


@pytest.mark.parametrize(("field", "value"), [("likelihood", "0"), ("impact", "6")])
def test_likelihood_and_impact_outside_1_to_5_are_field_errors(world, client_for, field, value):
    response = client_for(world.ada).post(
        url(world.shared, "risks/new/"), risk_data(None, **{field: value})
    )
    assert response.status_code == 400
    assert field in response.context["form"].errors


def test_an_internal_risk_owned_by_the_other_side_is_a_field_error(world, client_for):
    response = client_for(world.ben).post(
        url(world.shared, "risks/new/", "contoso"),
        risk_data(lead_contact(world.shared), visibility=Visibility.INTERNAL),
    )
    assert response.status_code == 400
    assert "owner" in response.context["form"].errors


def test_create_and_edit_a_risk_keeps_history(world, client_for):
    client = client_for(world.ada)
    assert client.post(url(world.shared, "risks/new/"), risk_data(None)).status_code == 302
    created = Risk.objects.get(title="Key engineer leaves")
    assert created.author_organization == world.northwind
    response = client.post(
        url(world.shared, f"risks/{created.pk}/edit/"), risk_data(None, likelihood="5")
    )
    assert response.status_code == 302
    page = client.get(url(world.shared, "risks/")).content.decode()
    assert "Changed risk “Key engineer leaves”: likelihood 5, impact 5" in page
    # Highest score first.
    assert page.index("Key engineer leaves") < page.index("Northwind shared risk")


def test_heat_map_counts_open_risks_per_cell(world, client_for):
    Risk.objects.filter(alliance=world.shared, author_organization=world.contoso).update(
        likelihood=5, impact=5
    )
    Risk.objects.filter(title="Contoso shared risk", alliance=world.shared).update(
        status=RiskStatus.CLOSED
    )
    ada_page = client_for(world.ada).get(url(world.shared, "risks/")).content.decode()
    assert 'aria-label="Likelihood 3, impact 4: 2 risks, high"' in ada_page
    assert 'aria-label="Likelihood 5, impact 5: 0 risks, severe"' in ada_page
    ben_page = client_for(world.ben).get(url(world.shared, "risks/", "contoso")).content.decode()
    assert 'aria-label="Likelihood 3, impact 4: 1 risk, high"' in ben_page
    assert 'aria-label="Likelihood 5, impact 5: 1 risk, severe"' in ben_page
    assert 'aria-label="Likelihood 1, impact 1: 0 risks, low"' in ben_page


# --- query counts ---------------------------------------------------------------------------


def grow(world, n: int) -> None:
    owner = world.shared.contacts.filter(side=Side.LEAD).first()
    for i in range(n):
        services.action_save(
            action=ActionItem(
                alliance=world.shared,
                author_organization=world.northwind,
                owner=owner,
                title=f"Grown action {i}",
                due_on=date.today() + timedelta(days=i % 20 - 5),
            ),
            user=None,
            allow_past_due=True,
        )
        services.risk_save(
            risk=Risk(
                alliance=world.shared,
                author_organization=world.northwind,
                title=f"Grown risk {i}",
                category=RiskCategory.OTHER,
                likelihood=i % 5 + 1,
                impact=(i * 2) % 5 + 1,
                owner=owner,
            ),
            user=world.ada,
            organization=world.northwind,
        )
        services.escalation_raise(
            escalation=Escalation(alliance=world.shared, title=f"Grown escalation {i}"),
            user=world.ada,
            organization=world.northwind,
        )
    ada = world.shared.contacts.filter(email="ada@northwind.example").first() or ContactFactory(
        alliance=world.shared, side=Side.LEAD, email="ada@northwind.example"
    )
    ActionItem.objects.filter(alliance=world.shared).update(owner=ada)
    moved = Escalation.objects.filter(alliance=world.shared).first()
    Escalation.objects.filter(pk=moved.pk).update(due_at=timezone.now() - timedelta(days=1))
    services.escalations_move_overdue(now=timezone.now())


@pytest.mark.parametrize(
    "page",
    [
        "/o/northwind/alliances/{pk}/escalations/",
        "/o/northwind/alliances/{pk}/actions/?status=all",
        "/o/northwind/alliances/{pk}/risks/",
        "/o/northwind/actions/",
    ],
)
def test_query_counts_do_not_grow_with_rows(world, client_for, django_assert_max_num_queries, page):
    client = client_for(world.ada)
    page = page.format(pk=world.shared.pk)
    client.get(page)  # warm the session and content types
    grow(world, 1)
    with django_assert_max_num_queries(20) as small:
        assert client.get(page).status_code == 200
    grow(world, 15)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(page)
    assert response.status_code == 200


def test_an_action_raised_in_a_meeting_is_linked_and_shown_with_it(world, client_for):
    from governance.models import ActionItem, ActionSource, Meeting

    meeting = Meeting.objects.get(alliance=world.shared)
    owner = world.shared.contacts.get(side="partner")
    base = f"/o/northwind/alliances/{world.shared.pk}"
    client = client_for(world.ada)
    page = client.get(f"{base}/actions/new/?meeting={meeting.pk}").content.decode()
    assert "Raised in the" in page
    response = client.post(
        f"{base}/actions/new/?meeting={meeting.pk}",
        {
            "title": "Send the pipeline export",
            "owner": owner.pk,
            "due_on": "2099-01-01",
            "status": "open",
            "source": "meeting",
            "visibility": "shared",
        },
    )
    assert response.status_code == 302, response.content.decode()[:1500]
    action = ActionItem.objects.get(title="Send the pipeline export")
    assert action.meeting == meeting and action.source == ActionSource.MEETING
    body_page = client_for(world.ben).get(
        f"/o/contoso/alliances/{world.shared.pk}/governance/bodies/{meeting.body_id}/"
    )
    assert "Send the pipeline export" in body_page.content.decode()
    # Another alliance's meeting cannot be named.
    other = Meeting.objects.get(alliance=world.litware)
    assert client.get(f"{base}/actions/new/?meeting={other.pk}").status_code == 404
    assert client.get(f"{base}/actions/new/?meeting=abc").status_code == 404


def test_internal_actions_raised_in_a_meeting_stay_with_their_side(world, client_for):
    from governance.models import Meeting

    meeting = Meeting.objects.get(alliance=world.shared)
    internal = world.shared.action_items.get(title__startswith="Northwind internal")
    internal.meeting = meeting
    internal.save()
    url = f"/governance/bodies/{meeting.body_id}/"
    ada = client_for(world.ada).get(f"/o/northwind/alliances/{world.shared.pk}{url}")
    assert "Northwind internal action" in ada.content.decode()
    ben = client_for(world.ben).get(f"/o/contoso/alliances/{world.shared.pk}{url}")
    assert "Northwind internal action" not in ben.content.decode()
