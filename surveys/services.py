"""Pulse survey writes: the bank, settings, opening and closing rounds, and answering.

Opening is set-based and safe to run twice: rounds are inserted with ON CONFLICT DO NOTHING
against the "one round per alliance and period" and "one open round per alliance"
constraints, and only the rounds this run inserted get questions and invitations, in the
same transaction. Emails are sent by ``surveys.sending``.
"""

import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, Max, OuterRef, Q
from django.utils import timezone

from alliances import webhooks
from alliances.models import Alliance, Contact, Organization, Outcome, User

from .defaults import DEFAULT_QUESTIONS, TRUST_ANCHOR
from .models import (
    CADENCE_MONTHS,
    COMMENT_MAX_LENGTH,
    Answer,
    Cadence,
    Corner,
    Question,
    QuestionKind,
    Response,
    RoundKind,
    RoundQuestion,
    SurveyDefaults,
    SurveyInvitation,
    SurveyRound,
    SurveySettings,
)

log = logging.getLogger(__name__)

ITEMS_PER_CORNER = 2
ROUND_SIZE = 1 + ITEMS_PER_CORNER * len(Corner.values)  # the trust anchor and the items
OPEN_TIME = time(9, 0)  # local (TIME_ZONE) time at which scheduled rounds open
# A stage-relevant item counts as if it had waited this many rounds longer than it has.
STAGE_PREFERENCE_ROUNDS = 2
# Items not asked within this long count as never asked.
ROTATION_MEMORY = timedelta(days=730)
# Beat ticks every minute; an opening later than this was delayed, not just ticked.
LATE_OPENING = timedelta(hours=1)

# Who is invited: active contacts who take part and can be emailed.
PARTICIPANT = Q(
    is_active=True,
    takes_pulse=True,
    pulse_unsubscribed_at__isnull=True,
    email_failed_at__isnull=True,
)


# --- the schedule ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    cadence: str = Cadence.MONTHLY
    open_day: int = 1
    window_days: int = 10
    reminder_days: tuple[int, ...] = (3, 7)

    @property
    def cadence_label(self) -> str:
        return Cadence(self.cadence).label


DEFAULT_SCHEDULE = Schedule()


def _loaded_or_none(instance, attribute: str):
    """A reverse one-to-one that may not exist (without a query when select_related)."""
    try:
        return getattr(instance, attribute)
    except (SurveyDefaults.DoesNotExist, SurveySettings.DoesNotExist):
        return None


def organization_schedule(organization: Organization) -> Schedule:
    defaults = _loaded_or_none(organization, "survey_defaults")
    if defaults is None:
        return DEFAULT_SCHEDULE
    return Schedule(
        cadence=defaults.cadence,
        open_day=defaults.open_day,
        window_days=defaults.window_days,
        reminder_days=tuple(defaults.reminder_days),
    )


def alliance_schedule(alliance: Alliance) -> Schedule:
    """The alliance's own settings, falling back field by field to its lead's defaults."""
    base = organization_schedule(alliance.lead_organization)
    own = _loaded_or_none(alliance, "survey_settings")
    if own is None:
        return base
    return Schedule(
        cadence=own.cadence or base.cadence,
        open_day=own.open_day or base.open_day,
        window_days=own.window_days or base.window_days,
        reminder_days=base.reminder_days if own.reminder_days is None else tuple(own.reminder_days),
    )


def alliance_settings(alliance: Alliance) -> SurveySettings | None:
    """The alliance's own survey settings, if it has any."""
    return _loaded_or_none(alliance, "survey_settings")


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_of(day: date, cadence: str) -> tuple[date, date]:
    """The cadence's period containing ``day``: monthly, Jan/Mar/…, or calendar quarters."""
    months = CADENCE_MONTHS[Cadence(cadence)]
    start = date(day.year, (day.month - 1) // months * months + 1, 1)
    return start, _add_months(start, months) - timedelta(days=1)


def period_window(period_start: date, schedule: Schedule) -> tuple[datetime, datetime]:
    """When a scheduled round of the period opens and closes."""
    opens_on = period_start + timedelta(days=schedule.open_day - 1)
    opens_at = timezone.make_aware(datetime.combine(opens_on, OPEN_TIME))
    return opens_at, opens_at + timedelta(days=schedule.window_days)


def next_scheduled_round(alliance: Alliance, *, now: datetime) -> tuple[date, datetime]:
    """The period and opening moment of the next scheduled round that has not opened yet."""
    schedule = alliance_schedule(alliance)
    start, _ = period_of(timezone.localdate(now), schedule.cadence)
    opens_at, _ = period_window(start, schedule)
    if opens_at <= now:
        start = _add_months(start, CADENCE_MONTHS[Cadence(schedule.cadence)])
        opens_at, _ = period_window(start, schedule)
    return start, opens_at


# --- the question bank -------------------------------------------------------------------------


def question_bank_ensure(*, organization_ids) -> None:
    """Give each organisation that has none a copy of the default bank (idempotent)."""
    organization_ids = set(organization_ids)
    have = set(
        Question.objects.filter(organization_id__in=organization_ids)
        .exclude(key="")
        .values_list("organization_id", flat=True)
        .distinct()
    )
    missing = organization_ids - have
    if not missing:
        return
    Question.objects.bulk_create(
        [
            Question(
                organization_id=organization_id,
                key=item.key,
                corner=item.corner,
                text=item.text,
                stages=list(item.stages),
            )
            for organization_id in sorted(missing)
            for item in DEFAULT_QUESTIONS
        ],
        ignore_conflicts=True,
    )


def question_save(*, question: Question, user: User | None) -> Question:
    """Add an item, or reword one that no round has asked yet (asked wording is history)."""
    question.text = " ".join(question.text.split())
    stages = sorted({int(stage) for stage in question.stages})
    if not stages or any(stage not in range(1, 6) for stage in stages):
        raise ValidationError({"stages": "Pick at least one stage."})
    question.stages = stages
    if question.pk and question.asked.exists():
        raise ValidationError(
            "Rounds have asked this statement, so its wording is part of their results. "
            "Retire it and add a new one instead."
        )
    duplicate = Question.objects.filter(
        organization=question.organization, text__iexact=question.text, retired_at__isnull=True
    ).exclude(pk=question.pk)
    if duplicate.exists():
        raise ValidationError({"text": "Your bank already has this statement."})
    if question.pk is None:
        question.created_by = user
    question.full_clean()
    question.save()
    return question


def question_retire(*, question: Question, now: datetime) -> None:
    if question.retired_at is None:
        active = Question.objects.filter(
            organization=question.organization, corner=question.corner, retired_at__isnull=True
        ).count()
        if active <= ITEMS_PER_CORNER:
            raise ValidationError(
                f"A round asks {ITEMS_PER_CORNER} statements about "
                f"{Corner(question.corner).label.lower()}; keep at least that many in use."
            )
        question.retired_at = now
        question.save(update_fields=["retired_at"])


def question_restore(*, question: Question) -> None:
    question.retired_at = None
    question.save(update_fields=["retired_at"])


# --- rotation ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    question: Question
    rounds_since_asked: int  # 1 = asked in the previous round; large = never
    relevant: bool

    @property
    def priority(self) -> tuple:
        wait = self.rounds_since_asked + (STAGE_PREFERENCE_ROUNDS if self.relevant else 0)
        return (-wait, not self.relevant, self.question.pk)


NEVER_ASKED = 1000


def choose_questions(
    bank: list[Question], *, stage: int, last_asked: dict[int, datetime], round_times: list
) -> list[Question]:
    """Two items per corner: those that waited longest, stage-relevant ones counting as if
    they had waited ``STAGE_PREFERENCE_ROUNDS`` rounds more, and never the previous round's
    pair again when the corner has a third item.

    ``last_asked`` maps question id → when this alliance last asked it, ``round_times`` are
    the opening moments of the alliance's recent rounds.
    """
    chosen = []
    for corner in Corner.values:
        candidates = []
        for question in bank:
            if question.corner != corner or question.retired_at is not None:
                continue
            asked = last_asked.get(question.pk)
            waited = NEVER_ASKED if asked is None else sum(t >= asked for t in round_times)
            candidates.append(Candidate(question, waited, stage in question.stages))
        candidates.sort(key=lambda c: c.priority)
        picked = candidates[:ITEMS_PER_CORNER]
        if all(c.rounds_since_asked == 1 for c in picked):
            # The previous round's very pair: the stage preference outweighed the wait.
            # Where the corner has another item, it takes the second place.
            rest = [c for c in candidates[ITEMS_PER_CORNER:] if c.rounds_since_asked > 1]
            if rest:
                picked[-1] = rest[0]
        chosen.extend(c.question for c in picked)
    return chosen


def _rotation_history(alliance_ids, *, now: datetime):
    since = now - ROTATION_MEMORY
    last_asked: dict[int, dict[int, datetime]] = defaultdict(dict)
    rows = (
        RoundQuestion.objects.filter(
            round__alliance_id__in=alliance_ids,
            round__opens_at__gte=since,
            question__isnull=False,
        )
        .values_list("round__alliance_id", "question_id")
        .annotate(last=Max("round__opens_at"))
    )
    for alliance_id, question_id, last in rows:
        last_asked[alliance_id][question_id] = last
    round_times: dict[int, list[datetime]] = defaultdict(list)
    for alliance_id, opens_at in SurveyRound.objects.filter(
        alliance_id__in=alliance_ids, opens_at__gte=since
    ).values_list("alliance_id", "opens_at"):
        round_times[alliance_id].append(opens_at)
    return last_asked, round_times


# --- opening -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundPlan:
    alliance: Alliance
    kind: str
    period_start: date
    period_end: date
    opens_at: datetime
    closes_at: datetime
    reminder_days: tuple[int, ...]
    reason: str = ""
    opened_by: User | None = None
    stage: int | None = None  # the alliance's stage when it opens (default: its stage now)


def _surveyable_alliances():
    """Alliances that can run a round now: live, not paused, no round open, someone to ask."""
    open_round = SurveyRound.objects.filter(alliance=OuterRef("pk"), closed_at__isnull=True)
    participants = Contact.objects.filter(PARTICIPANT, alliance=OuterRef("pk"))
    return (
        Alliance.objects.filter(archived_at__isnull=True)
        .exclude(outcome=Outcome.EXITED)
        .exclude(survey_settings__paused=True)
        .exclude(Exists(open_round))
        .filter(Exists(participants))
        .select_related("survey_settings", "lead_organization__survey_defaults")
    )


def rounds_due(*, now: datetime) -> list[RoundPlan]:
    """The scheduled rounds whose window contains ``now`` and that do not exist yet.

    An off-cycle round opened during the period, or less than a window's length before it
    began, stands in for the period's scheduled round: people are not surveyed twice in a
    few days.
    """
    today = timezone.localdate(now)
    plans = []
    quiet_since = {}
    for alliance in _surveyable_alliances():
        schedule = alliance_schedule(alliance)
        start, end = period_of(today, schedule.cadence)
        opens_at, closes_at = period_window(start, schedule)
        if opens_at <= now < closes_at:
            plans.append(
                RoundPlan(
                    alliance=alliance,
                    kind=RoundKind.SCHEDULED,
                    period_start=start,
                    period_end=end,
                    # A round opened late (jobs were down) opens now, so its reminders
                    # still come days after the invitation; its close stays as planned.
                    opens_at=now if now - opens_at > LATE_OPENING else opens_at,
                    closes_at=closes_at,
                    reminder_days=schedule.reminder_days,
                )
            )
            period_began = timezone.make_aware(datetime.combine(start, time.min))
            quiet_since[alliance.pk] = period_began - timedelta(days=schedule.window_days)
    if not plans:
        return []
    alliance_ids = [plan.alliance.pk for plan in plans]
    existing = set(
        SurveyRound.objects.filter(
            kind=RoundKind.SCHEDULED,
            alliance_id__in=alliance_ids,
            period_start__in={plan.period_start for plan in plans},
        ).values_list("alliance_id", "period_start")
    )
    off_cycle = SurveyRound.objects.filter(
        kind=RoundKind.OFF_CYCLE,
        alliance_id__in=alliance_ids,
        opens_at__gte=min(quiet_since.values()),
    ).values_list("alliance_id", "opens_at")
    stood_in = {pk for pk, opened in off_cycle if opened >= quiet_since[pk]}
    return [
        plan
        for plan in plans
        if (plan.alliance.pk, plan.period_start) not in existing
        and plan.alliance.pk not in stood_in
    ]


def rounds_open(plans: list[RoundPlan], *, now: datetime, send: bool = True) -> list[SurveyRound]:
    """Insert the planned rounds with their frozen questions and invitations; return the
    rounds this call created (others were opened meanwhile by someone else). With ``send``
    a worker is asked to email the invitations as soon as the transaction commits."""
    if not plans:
        return []
    run = secrets.token_hex(16)
    alliance_ids = [plan.alliance.pk for plan in plans]
    with transaction.atomic():
        question_bank_ensure(organization_ids={p.alliance.lead_organization_id for p in plans})
        SurveyRound.objects.bulk_create(
            [
                SurveyRound(
                    alliance=plan.alliance,
                    kind=plan.kind,
                    period_start=plan.period_start,
                    period_end=plan.period_end,
                    stage=plan.stage or plan.alliance.stage,
                    opens_at=plan.opens_at,
                    closes_at=plan.closes_at,
                    reminder_days=sorted(plan.reminder_days),
                    reason=plan.reason,
                    opened_by=plan.opened_by,
                    opened_by_run=run,
                    created_at=now,
                )
                for plan in plans
            ],
            ignore_conflicts=True,
        )
        rounds = list(SurveyRound.objects.filter(opened_by_run=run).select_related("alliance"))
        if not rounds:
            return []
        banks: dict[int, list[Question]] = defaultdict(list)
        for question in Question.objects.filter(
            organization_id__in={r.alliance.lead_organization_id for r in rounds},
            retired_at__isnull=True,
        ).order_by("pk"):
            banks[question.organization_id].append(question)
        last_asked, round_times = _rotation_history(alliance_ids, now=now)
        questions = []
        for survey_round in rounds:
            alliance = survey_round.alliance
            questions.append(
                RoundQuestion(
                    round=survey_round, position=0, kind=QuestionKind.TRUST, text=TRUST_ANCHOR
                )
            )
            chosen = choose_questions(
                banks[alliance.lead_organization_id],
                stage=survey_round.stage,
                last_asked=last_asked[alliance.pk],
                round_times=[t for t in round_times[alliance.pk] if t < survey_round.opens_at],
            )
            questions.extend(
                RoundQuestion(
                    round=survey_round,
                    position=position,
                    kind=QuestionKind.LIKERT,
                    corner=question.corner,
                    question=question,
                    text=question.text,
                )
                for position, question in enumerate(chosen, start=1)
            )
        RoundQuestion.objects.bulk_create(questions)
        by_alliance = {survey_round.alliance_id: survey_round for survey_round in rounds}
        SurveyInvitation.objects.bulk_create(
            [
                SurveyInvitation(
                    round=by_alliance[contact.alliance_id],
                    contact=contact,
                    side=contact.side,
                    function=contact.function,
                    next_email_at=by_alliance[contact.alliance_id].opens_at,
                    created_at=now,
                )
                for contact in Contact.objects.filter(PARTICIPANT, alliance_id__in=by_alliance)
            ],
            ignore_conflicts=True,
        )
        if send:
            transaction.on_commit(lambda: _enqueue_sending([r.pk for r in rounds]))
    log.info("opened %d survey round(s)", len(rounds))
    return rounds


def _enqueue_sending(round_ids: list[int]) -> None:
    """Ask a worker to send now; if the broker is down, the periodic sweep sends later."""
    from .tasks import send_survey_emails

    try:
        send_survey_emails.delay(round_ids)
    except Exception:
        log.warning("could not enqueue survey emails; the periodic sweep will send them")


def rounds_open_due(*, now: datetime) -> list[SurveyRound]:
    return rounds_open(rounds_due(now=now), now=now)


def round_open_off_cycle(
    *, alliance: Alliance, user: User, reason: str, now: datetime
) -> SurveyRound:
    """A manager's extra round after a major event: opens now, for the usual window."""
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationError(
            {"reason": "Say what happened, so respondents know why they are asked."}
        )
    if alliance.is_archived or alliance.is_closed:
        raise ValidationError("This alliance is no longer running, so it cannot run a round.")
    if SurveyRound.objects.filter(alliance=alliance, closed_at__isnull=True).exists():
        raise ValidationError("A round is already open. Wait for it to close.")
    if not Contact.objects.filter(PARTICIPANT, alliance=alliance).exists():
        raise ValidationError("No contact takes part in pulse surveys yet. Add contacts first.")
    schedule = alliance_schedule(alliance)
    today = timezone.localdate(now)
    plan = RoundPlan(
        alliance=alliance,
        kind=RoundKind.OFF_CYCLE,
        period_start=today,
        period_end=today,
        opens_at=now,
        closes_at=now + timedelta(days=schedule.window_days),
        reminder_days=schedule.reminder_days,
        reason=reason,
        opened_by=user,
    )
    rounds = rounds_open([plan], now=now)
    if not rounds:
        raise ValidationError("A round was opened for this alliance a moment ago.")
    return rounds[0]


# --- closing -----------------------------------------------------------------------------------


def rounds_close_due(*, now: datetime) -> list[int]:
    """Close the rounds whose window has ended, as of the moment it ended (so a late or
    repeated run records the same thing). Returns the ids this run closed."""
    due = list(
        SurveyRound.objects.filter(closed_at__isnull=True, closes_at__lte=now).values_list(
            "pk", flat=True
        )
    )
    if due:
        with transaction.atomic():
            SurveyRound.objects.filter(pk__in=due, closed_at__isnull=True).update(
                closed_at=F("closes_at")
            )
            webhooks.rounds_closed(round_ids=due)
    return due


# --- answering -------------------------------------------------------------------------------


def invitation_is_usable(invitation: SurveyInvitation | None, *, now: datetime) -> bool:
    return (
        invitation is not None and invitation.responded_on is None and invitation.round.is_open(now)
    )


class AlreadyAnswered(Exception):
    """The invitation was used (or its round closed) before this submission got to it."""


def response_submit(
    *,
    invitation: SurveyInvitation,
    answers: dict[int, int | None],
    comment: str,
    now: datetime,
) -> Response:
    """Store one anonymous response and use the invitation up, both or neither.

    ``answers`` maps each of the round's question ids to a value (None: not applicable).
    The conditional UPDATE is the "only once": of any number of simultaneous submissions,
    one finds ``responded_on`` empty; the others match no row and store nothing.
    """
    survey_round = invitation.round
    questions = {q.pk: q for q in survey_round.questions.all()}
    errors = {}
    for question_id, question in questions.items():
        if question_id not in answers:
            errors[f"q{question_id}"] = "Please answer this question."
            continue
        value = answers[question_id]
        low, high = (0, 10) if question.is_trust else (1, 5)
        if value is None and question.is_trust:
            errors[f"q{question_id}"] = "Please pick a number from 0 to 10."
        elif value is not None and not low <= value <= high:
            errors[f"q{question_id}"] = f"Please pick a value from {low} to {high}."
    if set(answers) - set(questions):
        errors["__all__"] = "The form does not match this survey. Please reload the page."
    comment = comment.strip()
    if len(comment) > COMMENT_MAX_LENGTH:
        errors["comment"] = (
            f"Please keep the comment to {COMMENT_MAX_LENGTH:,} characters "
            f"(it has {len(comment):,})."
        )
    if errors:
        raise ValidationError(errors)
    today = timezone.localdate(now)
    with transaction.atomic():
        if not survey_round.is_open(now):
            raise AlreadyAnswered
        used = SurveyInvitation.objects.filter(pk=invitation.pk, responded_on__isnull=True).update(
            responded_on=today, next_email_at=None
        )
        if not used:
            raise AlreadyAnswered
        response = Response.objects.create(
            round=survey_round,
            side=invitation.side,
            function=invitation.function,
            submitted_on=today,
            comment=comment,
        )
        Answer.objects.bulk_create(
            [
                Answer(
                    response=response,
                    question=question,
                    round=survey_round,
                    kind=question.kind,
                    corner=question.corner,
                    side=invitation.side,
                    function=invitation.function,
                    value=answers[question_id],
                )
                for question_id, question in questions.items()
            ]
        )
    return response


# --- unsubscribing -------------------------------------------------------------------------------


def contact_unsubscribe(*, contact: Contact, now: datetime) -> None:
    Contact.objects.filter(pk=contact.pk, pulse_unsubscribed_at__isnull=True).update(
        pulse_unsubscribed_at=now
    )
    SurveyInvitation.objects.filter(contact=contact, responded_on__isnull=True).update(
        next_email_at=None
    )


def contact_resubscribe(*, contact: Contact) -> None:
    Contact.objects.filter(pk=contact.pk).update(pulse_unsubscribed_at=None)


# --- settings ------------------------------------------------------------------------------------


def parse_reminder_days(value: str, *, window_days: int) -> list[int]:
    """ "3, 7" → [3, 7]: whole days after opening, inside the window, at most three."""
    days = set()
    for part in value.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            raise ValidationError(f"“{part}” is not a whole number of days.")
        days.add(int(part))
    if len(days) > 3:
        raise ValidationError("At most three reminders, please: more feels like nagging.")
    for day in sorted(days):
        if not 1 <= day < window_days:
            raise ValidationError(
                f"Day {day} is outside the round: reminders go 1 to {window_days - 1} "
                f"days after opening while it is open for {window_days} days."
            )
    return sorted(days)


def _schedule_errors(
    *, cadence: str, open_day: int | None, window_days: int | None
) -> dict[str, str]:
    errors = {}
    if cadence and cadence not in Cadence.values:
        errors["cadence"] = "Pick monthly, every two months or quarterly."
    if open_day is not None and not 1 <= open_day <= 28:
        errors["open_day"] = "Pick a day from 1 to 28, so every month has it."
    if window_days is not None and not 2 <= window_days <= 28:
        errors["window_days"] = "A round stays open from 2 to 28 days."
    return errors


def _reminder_errors(reminder_days, *, window_days: int) -> dict[str, list[str]]:
    if not reminder_days:
        return {}
    try:
        parse_reminder_days(", ".join(str(day) for day in reminder_days), window_days=window_days)
    except ValidationError as error:
        return {"reminder_days": error.messages}
    return {}


def survey_settings_save(
    *,
    alliance: Alliance,
    user: User | None,
    cadence: str,
    open_day: int | None,
    window_days: int | None,
    reminder_days: list[int] | None,
    paused: bool,
) -> SurveySettings:
    """One alliance's schedule. Empty values (``""``/None) follow the lead's defaults; an
    open round keeps the reminder days it opened with."""
    errors = _schedule_errors(cadence=cadence, open_day=open_day, window_days=window_days)
    base = organization_schedule(alliance.lead_organization)
    window = window_days or base.window_days
    if "window_days" not in errors:
        errors.update(_reminder_errors(reminder_days, window_days=window))
        if reminder_days is None and any(day >= window for day in base.reminder_days):
            days = ", ".join(str(day) for day in base.reminder_days)
            errors["reminder_days"] = [
                f"The default reminders ({days}) do not fit a round open for {window} days. "
                "Set reminder days that do, or write “none”."
            ]
    if errors:
        raise ValidationError(errors)
    settings, _ = SurveySettings.objects.update_or_create(
        alliance=alliance,
        defaults={
            "cadence": cadence,
            "open_day": open_day,
            "window_days": window_days,
            "reminder_days": None if reminder_days is None else sorted(set(reminder_days)),
            "paused": paused,
            "updated_by": user,
        },
    )
    return settings


def survey_defaults_save(
    *,
    organization: Organization,
    cadence: str,
    open_day: int,
    window_days: int,
    reminder_days: list[int],
) -> SurveyDefaults:
    """The schedule of the alliances an organisation leads, where they set none of their own."""
    errors = _schedule_errors(cadence=cadence, open_day=open_day, window_days=window_days)
    if not cadence:
        errors["cadence"] = "Pick how often rounds run."
    if "window_days" not in errors:
        errors.update(_reminder_errors(reminder_days, window_days=window_days))
    if errors:
        raise ValidationError(errors)
    defaults, _ = SurveyDefaults.objects.update_or_create(
        organization=organization,
        defaults={
            "cadence": cadence,
            "open_day": open_day,
            "window_days": window_days,
            "reminder_days": sorted(set(reminder_days)),
        },
    )
    return defaults
