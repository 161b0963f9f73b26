"""Lists and dashboards cost the same number of queries however many rows they show."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alliances import services
from alliances.models import (
    AdaptationTrigger,
    ContactFunction,
    FitCriterion,
    Role,
    Side,
    Stage,
    StageTransition,
    Visibility,
)
from tests.factories import ContactFactory, JournalEntryFactory, UserFactory, member

# A ceiling well above today's counts, so a page that starts querying per row still trips the
# equal-count checks first and a page that grows a fixed handful of queries is noticed here.
CEILING = 20


def queries(client, url) -> int:
    client.get(url)  # warm up: the session and anything cached per process
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(context.captured_queries)


def assert_flat(client, url, grow, small, large):
    grow(small)
    few = queries(client, url)
    grow(large)
    many = queries(client, url)
    assert few == many, f"{url}: {few} queries for {small} rows, {many} for {large}"
    assert many <= CEILING, f"{url}: {many} queries"


# --- the alliance list ----------------------------------------------------------------------


def test_alliance_list_is_flat(world, client_for):
    made = []

    def grow(total):
        while len(made) < total:
            n = len(made)
            alliance = services.alliance_create(
                organization=world.northwind,
                user=world.ada,
                name=f"Query alliance {n}",
                partner_name=f"Partner {n}",
            )
            if n % 2:
                alliance.partner_organization = world.contoso
                alliance.save(update_fields=["partner_organization"])
            for side in (Side.LEAD, Side.PARTNER, Side.LEAD):
                ContactFactory(alliance=alliance, side=side)
            check = alliance.gate_checks.first()
            services.gate_check_set(check=check, done=True, user=world.ada)
            made.append(alliance)

    assert_flat(client_for(world.ada), "/o/northwind/", grow, 5, 50)


def test_partners_alliance_list_is_flat(world, client_for):
    """The partner's list names each lead: that must come with the rows, not one by one."""
    made = []

    def grow(total):
        while len(made) < total:
            alliance = services.alliance_create(
                organization=world.fabrikam,
                user=world.cy,
                name=f"Fabrikam deal {len(made)}",
                partner_name="Contoso",
            )
            alliance.partner_organization = world.contoso
            alliance.save(update_fields=["partner_organization"])
            made.append(alliance)

    assert_flat(client_for(world.ben), "/o/contoso/?status=all", grow, 5, 50)


# --- the alliance's pages -------------------------------------------------------------------


def alliance_grower(world, alliance):
    """Add contacts, notes, transitions, ticked gate checks, fired triggers and scores."""
    functions = [ContactFunction.EXECUTIVE_SPONSOR, ContactFunction.ALLIANCE_MANAGER]
    state = {"n": 0}

    def grow(total):
        while state["n"] < total:
            n = state["n"]
            side = Side.LEAD if n % 2 else Side.PARTNER
            author = UserFactory()
            ContactFactory(alliance=alliance, side=side, function=functions[n % 2])
            JournalEntryFactory(
                alliance=alliance,
                author=author,
                author_organization=alliance.organization_of(side),
                visibility=Visibility.INTERNAL if n % 3 == 0 else Visibility.SHARED,
            )
            StageTransition.objects.create(
                alliance=alliance,
                from_stage=Stage.FORMATION,
                to_stage=Stage.FORMATION,
                note=f"Step {n}",
                checklist=[{"text": "x", "done": bool(n % 2)}],
                by_user=author,
                by_organization=alliance.organization_of(side),
                override_reason="Because" if n % 2 else "",
            )
            AdaptationTrigger.objects.create(
                alliance=alliance,
                condition=f"Condition {n}",
                fired_at=timezone.now() if n % 2 else None,
                fired_by=author if n % 2 else None,
            )
            alliance.gate_checks.create(
                stage=alliance.stage, text=f"Gate item {n}", done_at=timezone.now(), done_by=author
            )
            state["n"] += 1

    return grow


@pytest.fixture
def scored(world):
    services.partner_fit_save(
        alliance=world.shared,
        organization=world.northwind,
        scores={criterion: (4, "watch this") for criterion in FitCriterion.values},
    )


@pytest.mark.parametrize(("user", "org"), [("ada", "northwind"), ("ben", "contoso")])
def test_alliance_profile_is_flat(world, client_for, scored, user, org):
    url = f"/o/{org}/alliances/{world.shared.pk}/profile/"
    grow = alliance_grower(world, world.shared)
    assert_flat(client_for(getattr(world, user)), url, grow, 2, 20)


def test_contacts_page_is_flat(world, client_for):
    url = f"/o/northwind/alliances/{world.shared.pk}/contacts/"
    assert_flat(client_for(world.ada), url, alliance_grower(world, world.shared), 2, 20)


def test_contacts_export_is_flat(world, client_for):
    url = f"/o/northwind/alliances/{world.shared.pk}/contacts/export.csv"
    assert_flat(client_for(world.ada), url, alliance_grower(world, world.shared), 2, 20)


# --- members --------------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["ada", "vic"])
def test_members_page_is_flat(world, client_for, user):
    added = []

    def grow(total):
        while len(added) < total:
            n = len(added)
            member(UserFactory(), world.northwind, [Role.MANAGER, Role.VIEWER][n % 2])
            services.member_invite(
                organization=world.northwind,
                email=f"invitee{n}@northwind.example",
                role=Role.VIEWER,
                invited_by=world.ada,
            )
            added.append(n)

    assert_flat(client_for(getattr(world, user)), "/o/northwind/members/", grow, 2, 20)
