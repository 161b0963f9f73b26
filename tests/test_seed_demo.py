"""The demo data: it loads, loads again without changing anything, and respects tenancy."""

from datetime import date, datetime, time, timedelta
from io import StringIO
from unittest import mock

import pytest
from django.apps import apps
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.db.models import Avg, Count, F, Q
from django.http import Http404
from django.test import override_settings
from django.utils import timezone

from alliances.demo_surveys import HEALTHY, STORIES
from alliances.mail import outbox_messages
from alliances.management.commands.seed_demo import (
    ALLIANCES,
    DEMO_PASSWORD,
    DEMO_URL,
    seed_surveys,
)
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
from governance.models import (
    ActionItem,
    ActionSource,
    ActionStatus,
    Escalation,
    EscalationMove,
    GovernanceBody,
    Meeting,
    Risk,
    Rung,
    Tier,
)
from governance.selectors import attendance, body_statuses
from surveys import services as surveys
from surveys.models import (
    Answer,
    Corner,
    Response,
    SurveyInvitation,
    SurveyRound,
    SurveySettings,
)

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
def demo_outbox(tmp_path_factory):
    """The folder the seeding writes its emails to, as the embedded default does."""
    return tmp_path_factory.mktemp("demo-outbox")


@pytest.fixture(scope="module")
def _seeded_once(django_db_setup, django_db_blocker, demo_outbox):
    """Seed once for this module, in a transaction rolled back when the module is done.

    Each test runs in its own savepoint inside it (the ``db`` fixture), so a test that
    changes the data, or seeds again, leaves the next test the pristine demo.
    """
    to_the_folder = override_settings(
        MAILERS={"default": {"BACKEND": "alliances.mail.OutboxEmailBackend"}},
        OUTBOX_PATH=demo_outbox,
    )
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=FAST_HASHERS),
        transaction.atomic(),
    ):
        with to_the_folder:
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
        for app in ("alliances", "governance", "surveys")
        for model in apps.get_app_config(app).get_models()
    }
    counts["meeting attendance"] = Meeting.attendees.through.objects.count()
    counts["body members"] = GovernanceBody.members.through.objects.count()
    keys = {
        "alliances": Alliance.objects.values_list("lead_organization__slug", "name"),
        "journal": JournalEntry.objects.values_list("alliance__name", "body"),
        "transitions": StageTransition.objects.values_list(
            "alliance__name", "from_stage", "to_stage", "at"
        ),
        "contacts": Alliance.objects.values_list("name", "contacts__email"),
        "rounds": SurveyRound.objects.values_list("alliance__name", "kind", "period_start"),
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


def test_running_twice_changes_nothing(seeded, demo_outbox):
    before = snapshot()
    emails = sorted(demo_outbox.iterdir())
    output = seed()
    assert "nothing added" in output
    assert "pulse-survey" not in output
    assert snapshot() == before
    assert mail.outbox == []
    assert sorted(demo_outbox.iterdir()) == emails
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
        assert 4 <= len(contacts) <= 10, alliance
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


# --- governance ---------------------------------------------------------------------------------


class Everything:
    """A scope that sees every row, for the selectors."""

    def rows(self, model_or_queryset):
        return getattr(model_or_queryset, "objects", model_or_queryset).all()


def governed():
    return Alliance.objects.filter(archived_at__isnull=True, stage__gt=Stage.FORMATION)


def test_alliances_past_formation_have_bodies_and_meetings(seeded):
    assert governed().count() >= 8
    for alliance in governed():
        tiers = set(alliance.governance_bodies.values_list("tier", flat=True))
        expected = {Tier.EXECUTIVE_STEERING, Tier.OPERATIONAL_COUNCIL}
        if alliance.stage == Stage.EXECUTION:
            expected.add(Tier.WORKING_TEAM)
        assert tiers == expected, alliance
        for body in alliance.governance_bodies.all():
            sides = set(body.members.values_list("side", flat=True))
            assert sides == {Side.LEAD, Side.PARTNER}, body
            assert body.meetings.exists(), body
        assert alliance.decisions.exists(), alliance
        assert alliance.decision_rights.count() >= 4, alliance
        assert 4 <= alliance.risks.count() <= 7, alliance
    for alliance in Alliance.objects.filter(stage=Stage.FORMATION):
        assert not alliance.governance_bodies.exists(), alliance
        assert not alliance.meetings.exists(), alliance


def test_older_alliances_have_a_year_of_meetings_at_their_cadence(seeded):
    today = timezone.localdate()
    long_running = [
        a
        for a in governed()
        if a.transitions.filter(to_stage=Stage.GOVERNANCE, at__date__lt=today - timedelta(days=400))
    ]
    assert len(long_running) >= 5
    for alliance in long_running:
        first = alliance.meetings.order_by("held_on").first().held_on
        assert today - timedelta(days=460) <= first <= today - timedelta(days=365), alliance
        council = alliance.governance_bodies.get(tier=Tier.OPERATIONAL_COUNCIL)
        steering = alliance.governance_bodies.get(tier=Tier.EXECUTIVE_STEERING)
        assert council.meetings.count() >= 11, alliance
        assert steering.meetings.count() >= 4, alliance
    for team in GovernanceBody.objects.filter(tier=Tier.WORKING_TEAM):
        held = team.meetings.order_by("held_on").values_list("held_on", flat=True)
        assert len(held) >= 12 and held[0] >= today - timedelta(days=95), team


def test_attendance_is_realistic_with_one_absent_partner(seeded):
    today = timezone.localdate()
    poor = Alliance.objects.get(name="Retail Demand Sensing with Contoso")
    for alliance in governed():
        rates = attendance(scope=Everything(), alliance=alliance)
        for body in alliance.governance_bodies.all():
            rate = rates[body.pk]
            if alliance == poor:
                assert rate[Side.PARTNER].rate < 0.6, body
            else:
                assert 0.7 <= rate["all"].rate <= 1, body
        # Not everyone comes every time.
        assert any(rates[b][Side.PARTNER].rate < 1 for b in rates), alliance
    # The poor partner's alliance also skipped its latest council meeting.
    statuses = body_statuses(scope=Everything(), alliance=poor, today=today)
    assert [s.body.tier for s in statuses if s.missed] == [Tier.OPERATIONAL_COUNCIL]


def test_actions_escalations_and_risks_tell_a_story(seeded):
    today = timezone.localdate()
    actions = ActionItem.objects.all()
    overdue = [a for a in actions.filter(due_on__lt=today) if a.is_overdue(today)]
    assert len(overdue) >= 3
    assert actions.filter(status__in=["open", "in_progress"], due_on__gte=today).count() >= 5
    said_did = actions.filter(
        status=ActionStatus.DONE,
        visibility=Visibility.SHARED,
        source__in=[ActionSource.ALERT, ActionSource.HEALTH_REVIEW],
    )
    assert said_did.filter(source=ActionSource.ALERT).exists()
    assert said_did.filter(source=ActionSource.HEALTH_REVIEW).exists()
    assert actions.filter(source=ActionSource.MEETING, meeting__isnull=False).exists()

    now = timezone.now()
    escalations = Escalation.objects.all()
    resolved = escalations.filter(resolved_at__isnull=False)
    assert resolved.count() >= 10
    assert all(e.resolution and e.resolved_at > e.raised_at for e in resolved)
    assert len({e.resolution_time for e in resolved}) > 3
    open_ = escalations.filter(resolved_at__isnull=True)
    assert open_.filter(due_at__lt=now, rung__lt=Rung.EXECUTIVE_SPONSORS).exists()
    assert open_.filter(due_at__gt=now).exists()

    risks = Risk.objects.all()
    internal = risks.filter(visibility=Visibility.INTERNAL)
    assert internal.filter(author_organization=F("alliance__lead_organization")).exists()
    assert internal.filter(author_organization=F("alliance__partner_organization")).exists()
    assert len(set(risks.values_list("likelihood", "impact"))) >= 8
    for risk in internal:
        assert risk.owner.side == risk.alliance.side_of(risk.author_organization), risk

    contoso = scope_of("ben@contoso.example")
    northwind_internal = set(
        internal.filter(author_organization__slug="northwind", alliance__in=contoso.rows(Alliance))
    )
    assert northwind_internal and not northwind_internal & set(contoso.rows(Risk))


def test_run_jobs_a_month_later_moves_the_overdue_escalations_one_rung(seeded):
    later = timezone.now() + timedelta(days=31)
    due = {
        e.pk: e.rung
        for e in Escalation.objects.filter(
            resolved_at__isnull=True, due_at__lt=later, rung__lt=Rung.EXECUTIVE_SPONSORS
        )
    }
    untouched = dict(Escalation.objects.exclude(pk__in=due).values_list("pk", "rung"))
    moves_before = EscalationMove.objects.count()  # the health history's own steps
    assert due
    for _ in range(2):
        call_command("run_jobs", now=later.isoformat(), job=["escalate_overdue"], stdout=StringIO())
    after = dict(Escalation.objects.values_list("pk", "rung"))
    assert {pk: after[pk] for pk in due} == {pk: rung + 1 for pk, rung in due.items()}
    assert {pk: after[pk] for pk in untouched} == untouched
    assert EscalationMove.objects.count() == moves_before + len(due)


# --- pulse surveys ------------------------------------------------------------------------------


def surveyed():
    """The alliances the survey jobs would run rounds for: live, not exited."""
    return Alliance.objects.filter(archived_at__isnull=True).exclude(outcome=Outcome.EXITED)


def with_pattern(pattern: str) -> list[Alliance]:
    return [a for a in surveyed() if STORIES.get(a.name, HEALTHY).pattern == pattern]


def open_round() -> SurveyRound:
    (name,) = [name for name, story in STORIES.items() if story.open_now]
    return SurveyRound.objects.get(alliance__name=name, closed_at__isnull=True)


def score(answers) -> float:
    """The mean score (0–100) of Likert answers, from the database's average."""
    return (answers.aggregate(mean=Avg("value"))["mean"] - 1) * 25


def closed_rounds(alliance: Alliance) -> list[SurveyRound]:
    return list(alliance.survey_rounds.filter(closed_at__isnull=False).order_by("opens_at"))


def response_rate(rounds) -> float:
    invited = SurveyInvitation.objects.filter(round__in=rounds).count()
    return Response.objects.filter(round__in=rounds).count() / invited


def test_healthy_alliances_have_24_months_of_rounds(seeded):
    (co_sell,) = [a for a in with_pattern("healthy") if a.name.startswith("Northwind + Contoso")]
    rounds = list(co_sell.survey_rounds.order_by("period_start"))
    assert len(rounds) == 24
    months = [(r.period_start.year, r.period_start.month) for r in rounds]
    assert len(set(months)) == 24
    first, last = rounds[0].period_start, rounds[-1].period_start
    assert (last.year - first.year) * 12 + last.month - first.month == 23
    assert rounds[-1].opens_at <= timezone.now()
    for survey_round in rounds:
        assert survey_round.questions.count() == surveys.ROUND_SIZE
        assert survey_round.invitations.count() == co_sell.contacts.count()
    # The questions rotate: consecutive rounds do not ask the same items.
    asked = [set(r.questions.values_list("question_id", flat=True)) for r in rounds[:2]]
    assert asked[0] != asked[1]


def test_every_running_alliance_has_one_round_per_period(seeded):
    per_period = (
        SurveyRound.objects.values("alliance", "kind", "period_start")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    assert not per_period.exists()
    now = timezone.now()
    still_open = SurveyRound.objects.filter(closed_at__isnull=True)
    assert set(still_open) == set(SurveyRound.objects.filter(opens_at__lte=now, closes_at__gt=now))
    for alliance in surveyed().filter(stage__gt=Stage.FORMATION):
        assert alliance.survey_rounds.count() >= 3, alliance
    assert not SurveyRound.objects.exclude(alliance__in=surveyed()).exists()
    # What the opening job would open now is open already, so starting the demo opens nothing.
    assert surveys.rounds_due(now=timezone.now()) == []


def test_past_rounds_are_closed_answered_and_emailed(seeded):
    past = SurveyRound.objects.filter(closes_at__lte=timezone.now())
    assert not past.filter(closed_at__isnull=True).exists()
    assert not past.exclude(closed_at=F("closes_at")).exists()
    invitations = SurveyInvitation.objects.filter(round__in=past)
    assert not invitations.filter(sent_at__isnull=True).exists()
    assert not invitations.filter(next_email_at__isnull=False).exists()
    assert invitations.filter(reminders_sent__gt=0).exists()
    # Each used invitation matches a response on its side in its round, and nothing more.
    used = invitations.filter(responded_on__isnull=False)
    assert used.count() == Response.objects.filter(round__in=past).count()
    answers = Answer.objects.filter(round__in=past)
    assert answers.filter(value__isnull=True).exists()  # "not applicable", now and then
    assert Response.objects.exclude(comment="").count() >= 10
    assert set(Response.objects.values_list("function", flat=True)) >= {
        ContactFunction.EXECUTIVE_SPONSOR,
        ContactFunction.ALLIANCE_MANAGER,
        ContactFunction.SALES,
    }
    # The stage recorded is the one the alliance was in when the round opened.
    connector = Alliance.objects.get(name="Contoso Data Platform Connector")
    assert set(connector.survey_rounds.values_list("stage", flat=True)) == {1, 2, 3}


def test_healthy_alliances_score_well(seeded):
    healthy = [a for a in with_pattern("healthy") if closed_rounds(a)]
    assert len(healthy) >= 7
    assert any(a.lead_organization.slug == "fabrikam" for a in healthy)
    for alliance in healthy:
        answers = Answer.objects.filter(round__alliance=alliance, kind="likert")
        for corner in Corner.values:
            assert 65 <= score(answers.filter(corner=corner)) <= 90, (alliance, corner)


def test_one_alliance_declines_steadily(seeded):
    (declining,) = with_pattern("declining")
    rounds = closed_rounds(declining)
    assert len(rounds) >= 20
    relational = Answer.objects.filter(corner=Corner.RELATIONAL)
    first = score(relational.filter(round__in=rounds[:3]))
    last = score(relational.filter(round__in=rounds[-3:]))
    assert first >= 70
    assert first - last >= 25
    operational = Answer.objects.filter(corner=Corner.OPERATIONAL)
    assert score(operational.filter(round__in=rounds[-3:])) < 60
    trust = Answer.objects.filter(kind="trust")
    trust_first = trust.filter(round__in=rounds[:3]).aggregate(mean=Avg("value"))["mean"]
    trust_last = trust.filter(round__in=rounds[-3:]).aggregate(mean=Avg("value"))["mean"]
    assert trust_first - trust_last >= 2  # the trust anchor moves with relational trust
    for side in Side.values:
        by_side = relational.filter(side=side)
        assert (
            score(by_side.filter(round__in=rounds[:3]))
            - score(by_side.filter(round__in=rounds[-3:]))
            >= 20
        ), side


def test_one_alliance_shows_a_perception_gap(seeded):
    (gap,) = with_pattern("perception gap")
    assert {gap.lead_organization.slug, gap.partner_organization.slug} == {"northwind", "contoso"}
    answers = Answer.objects.filter(round__alliance=gap)
    differences = [
        score(answers.filter(corner=corner, side=Side.LEAD))
        - score(answers.filter(corner=corner, side=Side.PARTNER))
        for corner in (Corner.STRATEGIC, Corner.VALUE)
    ]
    assert sum(differences) / len(differences) >= 15
    assert len(closed_rounds(gap)) >= 6


def test_response_rates_are_high_except_for_one_alliance(seeded):
    (poor,) = with_pattern("poor response rate")
    rounds = closed_rounds(poor)
    assert response_rate(rounds) < 0.5
    # Some rounds are too thin on the partner side to show: suppression and pooling.
    partner_responses = [r.responses.filter(side=Side.PARTNER).count() for r in rounds]
    assert sum(n < 3 for n in partner_responses) >= len(rounds) // 2
    for alliance in surveyed().exclude(pk=poor.pk):
        rounds = closed_rounds(alliance)
        if len(rounds) >= 3:
            assert response_rate(rounds) >= 0.75, alliance


def test_one_round_is_open_with_its_links_in_the_outbox(seeded, demo_outbox, settings, client):
    now = timezone.now()
    survey_round = open_round()
    alliance = survey_round.alliance
    assert {alliance.lead_organization.slug, alliance.partner_organization.slug} == {
        "northwind",
        "contoso",
    }
    assert survey_round.opens_at <= now < survey_round.closes_at
    invitations = list(survey_round.invitations.select_related("contact"))
    assert all(i.sent_at for i in invitations)
    waiting = [i for i in invitations if i.responded_on is None]
    assert 0 < survey_round.responses.count() == len(invitations) - len(waiting)
    assert len(waiting) >= len(invitations) / 2
    assert all(i.next_email_at and i.next_email_at > now for i in waiting)  # reminders pending

    settings.OUTBOX_PATH = demo_outbox
    settings.DEBUG = True
    client.force_login(User.objects.get(email="ada@northwind.example"))
    page = client.get("/dev/outbox/").content.decode()
    for invitation in waiting:
        assert invitation.contact.email in page
    messages = [m for m in outbox_messages() if alliance.name in m["body"]]
    assert {m["to"] for m in messages} == {i.contact.email for i in invitations}
    client.logout()

    unused = next(m for m in messages if m["to"] == waiting[0].contact.email)
    link = next(link for link in unused["links"] if "/s/" in link and "unsubscribe" not in link)
    opened = client.get(link.removeprefix(settings.SITE_URL))
    assert opened.status_code == 302
    form = client.get(opened["Location"])
    assert form.status_code == 200
    question = survey_round.questions.get(position=1)
    assert question.text in form.content.decode()


def test_starting_the_demo_sends_no_survey_email(seeded):
    rounds = SurveyRound.objects.count()
    call_command(
        "run_jobs",
        job=["close_rounds", "open_rounds", "send_survey_emails"],
        stdout=StringIO(),
    )
    assert SurveyRound.objects.count() == rounds
    assert mail.outbox == []


def test_seeded_on_a_day_when_every_round_is_open(seeded):
    """Early in a month every alliance's round is open: all of them are emailed at seeding,
    none is opened or emailed again when the demo starts."""
    SurveyRound.objects.all().delete()
    SurveySettings.objects.all().delete()
    today = timezone.localdate()
    fifth = date(today.year + today.month // 12, today.month % 12 + 1, 5)
    later = timezone.make_aware(datetime.combine(fifth, time(15)))
    with mock.patch("django.utils.timezone.now", return_value=later):
        seed_surveys()
        still_open = SurveyRound.objects.filter(closed_at__isnull=True)
        assert still_open.count() == surveyed().count() > 5
        assert open_round().opens_at == later - timedelta(days=3, hours=6)
        invitations = SurveyInvitation.objects.filter(round__in=still_open)
        assert len(mail.outbox) >= invitations.count()
        assert not invitations.filter(sent_at__isnull=True).exists()
        emailed = len(mail.outbox)
        call_command(
            "run_jobs",
            now=later.isoformat(),
            job=["close_rounds", "open_rounds", "send_survey_emails"],
            stdout=StringIO(),
        )
        assert len(mail.outbox) == emailed
        assert SurveyRound.objects.filter(closed_at__isnull=True).count() == still_open.count()
