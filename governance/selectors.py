"""Reads for governance: cadence, attendance and conflict figures, all set-based."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Max, Q
from django.db.models.functions import TruncQuarter

from alliances.models import Alliance, Side
from alliances.tenancy import Scope

from .models import (
    OPEN_ACTION_STATUSES,
    ActionItem,
    Escalation,
    GovernanceBody,
    Meeting,
    Risk,
    RiskStatus,
)


@dataclass(frozen=True)
class BodyStatus:
    body: GovernanceBody
    last_held: date | None
    next_due: date
    missed: bool  # no meeting within the cadence plus the grace period


def body_statuses(*, scope: Scope, alliance: Alliance, today: date) -> list[BodyStatus]:
    bodies = (
        scope.rows(GovernanceBody.objects.filter(alliance=alliance))
        .select_related("chair")
        .annotate(last_held=Max("meetings__held_on"))
    )
    statuses = []
    for body in bodies:
        since = body.last_held or body.created_at.date()
        next_due = since + timedelta(days=body.cadence_days)
        missed = today > next_due + timedelta(days=body.grace_days)
        statuses.append(BodyStatus(body, body.last_held, next_due, missed))
    return statuses


@dataclass(frozen=True)
class Attendance:
    attended: int
    expected: int

    @property
    def rate(self) -> float | None:
        return self.attended / self.expected if self.expected else None


def attendance(*, scope: Scope, alliance: Alliance) -> dict[int, dict[str, Attendance]]:
    """Per body and per side ("all", "lead", "partner"): attendances / (meetings × members).

    Members are the body's current members, so someone who joined recently counts as
    expected at earlier meetings too; for a steady body that is the honest denominator.
    """
    bodies = scope.rows(GovernanceBody.objects.filter(alliance=alliance))
    meetings = dict(
        Meeting.objects.filter(body__in=bodies)
        .values_list("body")
        .annotate(n=Count("pk"))
        .order_by()
    )
    members = (
        GovernanceBody.members.through.objects.filter(governancebody__in=bodies)
        .values_list("governancebody", "contact__side")
        .annotate(n=Count("pk"))
        .order_by()
    )
    attended = (
        Meeting.attendees.through.objects.filter(meeting__body__in=bodies)
        .values_list("meeting__body", "contact__side")
        .annotate(n=Count("pk"))
        .order_by()
    )
    came = {(body, side): n for body, side, n in attended}
    result: dict[int, dict[str, Attendance]] = {}
    for body in bodies.values_list("pk", flat=True):
        per_side = {}
        for side in Side.values:
            size = next((n for b, s, n in members if b == body and s == side), 0)
            per_side[side] = Attendance(came.get((body, side), 0), size * meetings.get(body, 0))
        per_side["all"] = Attendance(
            sum(a.attended for a in per_side.values()), sum(a.expected for a in per_side.values())
        )
        result[body] = per_side
    return result


@dataclass(frozen=True)
class ConflictQuarter:
    quarter: date
    raised: int
    resolved: int
    mean_resolution: timedelta | None


def conflict_stats(*, scope: Scope, alliance: Alliance) -> list[ConflictQuarter]:
    """Escalations raised per quarter, and the mean time to resolve those of them resolved."""
    rows = (
        scope.rows(Escalation.objects.filter(alliance=alliance))
        .annotate(quarter=TruncQuarter("raised_at"))
        .values("quarter")
        .annotate(
            raised=Count("pk"),
            resolved=Count("pk", filter=Q(resolved_at__isnull=False)),
            mean_resolution=Avg(
                ExpressionWrapper(F("resolved_at") - F("raised_at"), output_field=DurationField()),
                filter=Q(resolved_at__isnull=False),
            ),
        )
        .order_by("quarter")
    )
    return [
        ConflictQuarter(
            row["quarter"].date() if hasattr(row["quarter"], "date") else row["quarter"],
            row["raised"],
            row["resolved"],
            row["mean_resolution"],
        )
        for row in rows
    ]


def my_open_actions(*, scope: Scope):
    """Open actions, across every alliance the organisation sees, owned by the signed-in user.

    Owners are contacts, which need no account: the user is the owner where the emails match.
    """
    return (
        scope.rows(ActionItem)
        .filter(status__in=OPEN_ACTION_STATUSES, owner__email__iexact=scope.user.email)
        .select_related("alliance", "owner")
        .order_by("due_on", "pk")
    )


def risk_heat_map(*, scope: Scope, alliance: Alliance) -> list[tuple[int, list[tuple[int, int]]]]:
    """Counts of risks not closed, as rows of likelihood 5→1 with (impact, count) for 1→5."""
    rows = (
        scope.rows(Risk.objects.filter(alliance=alliance))
        .exclude(status=RiskStatus.CLOSED)
        .values_list("likelihood", "impact")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = {(likelihood, impact): n for likelihood, impact, n in rows}
    return [
        (likelihood, [(impact, counts.get((likelihood, impact), 0)) for impact in range(1, 6)])
        for likelihood in range(5, 0, -1)
    ]
