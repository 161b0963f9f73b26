"""The one-pager: an alliance's health, governance and delivery on one page, the same in
substance for both parties (and for the steering digest, which shows it by email).

``one_pager`` reads through a scope: a member's ``Scope`` (their own internal items are
added to the shared ones) or ``SharedScope`` (the shared ones only, for email to both
sides). It issues a fixed number of queries, however long the history or busy the alliance.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, F, Q

from alliances.models import Alliance, Side, Stage
from governance.models import OPEN_ACTION_STATUSES, ActionItem, Risk, RiskStatus
from governance.selectors import BodyStatus, body_statuses

from .charts import sparkline
from .kpis import KpiRow, kpi_latest
from .lights import Color
from .models import Alert, AlertStatus, Light, Metric, RoundHealth, View
from .models.health import CORNER_METRICS
from .reviews import latest_review_ratings
from .rules import GAP_POINTS, ThresholdBook, Thresholds

# Rounds in the one-pager's trend lines.
TREND_ROUNDS = 12
# Changes smaller than this many points read as steady.
STEADY_POINTS = 2
# Actions due within this many days count as upcoming; how many of each the page lists.
UPCOMING_DAYS = 30
LISTED_ACTIONS = 5
LISTED_RISKS = 3
LISTED_ALERTS = 5
OPEN_RISK_STATUSES = (RiskStatus.OPEN, RiskStatus.MITIGATING)
ALERT_RELATED = ("action", "escalation", "acknowledged_by", "resolved_by")


def score_change(light: Light | None, before: Light | None) -> float | None:
    if light is None or before is None or light.score is None or before.score is None:
        return None
    return light.score - before.score


def side_gap(lead: Light | None, partner: Light | None) -> float | None:
    if lead is None or partner is None or lead.score is None or partner.score is None:
        return None
    return abs(lead.score - partner.score)


@dataclass(frozen=True)
class Trend:
    """A change since the previous round, in a symbol and in words."""

    change: float | None

    @property
    def direction(self) -> str:
        if self.change is None:
            return "none"
        if abs(self.change) < STEADY_POINTS:
            return "steady"
        return "up" if self.change > 0 else "down"

    @property
    def symbol(self) -> str:
        return {"up": "↑", "down": "↓", "steady": "→", "none": ""}[self.direction]

    @property
    def points(self) -> int | None:
        return None if self.change is None else round(abs(self.change))

    @property
    def words(self) -> str:
        if self.change is None:
            return "no earlier round to compare"
        points = round(abs(self.change))
        return {
            "up": f"up {points} since the previous round",
            "down": f"down {points} since the previous round",
            "steady": "steady since the previous round",
        }[self.direction]


@dataclass(frozen=True)
class MetricCard:
    metric: str
    label: str
    light: Light | None
    trend: Trend
    lead: Light | None
    partner: Light | None
    gap: float | None
    rating: Color | None = None
    spark: dict | None = None

    @property
    def change(self) -> float | None:
        return self.trend.change

    @property
    def gap_wide(self) -> bool:
        return self.gap is not None and self.gap >= GAP_POINTS


def metric_card(metric, current: dict, previous: dict, ratings=None, series=None, bands=None):
    """One metric's card: its light for everyone, the change since the previous round, both
    sides' lights and the gap, the latest health-review rating, and a sparkline."""
    light = current.get((metric, View.ALL))
    lead, partner = current.get((metric, View.LEAD)), current.get((metric, View.PARTNER))
    marks = {"green": bands.green_from, "red": bands.red_below} if bands else None
    return MetricCard(
        metric=metric,
        label=Metric(metric).label,
        light=light,
        trend=Trend(score_change(light, previous.get((metric, View.ALL)))),
        lead=lead,
        partner=partner,
        gap=side_gap(lead, partner),
        rating=(ratings or {}).get(metric),
        spark=sparkline(series, low=0, high=100, marks=marks, width=180, height=40)
        if series
        else None,
    )


@dataclass
class RoundLights:
    """An alliance's recent scored rounds (newest first), the lights of the newest of them,
    and the everyone-view score of every metric in all of them (for trend lines)."""

    rounds: list[RoundHealth]
    lights: dict[int, dict[tuple[str, str], Light]]
    scores: dict[int, dict[str, float | None]]

    @property
    def latest(self) -> RoundHealth | None:
        return self.rounds[0] if self.rounds else None

    def at(self, index: int) -> dict[tuple[str, str], Light]:
        return self.lights[self.rounds[index].round_id] if index < len(self.rounds) else {}

    def series(self, metric: str) -> list[float | None]:
        """The metric's everyone-view scores, oldest first."""
        return [self.scores[r.round_id].get(metric) for r in reversed(self.rounds)]


def recent_lights(*, scope, alliance: Alliance, rounds: int, full: int | None = None):
    """The latest ``rounds`` scored rounds, the lights of the newest ``full`` of them (all, if
    None) and every round's everyone-view scores: two or three queries, and light ones: a
    round read only for its trend is a few numbers, not a few dozen objects."""
    recent = list(
        scope.rows(RoundHealth.objects.filter(alliance=alliance))
        .select_related("round")
        .order_by("-opens_at", "-round_id")[:rounds]
    )
    ids = [r.round_id for r in recent]
    lights = defaultdict(dict)
    for light in scope.rows(
        Light.objects.filter(alliance=alliance, round_id__in=ids if full is None else ids[:full])
    ):
        lights[light.round_id][(light.metric, light.view)] = light
    scores = defaultdict(dict)
    if full is None:  # every round's lights are at hand: their scores are the trend
        for round_id, by_key in lights.items():
            for (metric, view), light in by_key.items():
                if view == View.ALL:
                    scores[round_id][metric] = light.score
    else:
        for round_id, metric, score in (
            scope.rows(Light.objects.filter(alliance=alliance, round_id__in=ids, view=View.ALL))
            .order_by()
            .values_list("round_id", "metric", "score")
        ):
            scores[round_id][metric] = score
    return RoundLights(recent, lights, scores)


@dataclass
class OnePager:
    alliance: Alliance
    today: date
    latest: RoundHealth | None
    lit: bool
    corners: list[MetricCard]
    trust: MetricCard
    rate: Light | None
    divergence: Light | None
    rate_series: list[float | None]
    alerts: list[Alert]  # the newest open ones, at most LISTED_ALERTS
    open_alerts: int
    overdue: list[ActionItem]
    upcoming: list[ActionItem]
    overdue_count: int
    upcoming_count: int
    risks: list[Risk]
    open_risks: int
    bodies: list[BodyStatus]
    has_ratings: bool
    kpis: list[KpiRow]
    gate_done: int
    gate_total: int
    thresholds: Thresholds

    @property
    def lead_name(self) -> str:
        return self.alliance.party_name(Side.LEAD)

    @property
    def partner_name(self) -> str:
        return self.alliance.party_name(Side.PARTNER)

    @property
    def stage_label(self) -> str:
        return Stage(self.alliance.stage).label

    @property
    def rate_spark(self) -> dict | None:
        return sparkline(self.rate_series, low=0, high=100, marks={"benchmark": 80})


def one_pager(*, scope, alliance: Alliance, today: date) -> OnePager:
    history = recent_lights(scope=scope, alliance=alliance, rounds=TREND_ROUNDS, full=2)
    current, previous = history.at(0), history.at(1)
    ratings = latest_review_ratings(scope=scope, alliance_ids=[alliance.pk]).get(alliance.pk, {})
    thresholds = ThresholdBook([alliance]).for_alliance(alliance, alliance.stage)
    horizon = today + timedelta(days=UPCOMING_DAYS)
    actions = (
        scope.rows(ActionItem.objects.filter(alliance=alliance))
        .filter(status__in=OPEN_ACTION_STATUSES)
        .select_related("owner", "author_organization")
    )
    overdue, upcoming = Q(due_on__lt=today), Q(due_on__gte=today, due_on__lte=horizon)
    counts = actions.aggregate(
        overdue=Count("pk", filter=overdue), upcoming=Count("pk", filter=upcoming)
    )
    risks = scope.rows(Risk.objects.filter(alliance=alliance)).filter(status__in=OPEN_RISK_STATUSES)
    alerts = (
        scope.rows(Alert.objects.filter(alliance=alliance))
        .exclude(status=AlertStatus.RESOLVED)
        .order_by("-raised_at", "-pk")
    )
    gate = scope.rows(alliance.gate_checks.filter(stage=alliance.stage)).aggregate(
        total=Count("pk"), done=Count("pk", filter=Q(done_at__isnull=False))
    )
    return OnePager(
        alliance=alliance,
        today=today,
        latest=history.latest,
        lit=bool(current),
        corners=[
            metric_card(m, current, previous, ratings, history.series(m), thresholds)
            for m in CORNER_METRICS
        ],
        trust=metric_card(Metric.TRUST, current, previous, None, history.series(Metric.TRUST)),
        rate=current.get((Metric.RESPONSE_RATE, View.ALL)),
        divergence=current.get((Metric.ALLIANCE, View.ALL)),
        rate_series=[r.response_rate for r in reversed(history.rounds)],
        alerts=list(alerts.select_related(*ALERT_RELATED)[:LISTED_ALERTS]),
        open_alerts=alerts.count(),
        overdue=list(actions.filter(overdue).order_by("due_on", "pk")[:LISTED_ACTIONS]),
        upcoming=list(actions.filter(upcoming).order_by("due_on", "pk")[:LISTED_ACTIONS]),
        overdue_count=counts["overdue"],
        upcoming_count=counts["upcoming"],
        risks=list(
            risks.select_related("owner", "author_organization")
            .annotate(exposure=F("likelihood") * F("impact"))
            .order_by("-exposure", "-updated_at", "pk")[:LISTED_RISKS]
        ),
        open_risks=risks.count(),
        bodies=sorted(
            body_statuses(scope=scope, alliance=alliance, today=today), key=lambda b: b.next_due
        ),
        has_ratings=bool(ratings),
        kpis=kpi_latest(scope=scope, alliance=alliance),
        gate_done=gate["done"],
        gate_total=gate["total"],
        thresholds=thresholds,
    )
