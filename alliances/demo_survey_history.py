"""The demo's pulse-survey history, built through the survey services: see ``seed_surveys``.

The tables (who answers how) are in ``demo_surveys.py``; ``seed_demo`` runs this last.
"""

import logging
import random
from datetime import date, datetime, time, timedelta
from itertools import groupby

from django.db import models
from django.db.models import Exists, OuterRef
from django.utils import timezone

from alliances.demo_surveys import (
    COMMENT_SHARE,
    COMMENTS,
    HEALTHY,
    HISTORY_ROUNDS,
    NOT_APPLICABLE,
    NOT_APPLICABLE_FUNCTIONS,
    RELATIONAL,
    RESPONSE_DAYS,
    STORIES,
)
from alliances.models import Alliance, Contact, Outcome, Role, Side, User
from surveys import sending as survey_sending
from surveys import services as surveys
from surveys.models import RoundKind, SurveyInvitation, SurveyRound, SurveySettings


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def clamp(value: float, low: int, high: int) -> int:
    return min(high, max(low, round(value)))


class SurveyHistoryBuilder:
    """One alliance's pulse rounds: its last ``HISTORY_ROUNDS`` periods, each opened by the
    survey services at the moment it was due (so the question rotation is the real one),
    answered as ``STORIES`` says, and closed when its window ended. A round still open today
    gets its emails sent and some of its answers, the rest are still to come.

    Who answers is drawn per side from the response rate alone, before and apart from what
    they answer; the dice are seeded with the alliance's name, so every run gives the same.
    """

    def __init__(self, alliance: Alliance, now: datetime):
        self.alliance = alliance
        self.now = now
        self.story = STORIES.get(alliance.name, HEALTHY)
        # Demo dice, not secrets: seeded so that every run draws the same answers.
        self.rng = random.Random(f"concord-demo|surveys|{alliance.name}")  # noqa: S311
        self.stages = list(alliance.transitions.order_by("at", "pk").values_list("at", "to_stage"))
        self.leaning: dict[int, float] = {}  # contact id → how much kinder or harsher they answer
        self.progress: dict[date, float] = {}  # period start → 0 (first round) … 1 (latest)

    def set_schedule(self) -> None:
        """The alliance whose round is open opens its rounds three days before today."""
        if not self.story.open_now:
            return
        opens_on = timezone.localdate(self.now) - timedelta(days=3)
        manager = (
            User.objects.filter(
                memberships__organization=self.alliance.lead_organization,
                memberships__role=Role.MANAGER,
            )
            .order_by("email")
            .first()
        )
        SurveySettings.objects.update_or_create(
            alliance=self.alliance,
            defaults={"open_day": min(opens_on.day, 28), "updated_by": manager},
        )
        self.alliance = Alliance.objects.select_related("survey_settings", "lead_organization").get(
            pk=self.alliance.pk
        )

    def plans(self) -> list[surveys.RoundPlan]:
        """The scheduled rounds that have opened since the alliance started, newest 24."""
        schedule = surveys.alliance_schedule(self.alliance)
        start_date = self.alliance.start_date
        began = at(start_date, 0) if start_date else self.alliance.created_at
        periods = []
        start, end = surveys.period_of(timezone.localdate(self.now), schedule.cadence)
        while len(periods) < HISTORY_ROUNDS:
            opens_at, closes_at = surveys.period_window(start, schedule)
            if opens_at < began:
                break
            if opens_at <= self.now:
                periods.append((start, end, opens_at, closes_at))
            start, end = surveys.period_of(start - timedelta(days=1), schedule.cadence)
        periods.reverse()
        plans = []
        for n, (start, end, opens_at, closes_at) in enumerate(periods):
            self.progress[start] = n / max(len(periods) - 1, 1)
            plans.append(
                surveys.RoundPlan(
                    alliance=self.alliance,
                    stage=self.stage_at(opens_at),
                    kind=RoundKind.SCHEDULED,
                    period_start=start,
                    period_end=end,
                    opens_at=opens_at,
                    closes_at=closes_at,
                    reminder_days=schedule.reminder_days,
                )
            )
        return plans

    def stage_at(self, moment_: datetime) -> int:
        """The alliance's stage then: a round records the stage it opened in."""
        stage = self.stages[0][1]
        for when, to_stage in self.stages:
            if when <= moment_:
                stage = to_stage
        return stage

    # answering

    def answer(self, survey_round: SurveyRound) -> None:
        """Answer a round whose window has ended, record its emails as sent, and close it."""
        invitations = list(survey_round.invitations.all())
        responded = self.responders(survey_round, invitations)
        for invitation in sorted(invitations, key=lambda i: responded.get(i.pk, self.now)):
            if invitation.pk in responded:
                self.respond(survey_round, invitation, responded[invitation.pk])
        reminders = [
            survey_round.opens_at + timedelta(days=day) for day in survey_round.reminder_days
        ]
        for invitation in invitations:
            until = responded.get(invitation.pk, survey_round.closes_at)
            reminded = [moment_ for moment_ in reminders if moment_ < until]
            invitation.sent_at = survey_round.opens_at
            invitation.last_emailed_at = reminded[-1] if reminded else survey_round.opens_at
            invitation.reminders_sent = len(reminded)
            invitation.next_email_at = None
        SurveyInvitation.objects.bulk_update(
            invitations, ["sent_at", "last_emailed_at", "reminders_sent", "next_email_at"]
        )
        SurveyRound.objects.filter(pk=survey_round.pk).update(closed_at=models.F("closes_at"))

    def answer_so_far(self, survey_round: SurveyRound) -> None:
        """A round open today: emailed through the real sending (the links land in the
        outbox), reminded on the days that have passed, and partly answered."""
        invitations = list(survey_round.invitations.all())
        so_far = sorted(
            (when, pk)
            for pk, when in self.responders(survey_round, invitations).items()
            if when < self.now - timedelta(hours=1)
        )
        # A few answers in, most to come: the page shows a response rate still growing.
        answered = {pk: when for when, pk in so_far[: len(invitations) // 2]}
        sends = [survey_round.opens_at] + [
            survey_round.opens_at + timedelta(days=day)
            for day in survey_round.reminder_days
            if survey_round.opens_at + timedelta(days=day) <= self.now
        ]
        events = [(when, 0, None) for when in sends]
        events += [(answered[i.pk], 1, i) for i in invitations if i.pk in answered]
        for when, _, invitation in sorted(events, key=lambda event: event[:2]):
            if invitation is None:
                while survey_sending.survey_emails_send(now=when, round_ids=[survey_round.pk]).more:
                    pass
            else:
                self.respond(survey_round, invitation, when)

    def responders(self, survey_round: SurveyRound, invitations: list) -> dict[int, datetime]:
        """Invitation id → when its person answers, for those who answer."""
        chosen = {}
        for side in Side.values:
            group = [i for i in invitations if i.side == side]
            expected = len(group) * self.story.response_rate[side]
            count = clamp(expected + self.rng.uniform(-0.7, 0.7), 0, len(group))
            for invitation in self.rng.sample(group, count):
                day = self.rng.choices(range(len(RESPONSE_DAYS)), weights=RESPONSE_DAYS)[0]
                chosen[invitation.pk] = survey_round.opens_at + timedelta(
                    days=day, hours=self.rng.randint(0, 8), minutes=self.rng.randint(0, 59)
                )
        return chosen

    def respond(self, survey_round: SurveyRound, invitation, when: datetime) -> None:
        invitation.round = survey_round  # with its questions prefetched
        progress = self.progress[survey_round.period_start]
        side = invitation.side
        if invitation.contact_id not in self.leaning:
            self.leaning[invitation.contact_id] = self.rng.gauss(0, 0.15)
        leaning = self.leaning[invitation.contact_id]
        not_applicable = NOT_APPLICABLE_FUNCTIONS.get(invitation.function, NOT_APPLICABLE)
        answers, scores = {}, []
        for question in survey_round.questions.all():
            if question.is_trust:
                level = self.story.level(side, RELATIONAL, progress)
                value = clamp(self.rng.gauss(level / 10 + 2 * leaning, 1.0), 0, 10)
            elif self.rng.random() < not_applicable:
                value = None
            else:
                level = self.story.level(side, question.corner, progress)
                value = clamp(self.rng.gauss(1 + level / 25 + leaning, 0.6), 1, 5)
                scores.append((value - 1) * 25)
            answers[question.pk] = value
        comment = ""
        if self.rng.random() < COMMENT_SHARE:
            mean = sum(scores) / len(scores)
            tone = "good" if mean >= 72 else "mixed" if mean >= 55 else "poor"
            comment = self.rng.choice(COMMENTS[tone])
        surveys.response_submit(invitation=invitation, answers=answers, comment=comment, now=when)


def seed_surveys() -> tuple[int, int]:
    """Give every running alliance without rounds its survey history; return how many
    alliances got one and how many of their rounds are open now.

    The rounds of all alliances are opened in time order, one ``rounds_open`` per moment,
    so each round closes before its alliance's next one opens.
    """
    now = timezone.now()
    # One "opened N rounds" line per month of history says nothing to someone seeding.
    opening_log = logging.getLogger(surveys.__name__)
    level = opening_log.level
    opening_log.setLevel(logging.WARNING)
    try:
        return _seed_surveys(now)
    finally:
        opening_log.setLevel(level)


def _seed_surveys(now: datetime) -> tuple[int, int]:
    has_rounds = SurveyRound.objects.filter(alliance=OuterRef("pk"))
    participants = Contact.objects.filter(surveys.PARTICIPANT, alliance=OuterRef("pk"))
    alliances = (
        Alliance.objects.filter(Exists(participants), archived_at__isnull=True)
        .exclude(outcome=Outcome.EXITED)
        .exclude(Exists(has_rounds))
        .select_related("survey_settings", "lead_organization")
        .order_by("pk")
    )
    builders = {alliance.pk: SurveyHistoryBuilder(alliance, now) for alliance in alliances}
    plans = []
    for builder in builders.values():
        builder.set_schedule()
        plans += builder.plans()
    plans.sort(key=lambda plan: (plan.opens_at, plan.alliance.pk))
    open_rounds = 0
    for opens_at, group in groupby(plans, key=lambda plan: plan.opens_at):
        opened = surveys.rounds_open(list(group), now=opens_at, send=False)
        open_rounds += answer_rounds(opened, builders, now=now)
    # An alliance that started after this period's window opened, inside it: what the
    # opening job would do for it at once, done now.
    late = [plan for plan in surveys.rounds_due(now=now) if plan.alliance.pk in builders]
    for plan in late:
        builders[plan.alliance.pk].progress[plan.period_start] = 0
    open_rounds += answer_rounds(surveys.rounds_open(late, now=now, send=False), builders, now=now)
    return len({plan.alliance.pk for plan in plans + late}), open_rounds


def answer_rounds(opened: list[SurveyRound], builders: dict, *, now: datetime) -> int:
    """Answer the rounds just opened; return how many of them are still open."""
    still_open = 0
    rounds = SurveyRound.objects.filter(pk__in=[r.pk for r in opened]).prefetch_related("questions")
    for survey_round in rounds.order_by("alliance_id"):
        builder = builders[survey_round.alliance_id]
        if survey_round.closes_at <= now:
            builder.answer(survey_round)
        else:
            builder.answer_so_far(survey_round)
            still_open += 1
    return still_open


def replay_health(*, now: datetime) -> int:
    """Score every closed round, then run the threshold check at each moment rounds closed,
    in order, as the jobs would have (without emails): lights, alerts, review actions and
    escalations appear with the dates they would have had. The review action of an alert
    that has since resolved itself is marked done when it resolved, as the teams would have.
    Returns how many alerts were raised."""
    from governance.models import ActionItem, ActionStatus
    from scorecards.alerts import threshold_check
    from scorecards.kpis import kpi_values_compute
    from scorecards.models import Alert, AlertStatus
    from scorecards.scoring import scores_recompute

    scores_recompute(now=now)
    closing: dict[datetime, list[int]] = {}
    for pk, closed_at in (
        SurveyRound.objects.filter(closed_at__isnull=False, closed_at__lte=now)
        .order_by("closed_at")
        .values_list("pk", "closed_at")
    ):
        closing.setdefault(closed_at, []).append(pk)
    raised = 0
    for moment, round_ids in closing.items():
        raised += len(threshold_check(now=moment, round_ids=round_ids, notify=False).raised)
    kpi_values_compute(now=now)  # the computed KPIs, now that the rounds have scores
    for alert in Alert.objects.filter(status=AlertStatus.RESOLVED, action__isnull=False):
        ActionItem.objects.filter(pk=alert.action_id).update(
            status=ActionStatus.DONE, completed_at=alert.resolved_at
        )
    return raised


# How the demo's alliances do on their hand-entered KPIs: (mean, spread) per suggested KPI.
# The declining alliance keeps strong numbers while its relationship sours: the divergence
# ("green numbers, red relationship") that comes before surprise exits.
KPI_LEVELS = {
    "Joint opportunities created": (12, 3),
    "Time to market": (70, 12),
    "Milestones hit": (84, 8),
    "Joint innovations shipped": (1.5, 1),
    "Knowledge-transfer artefacts": (3, 1.5),
}
KPI_STORIES = {
    "Connected Field Service with Contoso": {"Joint opportunities created": (16, 2)},
    "Retail Demand Sensing with Contoso": {
        "Joint opportunities created": (7, 2),
        "Milestones hit": (70, 10),
    },
}
KPI_MONTHS = 12


def seed_scorecards(*, now: datetime) -> int:
    """The suggested balanced scorecard for every running alliance past formation, with a
    year of hand-entered values drawn around ``KPI_LEVELS``; the computed KPIs come from the
    data Concord holds. Returns how many alliances got a scorecard (none on a rerun)."""
    from scorecards.kpis import kpi_defaults_seed, kpi_values_compute, month_add, month_start
    from scorecards.models import Kpi, KpiSource, KpiUnit, KpiValue

    alliances = (
        Alliance.objects.filter(archived_at__isnull=True, stage__gt=1)
        .exclude(outcome=Outcome.EXITED)
        .exclude(Exists(Kpi.objects.filter(alliance=OuterRef("pk"))))
        .order_by("pk")
    )
    this_month = month_start(timezone.localdate(now))
    values = []
    seeded = 0
    for alliance in alliances:
        seeded += 1
        rng = random.Random(f"concord-demo|kpis|{alliance.name}")  # noqa: S311 - demo dice
        levels = {**KPI_LEVELS, **KPI_STORIES.get(alliance.name, {})}
        for kpi in kpi_defaults_seed(alliance=alliance):
            if kpi.source != KpiSource.MANUAL or kpi.name not in levels:
                continue
            mean, spread = levels[kpi.name]
            for back in range(KPI_MONTHS, 0, -1):
                value = max(0.0, rng.gauss(mean, spread))
                if kpi.unit in (KpiUnit.COUNT, KpiUnit.DAYS):
                    value = float(round(value))
                if kpi.unit == KpiUnit.PERCENT:
                    value = min(100.0, round(value, 1))
                values.append(KpiValue(kpi=kpi, month=month_add(this_month, -back), value=value))
    KpiValue.objects.bulk_create(values, ignore_conflicts=True)
    kpi_values_compute(now=now)
    return seeded
