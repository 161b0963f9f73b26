"""The demo data: it loads, loads again without changing anything, and respects tenancy."""

from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import transaction
from django.db.models import F, Q
from django.http import Http404
from django.test import override_settings

from alliances.management.commands.seed_demo import ALLIANCES, DEMO_PASSWORD, DEMO_URL
from alliances.models import (
    VALUE_THESIS_FIELDS,
    Alliance,
    ContactFunction,
    FitCriterion,
    JournalEntry,
    LessonsLearned,
    Outcome,
    PartnerFitScore,
    PartnerInvitation,
    Role,
    Side,
    Stage,
    StageTransition,
    User,
    Visibility,
)
from alliances.selectors import AllianceFilters, alliance_list
from alliances.tenancy import scope_for

pytestmark = pytest.mark.django_db

DEMO_LOGINS = {
    "ada@northwind.example": ("northwind", Role.ADMIN),
    "dev@northwind.example": ("northwind", Role.MANAGER),
    "sam@northwind.example": ("northwind", Role.VIEWER),
    "ben@contoso.example": ("contoso", Role.MANAGER),
    "cy@fabrikam.example": ("fabrikam", Role.ADMIN),
}
EVERYTHING = AllianceFilters(status="all")
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def _seeded_once(django_db_setup, django_db_blocker):
    """Seed once for this module, in a transaction rolled back when the module is done.

    Each test runs in its own savepoint inside it (the ``db`` fixture), so a test that
    changes the data, or seeds again, leaves the next test the pristine demo.
    """
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=FAST_HASHERS),
        transaction.atomic(),
    ):
        output = seed()
        yield output
        transaction.set_rollback(True)


@pytest.fixture
def seeded(_seeded_once, db) -> str:
    return _seeded_once


def scope_of(email: str):
    organization, _ = DEMO_LOGINS[email]
    return scope_for(User.objects.get(email=email), organization)


def party(slug: str) -> Q:
    return Q(lead_organization__slug=slug) | Q(partner_organization__slug=slug)


def snapshot() -> dict:
    """Row counts of every model of the app, and the natural keys of what the demo writes."""
    counts = {
        model._meta.label: model.objects.count()
        for model in apps.get_app_config("alliances").get_models()
    }
    keys = {
        "alliances": Alliance.objects.values_list("lead_organization__slug", "name"),
        "journal": JournalEntry.objects.values_list("alliance__name", "body"),
        "transitions": StageTransition.objects.values_list(
            "alliance__name", "from_stage", "to_stage", "at"
        ),
        "contacts": Alliance.objects.values_list("name", "contacts__email"),
    }
    keys = {name: sorted(rows, key=str) for name, rows in keys.items()}
    return {"counts": counts, "keys": keys}


def test_runs_and_prints_the_logins(seeded):
    assert f"Added {len(ALLIANCES)} demo alliances." in seeded
    assert DEMO_URL == "http://127.0.0.1:8000/accounts/login/"
    assert DEMO_URL in seeded
    assert DEMO_PASSWORD == "concord-demo"
    assert "concord-demo" in seeded
    for email, (_, role) in DEMO_LOGINS.items():
        line = next(line for line in seeded.splitlines() if line.startswith(email))
        assert Role(role).label in line


def test_running_twice_changes_nothing(seeded):
    before = snapshot()
    output = seed()
    assert "nothing added" in output
    assert snapshot() == before
    for values in before["keys"].values():
        assert len(values) == len(set(values)), "duplicates in the demo data"


def test_rerun_resets_the_demo_passwords(seeded, client):
    ada = User.objects.get(email="ada@northwind.example")
    ada.set_password("something-else-entirely")
    ada.save()
    seed()
    assert client.login(username="ada@northwind.example", password="concord-demo")


def test_demo_users_log_in_with_their_roles(seeded, client):
    for email, (organization, role) in DEMO_LOGINS.items():
        assert client.login(username=email, password="concord-demo"), email
        user = User.objects.get(email=email)
        assert user.is_staff and not user.is_superuser
        assert not user.user_permissions.exists()
        assert [(m.organization.slug, m.role) for m in user.memberships.all()] == [
            (organization, role)
        ]
        client.logout()


def test_portfolio_covers_every_stage(seeded):
    assert Alliance.objects.count() >= 12
    assert set(Alliance.objects.values_list("stage", flat=True)) == set(Stage.values)


def test_ada_sees_northwind_alliances_in_all_five_stages(seeded, client):
    alliances = list(alliance_list(scope=scope_of("ada@northwind.example")))
    assert {a.stage for a in alliances} == set(Stage.values)
    assert all(a.archived_at is None for a in alliances)
    assert all(
        "northwind" in (a.lead_organization.slug, getattr(a.partner_organization, "slug", ""))
        for a in alliances
    )

    client.login(username="ada@northwind.example", password="concord-demo")
    response = client.get("/o/northwind/")
    assert response.status_code == 200
    for alliance in alliances:
        assert alliance.name in response.content.decode()


def test_ben_sees_only_alliances_contoso_is_party_to(seeded, client):
    seen = set(alliance_list(scope=scope_of("ben@contoso.example"), filters=EVERYTHING))
    assert seen == set(Alliance.objects.filter(party("contoso")))
    assert len([a for a in seen if a.lead_organization.slug == "northwind"]) >= 5
    assert any(a.lead_organization.slug == "contoso" for a in seen)

    client.login(username="ben@contoso.example", password="concord-demo")
    assert client.get("/o/northwind/").status_code == 404
    litware = Alliance.objects.get(name="Litware Planner Academy")
    assert client.get(f"/o/contoso/alliances/{litware.pk}/").status_code == 404


def test_cy_sees_nothing_of_northwind(seeded, client):
    seen = list(alliance_list(scope=scope_of("cy@fabrikam.example"), filters=EVERYTHING))
    assert len(seen) == 3
    assert not [a for a in seen if a in Alliance.objects.filter(party("northwind"))]
    assert not Alliance.objects.filter(party("northwind")).filter(party("fabrikam")).exists()
    with pytest.raises(Http404):
        scope_for(User.objects.get(email="cy@fabrikam.example"), "northwind")

    client.login(username="cy@fabrikam.example", password="concord-demo")
    shared = Alliance.objects.get(name="Northwind + Contoso Cloud Co-Sell")
    assert client.get(f"/o/fabrikam/alliances/{shared.pk}/").status_code == 404


def test_internal_notes_on_both_sides_stay_internal(seeded):
    internal = JournalEntry.objects.filter(visibility=Visibility.INTERNAL)
    by_lead = internal.filter(author_organization=F("alliance__lead_organization"))
    by_partner = internal.filter(author_organization=F("alliance__partner_organization"))
    assert by_lead.exists() and by_partner.exists()
    assert JournalEntry.objects.filter(visibility=Visibility.SHARED).exists()

    contoso_sees = set(scope_of("ben@contoso.example").rows(JournalEntry))
    northwind_internal = set(internal.filter(author_organization__slug="northwind"))
    assert northwind_internal and not contoso_sees & northwind_internal
    contoso_internal = set(internal.filter(author_organization__slug="contoso"))
    assert contoso_internal <= contoso_sees


def test_every_alliance_is_fully_described(seeded):
    for alliance in Alliance.objects.all():
        assert all(getattr(alliance, name).strip() for name in VALUE_THESIS_FIELDS), alliance
        assert 2 <= alliance.adaptation_triggers.count() <= 3, alliance
        contacts = list(alliance.contacts.all())
        assert 4 <= len(contacts) <= 8, alliance
        for side in Side.values:
            functions = {c.function for c in contacts if c.side == side}
            assert ContactFunction.EXECUTIVE_SPONSOR in functions, (alliance, side)
            assert ContactFunction.ALLIANCE_MANAGER in functions, (alliance, side)
        fit = PartnerFitScore.objects.filter(
            alliance=alliance, author_organization=alliance.lead_organization
        )
        assert fit.count() == len(FitCriterion.values), alliance
        assert alliance.journal.exists(), alliance
        if alliance.stage > Stage.FORMATION or alliance.outcome:
            assert alliance.transitions.filter(from_stage__isnull=False).exists(), alliance


def test_the_history_tells_the_lifecycle_stories(seeded):
    exited = Alliance.objects.get(outcome=Outcome.EXITED)
    assert LessonsLearned.objects.filter(alliance=exited).exists()
    assert exited.transitions.filter(outcome=Outcome.EXITED).exists()

    renewed = Alliance.objects.get(outcome=Outcome.RENEWED)
    assert renewed.stage == Stage.EXECUTION
    assert renewed.partner_organization.slug == "contoso"

    assert (
        Alliance.objects.filter(
            lead_organization__slug="northwind", archived_at__isnull=False
        ).count()
        == 1
    )

    pending = Alliance.objects.get(partner_organization__isnull=True)
    assert pending.lead_organization.slug == "northwind"
    assert [i.is_pending for i in PartnerInvitation.objects.filter(alliance=pending)] == [True]

    back = [t for t in StageTransition.objects.all() if t.is_backward]
    assert back and all(t.note for t in back)
    assert StageTransition.objects.exclude(override_reason="").exists()
    assert not StageTransition.objects.filter(note="").exists()

    assert Alliance.objects.filter(adaptation_triggers__fired_at__isnull=False).exists()
    assert PartnerFitScore.objects.exclude(red_flag="").exists()


def test_history_is_dated_in_order(seeded):
    for alliance in Alliance.objects.all():
        moments = list(alliance.transitions.order_by("pk").values_list("at", flat=True))
        assert moments == sorted(moments), alliance
        assert moments[0] == alliance.created_at
        assert all(entry.created_at >= alliance.created_at for entry in alliance.journal.all())


def test_every_alliance_page_opens_for_its_parties(seeded, client):
    for email in ("ada@northwind.example", "ben@contoso.example", "cy@fabrikam.example"):
        scope = scope_of(email)
        client.force_login(scope.user)
        for alliance in alliance_list(scope=scope, filters=EVERYTHING):
            url = f"/o/{scope.organization.slug}/alliances/{alliance.pk}/"
            assert client.get(url).status_code == 200, (email, alliance)
