"""The threshold check: stored scores → lights → the few alerts that interrupt people.

Lights are for reading and change freely. Alerts are rare: one is raised when a light turns
red (and stays open, however the score hovers, until two green rounds in a row resolve
it), when the change detector (``detector.declines``) sees a corner fall significantly
below the alliance's own baseline, when a corner is red two rounds running (that one also
opens or moves up a health escalation), and when two or more corners sit below the red
line for two quarters running (a renewal-or-exit review). A grey light (too few answers)
never raises or resolves anything. A plain change to yellow raises nothing.

Each alert is unique per alliance, metric, period and kind (a database constraint), so the
check run twice raises it once; the alert, its review action and any escalation step are
written together. The alliance managers of both sides get one email per person per run,
claimed per (alert, person) before sending.
"""

import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.mail import mailers
from django.db import IntegrityError, transaction
from django.utils import timezone

from alliances import webhooks
from alliances.mail import templated_message
from alliances.models import Alliance, Contact, ContactFunction, Outcome, Side, Visibility
from alliances.services import review_owner
from governance import services as governance
from governance.models import (
    ActionItem,
    ActionSource,
    DecisionRight,
    Escalation,
    EscalationMove,
    Rung,
)

from . import freshness, snapshot
from .detector import Observation, declines, red_confirmed
from .kpis import value_kpi_lights
from .lights import Color
from .models import Alert, AlertKind, AlertNotice, AlertStatus, Light, Metric, View
from .models.health import CORNER_METRICS, SCORE_METRICS
from .rules import LightDraft, RoundFacts, ThresholdBook, alliance_histories, round_lights

log = logging.getLogger(__name__)

REVIEW_DAYS = 14
SUSTAINED_GREEN_ROUNDS = 2
# The decision-rights row that names the forum and SLA of health escalations.
HEALTH_DECISION_TYPE = "Alliance health warnings"
ALERT_METRICS = [*SCORE_METRICS, Metric.RESPONSE_RATE]


@dataclass
class CheckResult:
    lights: int = 0
    raised: list[Alert] = field(default_factory=list)
    resolved: int = 0
    emails: int = 0


# Lights of this many recent rounds are enough for every alert rule (a sustained return to
# green, two reds running, the previous colour).
RECENT_ROUNDS = 6


class AllianceLights:
    """One alliance's lights, round by round, each round computed once however many
    rules ask (storing, the alert rules, the red streak)."""

    def __init__(self, alliance, history: list[RoundFacts], book: ThresholdBook):
        self.alliance, self.history, self.book = alliance, history, book
        self._rounds: dict[int, list[LightDraft]] = {}

    def at(self, index: int) -> list[LightDraft]:
        if index not in self._rounds:
            self._rounds[index] = round_lights(self.alliance, self.history, index, self.book)
        return self._rounds[index]

    def overall(self, index: int) -> dict[str, LightDraft]:
        return {d.metric: d for d in self.at(index) if d.view == View.ALL}

    def recent_colors(self) -> dict[str, list[Color]]:
        """The overall light of each metric in the recent rounds, oldest first."""
        colors = defaultdict(list)
        for index in range(max(0, len(self.history) - RECENT_ROUNDS), len(self.history)):
            for metric, draft in self.overall(index).items():
                colors[metric].append(draft.color)
        return colors

    def red_streak(self, metric: str) -> int:
        """How many rounds in a row, up to the latest, the metric's light has been red."""
        streak = 0
        for index in range(len(self.history) - 1, -1, -1):
            if self.overall(index)[metric].color != Color.RED:
                break
            streak += 1
        return streak


def _peers(history: list[RoundFacts], metric: str) -> list[list[Observation]] | None:
    """The alliance's other corners, round by round, for the detector's relative test."""
    if metric not in CORNER_METRICS:
        return None
    others = [m for m in CORNER_METRICS if m != metric]
    by_metric = {m: _observations(history, m) for m in others}
    return [[by_metric[m][i] for m in others] for i in range(len(history))]


def _observations(history: list[RoundFacts], metric: str) -> list[Observation]:
    observations = []
    for facts in history:
        cell = facts.cell(metric)
        observations.append(
            Observation(
                score=facts.score(metric),
                responses=cell.responses if cell else 0,
                spread=cell.spread if cell else None,
            )
        )
    return observations


def threshold_check(
    *, now: datetime, alliance_ids=None, round_ids=None, notify: bool = True
) -> CheckResult:
    """Light the latest closed round of each live alliance (and ``round_ids``, e.g. rounds
    just closed) and raise or resolve its alerts, as things stand at ``now`` (rounds closed
    later are not looked at, so the past can be replayed). Idempotent."""
    live = Alliance.objects.filter(archived_at__isnull=True).exclude(outcome=Outcome.EXITED)
    if alliance_ids is not None:
        live = live.filter(pk__in=alliance_ids)
    alliances = list(
        live.select_related("lead_organization", "partner_organization").order_by("pk")
    )
    histories = alliance_histories(alliances, until=now)
    book = ThresholdBook(alliances)
    result = CheckResult()
    lit = {a.pk: AllianceLights(a, histories[a.pk], book) for a in alliances}
    lights: dict[tuple[int, int], list[LightDraft]] = {}
    wanted = set(round_ids or ())
    for alliance in alliances:
        history = histories[alliance.pk]
        for index, facts in enumerate(history):
            if index == len(history) - 1 or facts.round_id in wanted:
                lights[(alliance.pk, facts.round_id)] = list(lit[alliance.pk].at(index))
    value_lights = value_kpi_lights(
        alliance_ids=[a.pk for a in alliances], today=timezone.localdate(now)
    )
    for alliance in alliances:
        history = histories[alliance.pk]
        if history:
            key = (alliance.pk, history[-1].round_id)
            signal = divergence(alliance, lights[key], value_lights.get(alliance.pk, []))
            if signal is not None:
                lights[key].append(signal)
    with transaction.atomic():
        Light.objects.filter(round_id__in=[r for _, r in lights]).delete()
        Light.objects.bulk_create(
            [
                Light(
                    alliance_id=alliance_id,
                    round_id=round_id,
                    metric=d.metric,
                    view=d.view,
                    color=d.color,
                    score=d.score,
                    reasons=d.reasons,
                    rules=d.rules,
                    computed_at=now,
                )
                for (alliance_id, round_id), drafts in lights.items()
                for d in drafts
            ],
            batch_size=2000,
        )
        snapshot.store(alliances, histories, lights, now=now)
    result.lights = sum(len(d) for d in lights.values())
    open_alerts = defaultdict(list)
    for alert in Alert.objects.filter(
        alliance__in=alliances, status__in=[AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED]
    ).select_related("escalation"):
        open_alerts[(alert.alliance_id, alert.metric, alert.kind)].append(alert)
    for alliance in alliances:
        history = histories[alliance.pk]
        if history:
            _check_alliance(lit[alliance.pk], open_alerts, now=now, result=result)
    freshness.changed(alliances=[a.pk for a in alliances])  # lights, snapshot and alerts
    if result.raised and notify:
        result.emails = _notify(result.raised, now=now)
    return result


def divergence(alliance, drafts: list[LightDraft], value_lights) -> LightDraft | None:
    """ "Green numbers, red relationship" (every value KPI green while two or more corners
    are yellow or red), or the reverse (a value KPI yellow or red while at most one corner
    is): the pattern that comes before surprise exits. A flag on the portfolio, not an
    alert. None when there is no divergence, or not enough data to tell."""
    kpis = [(kpi, color) for kpi, color in value_lights if color != Color.GREY]
    corners = [d for d in drafts if d.metric in CORNER_METRICS and d.view == View.ALL]
    judged = [d for d in corners if d.color != Color.GREY]
    if not kpis or len(judged) < 3:
        return None
    troubled = [d for d in judged if d.color in (Color.YELLOW, Color.RED)]
    names = ", ".join(Metric(d.metric).label.lower() for d in troubled)
    if all(color == Color.GREEN for _, color in kpis) and len(troubled) >= 2:
        reason = (
            f"The value KPIs are green ({', '.join(k.name for k, _ in kpis)}) while "
            f"{len(troubled)} corners are yellow or red ({names}): the numbers look fine, "
            "the relationship does not."
        )
    elif len(troubled) <= 1 and all(color != Color.GREEN for _, color in kpis):
        lagging = ", ".join(k.name for k, _ in kpis)
        reason = (
            f"The relationship looks healthy, but none of the value KPIs is green ({lagging}): "
            "the alliance may not be delivering what both sides feel it is."
        )
    else:
        return None
    return LightDraft(Metric.ALLIANCE, View.ALL, Color.YELLOW, None, [reason], ["divergence"])


def _check_alliance(lit: AllianceLights, open_alerts, *, now, result: CheckResult):
    alliance, history, book = lit.alliance, lit.history, lit.book
    facts = history[-1]
    drafts = lit.overall(len(history) - 1)
    recent = lit.recent_colors()
    for metric in ALERT_METRICS:
        light = drafts[metric]
        if light.color == Color.GREY:
            continue  # not enough data: raises nothing, resolves nothing
        colors = recent[metric]
        seen = [c for c in colors if c != Color.GREY]
        previous = seen[-2] if len(seen) > 1 else ""
        mine = {kind: open_alerts.get((alliance.pk, metric, kind), []) for kind in AlertKind}
        if seen[-SUSTAINED_GREEN_ROUNDS:] == [Color.GREEN] * SUSTAINED_GREEN_ROUNDS:
            for kind in (AlertKind.RED, AlertKind.DECLINE, AlertKind.ESCALATED):
                for alert in mine[kind]:
                    result.resolved += _resolve(alert, now=now)
        raise_ = []
        latest = _observations(history[-1:], metric)[0] if metric in SCORE_METRICS else None
        red_is_sure = (
            red_confirmed(latest, red_below=book.for_alliance(alliance, facts.stage).red_below)
            if latest is not None
            else True  # the response rate: no noise to allow for
        )
        if light.color == Color.RED and red_is_sure and not mine[AlertKind.RED]:
            raise_.append((AlertKind.RED, f"{Metric(metric).label} turned red."))
        if (
            metric in SCORE_METRICS
            and not mine[AlertKind.DECLINE]
            and declines(_observations(history, metric), _peers(history, metric))[-1]
        ):
            raise_.append(
                (
                    AlertKind.DECLINE,
                    f"{Metric(metric).label} has fallen clearly, below this alliance's usual "
                    "level or away from its other corners, by more than the round-to-round "
                    "noise explains.",
                )
            )
        warned = mine[AlertKind.RED] or mine[AlertKind.DECLINE] or raise_
        if metric in CORNER_METRICS and warned and _escalation_due(lit, metric, mine):
            raise_.append(
                (
                    AlertKind.ESCALATED,
                    f"{Metric(metric).label} has been red two rounds in a row, so it goes up "
                    "the escalation ladder.",
                )
            )
        for kind, headline in raise_:
            reason = " ".join([headline, *light.reasons])
            _raise(alliance, facts, metric, kind, light, previous, reason, now, result)
    _check_renewal(alliance, history, book, now=now, result=result)


def _escalation_due(lit: AllianceLights, metric, mine) -> bool:
    """Every second red round in a row takes the corner one rung up (rounds 2, 4, 6 …),
    until the top of the ladder."""
    streak = lit.red_streak(metric)
    if streak < 2 or streak % 2:
        return False
    top = [a for a in mine[AlertKind.ESCALATED] if a.escalation_id]
    return not any(
        a.escalation
        and a.escalation.rung >= Rung.EXECUTIVE_SPONSORS
        and not a.escalation.resolved_at
        for a in top
    )


def _quarter(day: date) -> date:
    return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def _check_renewal(alliance, history, book, *, now, result):
    """Two or more corners below the red line, on average, in each of the last two
    quarters (the latest round's and the one before)."""
    by_quarter: dict[date, list[RoundFacts]] = defaultdict(list)
    for facts in history:
        by_quarter[_quarter(facts.period_start)].append(facts)
    quarters = sorted(by_quarter)[-2:]
    if len(quarters) < 2 or quarters[-1] != _quarter(history[-1].period_start):
        return
    first_month = quarters[0].month + 3
    if (quarters[0].year * 12 + first_month) != (quarters[1].year * 12 + quarters[1].month):
        return  # not consecutive
    low = []
    for quarter in quarters:
        thresholds = book.for_alliance(alliance, by_quarter[quarter][-1].stage)
        below = []
        for metric in CORNER_METRICS:
            scores = [s for s in (f.score(metric) for f in by_quarter[quarter]) if s is not None]
            if scores and sum(scores) / len(scores) < thresholds.red_below:
                below.append(Metric(metric).label.lower())
        low.append(below)
    if all(len(below) >= 2 for below in low):
        reason = (
            f"Two quarters running, {len(low[-1])} corners have averaged below the red line "
            f"({', '.join(low[-1])}). Review whether to renew, restructure or exit."
        )
        light = LightDraft(Metric.ALLIANCE, View.ALL, Color.RED, None, [reason], ["renewal"])
        facts = history[-1]
        _raise(
            alliance,
            facts,
            Metric.ALLIANCE,
            AlertKind.RENEWAL,
            light,
            "",
            reason,
            now,
            result,
            period_start=quarters[-1],
        )


def _raise(
    alliance, facts, metric, kind, light, previous, reason, now, result, *, period_start=None
):
    """Create the alert with its review action (and escalation step) once, or nothing."""
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                alliance=alliance,
                metric=metric,
                period_start=period_start or facts.period_start,
                round_id=facts.round_id,
                kind=kind,
                from_color=previous or "",
                to_color=light.color,
                score=light.score,
                reason=reason[:2000],
                raised_at=now,
            )
            alert.action = _review_action(alliance, alert, now=now)
            if kind == AlertKind.ESCALATED:
                alert.escalation = _escalate(alliance, alert, now=now)
            alert.save(update_fields=["action", "escalation"])
            webhooks.alert_raised(alert)
    except IntegrityError:
        return  # raised by an earlier run (or a parallel one)
    result.raised.append(alert)


def _review_action(alliance, alert: Alert, *, now) -> ActionItem | None:
    owner = review_owner(alliance, Side.LEAD) or review_owner(alliance, Side.PARTNER)
    if owner is None:
        return None
    title = {
        AlertKind.RED: f"Review the red light on {alert.get_metric_display().lower()}",
        AlertKind.DECLINE: f"Review the decline in {alert.get_metric_display().lower()}",
        AlertKind.ESCALATED: f"Prepare the escalation on {alert.get_metric_display().lower()}",
        AlertKind.RENEWAL: "Prepare a renewal-or-exit review",
    }[alert.kind]
    return governance.action_save(
        action=ActionItem(
            alliance=alliance,
            author_organization=alliance.organization_of(owner.side),
            visibility=Visibility.SHARED,
            title=title,
            details=alert.reason,
            owner=owner,
            due_on=timezone.localdate(now) + timedelta(days=REVIEW_DAYS),
            source=ActionSource.ALERT,
            created_at=now,
        ),
        user=None,
        today=timezone.localdate(now),
    )


def _health_right(alliance) -> DecisionRight | None:
    return DecisionRight.objects.filter(
        alliance=alliance, decision_type__iexact=HEALTH_DECISION_TYPE
    ).first()


def _escalate(alliance, alert: Alert, *, now) -> Escalation:
    """Move the open health escalation of this corner up one rung, or open one where the
    decision-rights matrix says, with that row's SLA."""
    current = (
        Escalation.objects.filter(
            alliance=alliance, resolved_at__isnull=True, alerts__metric=alert.metric
        )
        .order_by("-raised_at")
        .first()
    )
    if current is not None:
        if current.rung < Rung.EXECUTIVE_SPONSORS:
            to_rung = current.rung + 1
            EscalationMove.objects.create(
                escalation=current,
                from_rung=current.rung,
                to_rung=to_rung,
                at=now,
                reason=alert.reason[: EscalationMove._meta.get_field("reason").max_length],
            )
            current.rung, current.due_at = to_rung, now + timedelta(days=current.sla_days)
            Escalation.objects.filter(pk=current.pk).update(
                rung=current.rung, due_at=current.due_at
            )
        return current
    right = _health_right(alliance)
    return governance.escalation_raise(
        escalation=Escalation(
            alliance=alliance,
            title=f"{alert.get_metric_display()} red two rounds running"[:200],
            description=alert.reason,
            decision_right=right,
            rung=right.escalation_rung if right else Rung.ALLIANCE_MANAGERS,
        ),
        user=None,
        organization=alliance.lead_organization,
        now=now,
    )


@transaction.atomic
def _resolve(alert: Alert, *, now) -> int:
    resolved = (
        Alert.objects.filter(pk=alert.pk)
        .exclude(status=AlertStatus.RESOLVED)
        .update(
            status=AlertStatus.RESOLVED,
            resolved_at=now,
            resolution=f"Back to green for {SUSTAINED_GREEN_ROUNDS} rounds in a row.",
        )
    )
    if resolved:
        alert.status, alert.resolved_at = AlertStatus.RESOLVED, now
        webhooks.alert_resolved(alert)
    return resolved


# --- telling people -------------------------------------------------------------------------


def _recipients(alliance_ids) -> dict[int, list[Contact]]:
    people = defaultdict(list)
    for contact in Contact.objects.filter(
        alliance_id__in=alliance_ids,
        is_active=True,
        function=ContactFunction.ALLIANCE_MANAGER,
        email_failed_at__isnull=True,
    ).order_by("side", "name"):
        people[contact.alliance_id].append(contact)
    return people


def _notify(alerts: list[Alert], *, now) -> int:
    """One email per person listing the alerts of this run on their alliances; each
    (alert, person) is claimed first, so a rerun sends nothing twice."""
    recipients = _recipients({a.alliance_id for a in alerts})
    run = secrets.token_hex(16)
    wanted = defaultdict(list)
    for alert in alerts:
        for contact in recipients.get(alert.alliance_id, []):
            wanted[contact.email.lower()].append((alert, contact))
    AlertNotice.objects.bulk_create(
        [
            AlertNotice(alert=alert, email=email, claimed_by=run)
            for email, pairs in wanted.items()
            for alert, _ in pairs
        ],
        ignore_conflicts=True,
    )
    claimed = set(AlertNotice.objects.filter(claimed_by=run).values_list("alert_id", "email"))
    sent = 0
    with mailers.default as connection:
        for email, pairs in sorted(wanted.items()):
            mine = [(alert, contact) for alert, contact in pairs if (alert.pk, email) in claimed]
            if not mine:
                continue
            message = templated_message(
                to=[email],
                template="health_alerts",
                context={"person": mine[0][1], "alerts": [alert for alert, _ in mine]},
            )
            try:
                connection.send_messages([message])
            except Exception:
                log.exception("health alert email to %s failed; it will be retried", email)
                AlertNotice.objects.filter(claimed_by=run, email=email).delete()
                continue
            AlertNotice.objects.filter(claimed_by=run, email=email).update(sent_at=now)
            sent += 1
    return sent


def alerts_renotify(*, now) -> int:
    """Email whoever has not yet been told of a recent open alert (a send that failed):
    the claims of those already told make ``_notify`` skip them."""
    alerts = list(
        Alert.objects.filter(raised_at__gte=now - timedelta(days=7), status=AlertStatus.OPEN)
    )
    return _notify(alerts, now=now) if alerts else 0
