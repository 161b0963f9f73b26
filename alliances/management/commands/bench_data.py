"""``manage.py bench_data``: a large portfolio for ``make bench`` (see ``bench/run.py``).

One lead organisation, *Bench Lead* (slug ``bench``; sign in as ``bench@bench.example``,
password ``concord-bench``), leads ``--alliances`` alliances with partner organisations of
their own, each with contacts on both sides and ``--months`` monthly pulse rounds, answered
by both sides and closed. The data is what the pipeline writes, made the way the demo makes
it (``seed_demo``), only in bulk:

- alliances are created and moved through their stages by the lifecycle services;
  governance (bodies, meetings, decisions, actions, escalations, risks) comes from the
  demo's ``GovernanceBuilder`` and the balanced scorecard from ``seed_scorecards``;
- each month's rounds are opened by ``rounds_open`` (the real question rotation and
  invitations), answered with a handful of set-based ``INSERT … SELECT`` statements built
  by the ORM (valid on PostgreSQL and SQLite), then closed;
- the answers follow the demo's survey stories (``demo_surveys.STORIES``: healthy,
  declining, perception gap, poor response rate), one per alliance in turn, with a fixed
  offset per alliance, a leaning per person and noise per answer drawn from a hash of the
  row ids, so every run gives the same answers;
- the scoring job's work follows for all rounds at once: scores, computed KPIs, every
  round's lights, alerts (and escalations) as things stand now, the portfolio snapshot.

``--describe`` prints, as JSON, what a database holds (row counts, the alliance the
one-pager benchmark opens); it exits 1 when there is no bench data.
"""

import json
import logging
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    UUIDField,
    Value,
    When,
)
from django.db.models.functions import MD5, Cast, Concat, Greatest, Least
from django.db.models.lookups import Exact, LessThan
from django.utils import timezone

from alliances import services
from alliances.demo_data import ALLIANCES as DEMO_ALLIANCES
from alliances.demo_survey_history import KPI_LEVELS, KPI_MONTHS
from alliances.demo_surveys import (
    COMMENT_SHARE,
    COMMENTS,
    HEALTHY,
    NOT_APPLICABLE,
    NOT_APPLICABLE_FUNCTIONS,
    RELATIONAL,
    RESPONSE_DAYS,
    STORIES,
    SurveyStory,
)
from alliances.management.commands.seed_demo import GovernanceBuilder
from alliances.models import (
    AdaptationTrigger,
    Alliance,
    AllianceModel,
    Contact,
    ContactFunction,
    FitCriterion,
    JournalEntry,
    Membership,
    Organization,
    PartnerFitScore,
    Role,
    Side,
    Stage,
    StageTransition,
    User,
    Visibility,
)
from scorecards.alerts import threshold_check
from scorecards.kpis import SUGGESTED_KPIS, kpi_values_compute, month_add, month_start
from scorecards.models import Kpi, KpiSource, KpiUnit, KpiValue
from scorecards.scoring import _insert_select, scores_recompute
from surveys import services as surveys
from surveys.models import (
    Answer,
    QuestionKind,
    Response,
    RoundKind,
    RoundQuestion,
    SurveyInvitation,
    SurveyRound,
)

BENCH_SLUG = "bench"
BENCH_EMAIL = "bench@bench.example"
BENCH_PASSWORD = "concord-bench"  # noqa: S105 - a benchmark login on a throwaway database
ALLIANCES_PER_PARTNER = 20

F_ = ContactFunction
LEAD_FUNCTIONS = (F_.EXECUTIVE_SPONSOR, F_.ALLIANCE_MANAGER, F_.SALES, F_.DELIVERY, F_.PRODUCT,
                  F_.SUPPORT)  # fmt: skip
PARTNER_FUNCTIONS = (F_.EXECUTIVE_SPONSOR, F_.ALLIANCE_MANAGER, F_.SALES, F_.MARKETING,
                     F_.DELIVERY, F_.LEGAL_FINANCE)  # fmt: skip
# The stage each alliance has reached today, in turn: most run, some are young or up for review.
STAGE_MIX = (3, 2, 3, 4, 3, 1, 3, 5, 3, 4, 2, 3)
# How each alliance's people answer, in turn: mostly healthy, and each of the demo's stories.
STORY_MIX: tuple[SurveyStory, ...] = (
    HEALTHY,
    STORIES["Connected Field Service with Contoso"],
    HEALTHY,
    STORIES["Contoso Manufacturing Cloud Launch"],
    STORIES["Wingtip Cold-Chain Logistics"],
    HEALTHY,
    STORIES["Retail Demand Sensing with Contoso"],
    STORIES["Contoso Data Platform Connector"],
    HEALTHY,
    STORIES["Northwind + Contoso Cloud Co-Sell"],
)
DECLINING = STORIES["Connected Field Service with Contoso"]
# Tables whose rows --describe counts (the ones the pages read).
COUNTED = [
    "alliances.Organization", "alliances.User", "alliances.Alliance", "alliances.Contact",
    "alliances.StageTransition", "alliances.JournalEntry", "governance.GovernanceBody",
    "governance.Meeting", "governance.Decision", "governance.ActionItem",
    "governance.Escalation", "governance.Risk", "scorecards.Kpi", "scorecards.KpiValue",
    "surveys.SurveyRound", "surveys.RoundQuestion", "surveys.SurveyInvitation",
    "surveys.Response", "surveys.Answer", "scorecards.RoundHealth", "scorecards.CornerScore",
    "scorecards.Light", "scorecards.Alert", "scorecards.AllianceHealth",
]  # fmt: skip


# --- dice: the same on SQLite and PostgreSQL, and the same on every run -------------------------

MODULUS = 2**31


def dice(*terms, sides: int):
    """A number 0 … sides-1 from a hash of integer columns or constants (two LCG steps),
    as a SQL expression: each row gets its own throw, the same on every run."""
    mixed = sum(
        (
            Value(t * p) if isinstance(t, int) else Cast(t, BigIntegerField()) * p
            for t, p in zip(terms, (7919, 104729, 1299709, 15485863), strict=False)
        ),
        Value(0),
    )
    state = ExpressionWrapper(mixed % MODULUS, output_field=BigIntegerField())
    for _ in range(2):
        state = (state * 1103515245 + 12345) % MODULUS
    return ExpressionWrapper(state / 65536 % sides, output_field=IntegerField())


def cases(pairs, default, output_field=None):
    """``CASE WHEN condition THEN value …`` from (condition, value) pairs."""
    whens = [When(condition, then=Value(value)) for condition, value in pairs]
    return Case(*whens, default=Value(default), output_field=output_field)


# --- the plan ---------------------------------------------------------------------------------


@dataclass
class Period:
    start: date
    end: date
    opens_at: datetime
    closes_at: datetime
    progress: float  # 0 for the first round, 1 for the latest, as the stories count time


def closed_periods(schedule: surveys.Schedule, *, now: datetime, months: int) -> list[Period]:
    """The last ``months`` monthly periods whose round window has ended by ``now``."""
    found = []
    start, end = surveys.period_of(timezone.localdate(now), schedule.cadence)
    while len(found) < months:
        opens_at, closes_at = surveys.period_window(start, schedule)
        if closes_at <= now:
            found.append((start, end, opens_at, closes_at))
        start, end = surveys.period_of(start - timedelta(days=1), schedule.cadence)
    found.reverse()
    return [
        Period(start, end, opens_at, closes_at, n / max(months - 1, 1))
        for n, (start, end, opens_at, closes_at) in enumerate(found)
    ]


@contextmanager
def phase(command: BaseCommand, name: str, timings: dict):
    started = time.perf_counter()
    yield
    timings[name] = time.perf_counter() - started
    command.stdout.write(f"  {name:<28} {timings[name]:7.1f} s")


class Command(BaseCommand):
    help = "Generate a large benchmark portfolio (a fresh database is expected)."

    def add_arguments(self, parser):
        parser.add_argument("--alliances", type=int, default=1000)
        parser.add_argument("--months", type=int, default=36)
        parser.add_argument(
            "--describe", action="store_true", help="Print what the database holds, as JSON."
        )

    def handle(self, *args, alliances: int, months: int, describe: bool, **options):
        if describe:
            return self.describe()
        if Organization.objects.filter(slug=BENCH_SLUG).exists():
            raise CommandError("This database already holds bench data; start from an empty one.")
        if alliances < 1 or months < 1:
            raise CommandError("--alliances and --months must be at least 1.")
        self.now = timezone.now()
        self.today = timezone.localdate(self.now)
        timings: dict[str, float] = {}
        self.stdout.write(f"Bench data: {alliances} alliances × {months} months")
        with phase(self, "organisations and users", timings), transaction.atomic():
            self.organizations(alliances)
        with phase(self, "alliances and lifecycle", timings), transaction.atomic():
            self.alliances(alliances, months)
        with phase(self, "contacts, notes, fit", timings), transaction.atomic():
            self.contacts_and_notes()
        with phase(self, "governance", timings), transaction.atomic():
            for alliance in self.governed():
                GovernanceBuilder(alliance, self.today).build()
        with phase(self, "scorecards (KPIs)", timings), transaction.atomic():
            self.scorecards()
        with phase(self, "survey rounds and answers", timings):
            # One "opened N rounds" line per month says nothing to someone generating data.
            opening_log = logging.getLogger(surveys.__name__)
            level = opening_log.level
            opening_log.setLevel(logging.WARNING)
            try:
                for period in self.periods:
                    with transaction.atomic():
                        self.survey_month(period)
            finally:
                opening_log.setLevel(level)
        with phase(self, "scores, lights, alerts", timings), transaction.atomic():
            self.health()
        self.stdout.write(f"  {'total':<28} {sum(timings.values()):7.1f} s")

    # organisations, people, alliances

    def organizations(self, count: int) -> None:
        self.lead = services.organization_create(name="Bench Lead", slug=BENCH_SLUG)
        user = User.objects.create_user(BENCH_EMAIL, BENCH_PASSWORD, full_name="Bench Admin")
        Membership.objects.create(organization=self.lead, user=user, role=Role.ADMIN)
        self.user = user
        self.partners = []
        # One hash for the partners' managers: they never sign in, and hashing is slow on purpose.
        unusable = make_password(None)
        for n in range(max(1, -(-count // ALLIANCES_PER_PARTNER))):
            partner = services.organization_create(
                name=f"Bench Partner {n + 1:03}", slug=f"bench-partner-{n + 1:03}"
            )
            manager = User.objects.create(
                email=f"manager@{partner.slug}.example",
                full_name=f"Manager of {partner.name}",
                password=unusable,
            )
            Membership.objects.create(organization=partner, user=manager, role=Role.MANAGER)
            self.partners.append(partner)

    def alliances(self, count: int, months: int) -> None:
        schedule = surveys.organization_schedule(self.lead)
        self.periods = closed_periods(schedule, now=self.now, months=months)
        first_round = self.periods[0].opens_at
        created = first_round - timedelta(days=45)
        span = self.now - created
        self.stories: dict[int, SurveyStory] = {}
        self.stage_times: dict[int, list[tuple[datetime, int]]] = {}
        for n in range(count):
            spec = DEMO_ALLIANCES[n % len(DEMO_ALLIANCES)]
            partner = self.partners[n // ALLIANCES_PER_PARTNER % len(self.partners)]
            alliance = services.alliance_create(
                organization=self.lead,
                user=self.user,
                name=f"Bench alliance {n + 1:04} with {partner.name}",
                partner_organization=partner,
                partner_name=partner.name,
                model=AllianceModel.values[n % len(AllianceModel.values)],
                strategic_importance=1 + (n * 7) % 5,
                start_date=created.date() + timedelta(days=30),
                renewal_date=self.today + timedelta(days=30 + (n * 37) % 700),
                created_at=created,
                **spec.thesis,
            )
            alliance.transitions.update(at=created)
            times = [(created, Stage.FORMATION)]
            reached = STAGE_MIX[n % len(STAGE_MIX)]
            for stage in range(Stage.FORMATION + 1, reached + 1):
                moved = services.stage_advance(
                    alliance=alliance,
                    user=self.user,
                    organization=self.lead,
                    note=f"Ready for {Stage(stage).label.lower()}.",
                    override_reason="Agreed at the steering committee.",
                )
                # Stages are entered through the alliance's life, the latest a few months ago.
                when = created + span * (stage - 1) / (reached + 0.5)
                StageTransition.objects.filter(pk=moved.pk).update(at=when)
                times.append((when, stage))
            self.stories[alliance.pk] = STORY_MIX[n % len(STORY_MIX)]
            self.stage_times[alliance.pk] = times
        self.alliance_ids = list(self.stories)

    def contacts_and_notes(self) -> None:
        contacts, notes, triggers, fit = [], [], [], []
        for alliance in Alliance.objects.filter(pk__in=self.alliance_ids).select_related(
            "partner_organization"
        ):
            sides = ((Side.LEAD, LEAD_FUNCTIONS, self.lead), (Side.PARTNER, PARTNER_FUNCTIONS,
                     alliance.partner_organization))  # fmt: skip
            for side, functions, organization in sides:
                for k, function in enumerate(functions):
                    contacts.append(
                        Contact(
                            alliance=alliance,
                            side=side,
                            name=f"{ContactFunction(function).label} {k + 1} ({side})",
                            email=f"{function}.{alliance.pk}@{organization.slug}.example",
                            function=function,
                            title=ContactFunction(function).label,
                            created_at=alliance.created_at + timedelta(days=1),
                        )
                    )
                notes += [
                    JournalEntry(
                        alliance=alliance,
                        author_organization=organization,
                        visibility=visibility,
                        body=f"{organization.name}: {visibility} note {k} on the joint plan.",
                        created_at=self.now - timedelta(days=11 * k + (side == Side.LEAD)),
                    )
                    for k, visibility in enumerate((Visibility.SHARED, Visibility.INTERNAL))
                ]
            triggers.append(
                AdaptationTrigger(
                    alliance=alliance,
                    condition="A competitor of either side buys the other.",
                    response="An extraordinary steering committee within two weeks.",
                    created_at=alliance.created_at + timedelta(days=2),
                )
            )
            fit += [
                PartnerFitScore(
                    alliance=alliance,
                    author_organization=self.lead,
                    visibility=Visibility.INTERNAL,  # as partner_fit_save keeps it
                    criterion=criterion,
                    score=1 + (alliance.pk + i) % 5,
                )
                for i, criterion in enumerate(FitCriterion.values)
            ]
        Contact.objects.bulk_create(contacts, batch_size=2000)
        JournalEntry.objects.bulk_create(notes, batch_size=2000)
        AdaptationTrigger.objects.bulk_create(triggers, batch_size=2000)
        PartnerFitScore.objects.bulk_create(fit, batch_size=2000)

    def governed(self):
        return (
            Alliance.objects.filter(pk__in=self.alliance_ids, stage__gt=Stage.FORMATION)
            .select_related("lead_organization", "partner_organization")
            .order_by("pk")
        )

    def scorecards(self) -> None:
        """The suggested scorecard of every alliance past formation, as ``seed_scorecards``
        gives the demo's, in bulk: a year of hand-entered values drawn around the demo's
        ``KPI_LEVELS``; the computed KPIs come later from the data (``replay_health``)."""
        kpis, values = [], []
        this_month = month_start(self.today)
        for alliance in self.governed():
            positions: dict[str, int] = {}
            for suggestion in SUGGESTED_KPIS:
                positions[suggestion.group] = positions.get(suggestion.group, -1) + 1
                kpis.append(suggestion.kpi(alliance, positions[suggestion.group]))
        Kpi.objects.bulk_create(kpis, batch_size=2000)
        for n, kpi in enumerate(kpis):
            if kpi.source != KpiSource.MANUAL or kpi.name not in KPI_LEVELS:
                continue
            mean, spread = KPI_LEVELS[kpi.name]
            for back in range(KPI_MONTHS, 0, -1):
                # A value within the demo's spread around its mean, the same on every run.
                value = max(0.0, mean + spread * (((n * 31 + back * 17) % 41) / 20 - 1))
                if kpi.unit in (KpiUnit.COUNT, KpiUnit.DAYS):
                    value = float(round(value))
                if kpi.unit == KpiUnit.PERCENT:
                    value = min(100.0, round(value, 1))
                values.append(KpiValue(kpi=kpi, month=month_add(this_month, -back), value=value))
        KpiValue.objects.bulk_create(values, batch_size=5000)

    def health(self) -> None:
        """What the scoring job does with rounds that closed since it last ran, for all the
        rounds at once: their scores, the computed KPIs, every round's lights, the alerts as
        things stand now and the portfolio snapshot. (The demo's ``replay_health`` replays
        each month's check instead, for the alerts of the past too: at this size that takes
        longer than the rest together.)"""
        scores_recompute(now=self.now)
        kpi_values_compute(now=self.now)
        threshold_check(
            now=self.now,
            round_ids=list(
                SurveyRound.objects.filter(alliance__in=self.alliance_ids).values_list(
                    "pk", flat=True
                )
            ),
            notify=False,
        )

    # pulse surveys

    def survey_month(self, period: Period) -> None:
        """Open the period's rounds as the job would, answer them, email-bookkeep and close."""
        alliances = Alliance.objects.filter(pk__in=self.alliance_ids).select_related(
            "survey_settings", "lead_organization__survey_defaults"
        )
        plans = [
            surveys.RoundPlan(
                alliance=alliance,
                kind=RoundKind.SCHEDULED,
                period_start=period.start,
                period_end=period.end,
                opens_at=period.opens_at,
                closes_at=period.closes_at,
                reminder_days=surveys.alliance_schedule(alliance).reminder_days,
                stage=self.stage_at(alliance.pk, period.opens_at),
            )
            for alliance in alliances
        ]
        opened = surveys.rounds_open(plans, now=period.opens_at, send=False)
        by_story: dict[int, list[SurveyRound]] = {}
        for survey_round in opened:
            by_story.setdefault(id(self.stories[survey_round.alliance_id]), []).append(survey_round)
        salt = secrets.token_hex(8)  # response ids are random: nothing leads back
        for rounds in by_story.values():
            story = self.stories[rounds[0].alliance_id]
            round_ids = [r.pk for r in rounds]
            self.respond(story, round_ids, period)
            self.record_responses(story, round_ids, period, salt)
            self.record_answers(story, round_ids, period, salt)
        self.bookkeep_emails([r.pk for r in opened], period)
        SurveyRound.objects.filter(pk__in=[r.pk for r in opened]).update(closed_at=F("closes_at"))

    def stage_at(self, alliance_id: int, moment: datetime) -> int:
        stage = Stage.FORMATION
        for when, to_stage in self.stage_times[alliance_id]:
            if when <= moment:
                stage = to_stage
        return stage

    def respond(self, story: SurveyStory, round_ids: list[int], period: Period) -> None:
        """Who answers: drawn per invitation from the story's response rate per side."""
        answers = Q()
        for side, rate in story.response_rate.items():
            answers |= Q(side=side) & Q(LessThan(dice(F("pk"), 1, sides=100), round(rate * 100)))
        # The day after opening on which each answers, weighted as RESPONSE_DAYS.
        throw = dice(F("pk"), 2, sides=sum(RESPONSE_DAYS))
        answered_on = cases(
            [
                (LessThan(throw, bound), period.opens_at.date() + timedelta(days=day))
                for day, bound in enumerate(accumulate(RESPONSE_DAYS))
            ],
            period.opens_at.date(),
        )
        SurveyInvitation.objects.filter(answers, round_id__in=round_ids).update(
            responded_on=answered_on
        )

    def uuid(self, salt: str, *parts):
        return Cast(MD5(Concat(Value(salt), *parts, output_field=CharField())), UUIDField())

    def record_responses(self, story, round_ids, period: Period, salt: str) -> None:
        answered = SurveyInvitation.objects.filter(
            round_id__in=round_ids, responded_on__isnull=False
        )
        tone = {side: self.tone(story, side, period.progress) for side in (Side.LEAD, Side.PARTNER)}
        comment = Case(
            *[
                When(
                    Q(side=side) & Q(Exact(dice(F("pk"), 3, sides=len(COMMENTS[tone[side]])), k)),
                    then=Value(text),
                )
                for side in tone
                for k, text in enumerate(COMMENTS[tone[side]])
            ],
            default=Value(""),
        )
        with_comment = LessThan(dice(F("pk"), 4, sides=100), round(COMMENT_SHARE * 100))
        rows = answered.annotate(
            response_id=self.uuid(salt, Cast("pk", CharField())),
            submitted=F("responded_on"),
            note=Case(When(with_comment, then=comment), default=Value("")),
        )
        _insert_select(
            Response,
            [("id", "response_id"), ("round_id", "round_id"), ("side", "side"),
             ("function", "function"), ("submitted_on", "submitted"), ("comment", "note")],
            rows,
        )  # fmt: skip

    @staticmethod
    def tone(story: SurveyStory, side: str, progress: float) -> str:
        mean = sum(story.level(side, c, progress) for c in story.lead) / len(story.lead)
        return "good" if mean >= 72 else "mixed" if mean >= 55 else "poor"

    def record_answers(self, story, round_ids, period: Period, salt: str) -> None:
        """Each answering person's answer to each of the round's questions: the story's
        level for the side and corner, moved by the alliance, the person and the moment."""
        invitation = "round__invitations__"
        rows = RoundQuestion.objects.filter(
            round_id__in=round_ids, round__invitations__responded_on__isnull=False
        )
        levels = [
            (Q(**{f"{invitation}side": side}) & Q(corner=corner or RELATIONAL),
             round(story.level(side, corner or RELATIONAL, period.progress)))
            for side in (Side.LEAD, Side.PARTNER)
            for corner in (*story.lead, "")
        ]  # fmt: skip
        level = cases(levels, 75, IntegerField())
        # About the demo's spread: the alliance ±8, the person ±6, each answer ±15 (sd).
        alliance = dice(F("round__alliance_id"), 5, sides=17) - 8
        person = dice(F(f"{invitation}contact_id"), 6, sides=13) - 6
        noise = (
            dice(F(f"{invitation}id"), F("pk"), 7, sides=37)
            + dice(F(f"{invitation}id"), F("pk"), 8, sides=37)
            - 36
        )
        points = level + alliance + person + noise
        likert = Greatest(Least((points * 2 + 25) / 50 + 1, Value(5)), Value(1))
        trust = Greatest(Least((level + alliance + 2 * person + noise * 2 / 3 + 5) / 10, Value(10)),
                         Value(0))  # fmt: skip
        not_applicable = cases(
            [(Q(**{f"{invitation}function": f}), round(share * 100))
             for f, share in NOT_APPLICABLE_FUNCTIONS.items()],
            round(NOT_APPLICABLE * 100),
            IntegerField(),
        )  # fmt: skip
        value = Case(
            When(kind=QuestionKind.TRUST, then=trust),
            When(LessThan(dice(F(f"{invitation}id"), F("pk"), 9, sides=100), not_applicable),
                 then=Value(None)),
            default=likert,
            output_field=IntegerField(),
        )  # fmt: skip
        rows = rows.annotate(
            answer_id=self.uuid(salt, Cast(F(f"{invitation}id"), CharField()), Value(":"),
                                Cast("pk", CharField())),
            response_id=self.uuid(salt, Cast(F(f"{invitation}id"), CharField())),
            side_=F(f"{invitation}side"),
            function_=F(f"{invitation}function"),
            value_=value,
        )  # fmt: skip
        _insert_select(
            Answer,
            [("id", "answer_id"), ("response_id", "response_id"), ("question_id", "pk"),
             ("round_id", "round_id"), ("kind", "kind"), ("corner", "corner"),
             ("side", "side_"), ("function", "function_"), ("value", "value_")],
            rows,
        )  # fmt: skip

    def bookkeep_emails(self, round_ids: list[int], period: Period) -> None:
        """What the sending job records: the invitation, and the reminders sent before the
        person answered (or the round closed)."""
        opens = period.opens_at
        reminders = sorted(surveys.organization_schedule(self.lead).reminder_days)
        invitations = SurveyInvitation.objects.filter(round_id__in=round_ids)
        for day in range(10):
            answered = opens.date() + timedelta(days=day)
            reminded = [d for d in reminders if d < day]
            invitations.filter(responded_on=answered).update(
                sent_at=opens,
                last_emailed_at=opens + timedelta(days=reminded[-1] if reminded else 0),
                reminders_sent=len(reminded),
                next_email_at=None,
            )
        invitations.filter(responded_on__isnull=True).update(
            sent_at=opens,
            last_emailed_at=opens + timedelta(days=reminders[-1] if reminders else 0),
            reminders_sent=len(reminders),
            next_email_at=None,
        )

    # describing

    def describe(self) -> None:
        lead = Organization.objects.filter(slug=BENCH_SLUG).first()
        if lead is None:
            self.stdout.write(json.dumps({"bench_data": False}))
            raise SystemExit(1)
        # The one-pager benchmark opens a running alliance with the most to show: alerts,
        # actions and meetings (the heaviest page a typical user opens).
        alliance = (
            Alliance.objects.filter(lead_organization=lead, stage=Stage.EXECUTION)
            .annotate(alerts_=Count("alerts", distinct=True))
            .order_by("-alerts_", "pk")
            .first()
        )
        rows = {label: apps.get_model(label).objects.count() for label in COUNTED}
        self.stdout.write(
            json.dumps(
                {
                    "bench_data": True,
                    "organization": lead.slug,
                    "login": BENCH_EMAIL,
                    "password": BENCH_PASSWORD,
                    "alliance": alliance.pk if alliance else None,
                    "alliances": rows["alliances.Alliance"],
                    "months": SurveyRound.objects.filter(alliance=alliance).count(),
                    "rows": rows,
                }
            )
        )
