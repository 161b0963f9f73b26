"""The portfolio: every live alliance of an organisation with its stage, four lights, trend,
importance and open alerts; filtered, sorted and paged in SQL over the ``AllianceHealth``
snapshot, so a page costs the same few queries for ten alliances or thousands.
"""

from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.db.models.functions import Coalesce
from django.urls import reverse

from alliances.models import Alliance, AllianceModel, Stage
from alliances.tenancy import ALLIANCE_RELATED, Scope
from governance.models import Escalation

from .charts import quadrant, sparkline
from .dashboards import Trend
from .lights import Color
from .models import Alert, AlertKind, AlertStatus, AllianceHealth, Metric, Threshold
from .models.health import CORNER_METRICS
from .rules import DEFAULT_THRESHOLDS

PAGE_SIZE = 50
SPARK_SPAN = 30  # points of health a portfolio sparkline spans at least
# How recent a red alert must be to count as new, and how many of each kind "needs
# attention" lists.
NEW_RED_DAYS = 31
ATTENTION_LISTED = 10
ATTENTION_READ = 200  # rows read of each kind at most
LIGHT_FILTERS = {
    "red": ("Any corner red", Q(health__worst=Color.RED.rank)),
    "yellow": ("Worst is yellow", Q(health__worst=Color.YELLOW.rank)),
    "green": ("All green", Q(health__worst=Color.GREEN.rank)),
    "none": ("No lights yet", Q(health__isnull=True) | Q(health__worst=Color.GREY.rank)),
}
SORTS = {
    "attention": ("Needs attention first", [F("health__worst").desc(nulls_last=True),
                                            F("open_alerts").desc(), F("health__score").asc(
                                                nulls_last=True), "name"]),
    "name": ("Name", ["name", "pk"]),
    "stage": ("Stage", ["stage", "name"]),
    "importance": ("Importance", ["-strategic_importance", "name"]),
    "health": ("Health, lowest first", [F("health__score").asc(nulls_last=True), "name"]),
    "trend": ("Steepest decline first", [F("health__change").asc(nulls_last=True), "name"]),
    "alerts": ("Most open alerts", ["-open_alerts", "name"]),
    "partner": ("Partner", ["counterparty", "name"]),
}  # fmt: skip


def _choice(value: str, allowed) -> str:
    return value if value in allowed else ""


def _number(value: str, allowed) -> int | None:
    return int(value) if value.isdigit() and int(value) in allowed else None


@dataclass(frozen=True)
class PortfolioFilters:
    stage: int | None = None
    model: str = ""
    light: str = ""
    importance: int | None = None
    partner: str = ""
    sort: str = "attention"
    page: int = 1

    @classmethod
    def from_querydict(cls, params) -> "PortfolioFilters":
        """Anything unknown falls back to "no filter" rather than failing."""
        page = params.get("page", "")
        return cls(
            stage=_number(params.get("stage", ""), Stage.values),
            model=_choice(params.get("model", ""), AllianceModel.values),
            light=_choice(params.get("light", ""), LIGHT_FILTERS),
            importance=_number(params.get("importance", ""), range(1, 6)),
            # PostgreSQL refuses NUL characters in a query, so they cannot reach one.
            partner=params.get("partner", "").replace("\x00", "").strip()[:200],
            sort=_choice(params.get("sort", ""), SORTS) or "attention",
            page=int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1,
        )

    @property
    def active(self) -> bool:
        return any([self.stage, self.model, self.light, self.importance, self.partner])

    def query(self, **changes) -> str:
        """This view's query string with ``changes`` (a new filter or sort starts at page 1)."""
        if set(changes) - {"page"}:
            changes.setdefault("page", 1)
        chosen = replace(self, **changes)
        params = {
            f.name: value
            for f in fields(self)
            if (value := getattr(chosen, f.name)) not in (None, "")
            and not (f.name == "page" and value == 1)
            and not (f.name == "sort" and value == "attention")
        }
        return "?" + urlencode(params) if params else "?"


def counterparty(scope: Scope):
    """The other party of each alliance, from the viewing organisation's side."""
    return Case(
        When(
            lead_organization=scope.organization,
            then=Coalesce(F("partner_organization__name"), F("partner_name")),
        ),
        default=F("lead_organization__name"),
        output_field=CharField(),
    )


def open_alerts_count():
    """Open or acknowledged alerts of the row's alliance, as a subquery (a join would
    multiply the row)."""
    counted = (
        Alert.objects.filter(
            alliance=OuterRef("pk"), status__in=[AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED]
        )
        .order_by()
        .values("alliance")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def portfolio_alliances(*, scope: Scope, filters: PortfolioFilters) -> QuerySet:
    alliances = (
        scope.rows(Alliance)
        .filter(archived_at__isnull=True)
        .annotate(counterparty=counterparty(scope))
    )
    if filters.stage:
        alliances = alliances.filter(stage=filters.stage)
    if filters.model:
        alliances = alliances.filter(model=filters.model)
    if filters.light:
        alliances = alliances.filter(LIGHT_FILTERS[filters.light][1])
    if filters.importance:
        alliances = alliances.filter(strategic_importance=filters.importance)
    if filters.partner:
        alliances = alliances.filter(counterparty=filters.partner)
    return alliances


@dataclass
class Row:
    alliance: Alliance
    health: AllianceHealth | None

    @property
    def corners(self) -> list[tuple[str, Color]]:
        """(corner, light) of the latest round, in corner order."""
        if self.health is None:
            return []
        return [
            (Metric(m).label, Color(c))
            for m, c in zip(CORNER_METRICS, self.health.corner_colors, strict=True)
        ]

    @property
    def trend(self) -> Trend:
        return Trend(self.health.change if self.health else None)

    @property
    def spark(self) -> dict | None:
        if self.health is None:
            return None
        scores = [score for _, score in self.health.trend]
        known = [s for s in scores if s is not None]
        if not known:
            return None
        # At least SPARK_SPAN points tall, so a small wobble stays small and a fall shows.
        middle = (min(known) + max(known)) / 2
        half = max(max(known) - min(known), SPARK_SPAN) / 2
        return sparkline(scores, low=middle - half, high=middle + half, width=96)


@dataclass
class Concern:
    """Why one alliance needs attention this month."""

    alliance: Alliance
    reds: list[Alert] = field(default_factory=list)
    declines: list[Alert] = field(default_factory=list)
    escalations: list[Escalation] = field(default_factory=list)
    divergence: bool = False

    @property
    def weight(self) -> tuple:
        return (
            bool(self.reds),
            len(self.escalations),
            len(self.declines),
            self.divergence,
            -self.alliance.pk,
        )


@dataclass
class Attention:
    concerns: list[Concern]  # the most pressing first, at most ATTENTION_LISTED
    alliances: int  # how many alliances need attention in all
    new_reds: int
    declining: int
    divergence: int
    escalations: int

    @property
    def empty(self) -> bool:
        return not self.concerns


@dataclass
class Portfolio:
    filters: PortfolioFilters
    page: object  # a Paginator page of Rows
    total: int
    partners: list[str]
    stage_counts: dict[int, int]
    matrix: list[dict]
    healthy_from: float
    attention: Attention

    @property
    def quadrant_counts(self) -> dict[str, int]:
        counts = {"invest": 0, "fix": 0, "maintain": 0, "exit": 0}
        for point in self.matrix:
            if point["quadrant"]:
                counts[point["quadrant"]] += 1
        return counts


def healthy_from(scope: Scope) -> float:
    """Where the matrix splits healthy from not: the organisation's own green threshold."""
    own = Threshold.objects.filter(
        organization=scope.organization, alliance__isnull=True, stage__isnull=True
    ).first()
    return own.green_from if own else DEFAULT_THRESHOLDS.green_from


def attention(*, scope: Scope, now: datetime) -> Attention:
    """Which alliances need someone this month, across the whole portfolio, and why: new
    reds, declines, divergence and overdue escalations. Four queries, each bounded."""
    live = Q(alliance__archived_at__isnull=True)
    alerts = (
        scope.rows(Alert)
        .filter(live, status__in=[AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED])
        .select_related("alliance")
        .order_by("-raised_at", "-pk")
    )
    reds = alerts.filter(
        kind__in=[AlertKind.RED, AlertKind.ESCALATED],
        raised_at__gte=now - timedelta(days=NEW_RED_DAYS),
    )[:ATTENTION_READ]
    declines = alerts.filter(kind=AlertKind.DECLINE)[:ATTENTION_READ]
    diverging = (
        scope.rows(AllianceHealth).filter(live, divergence=True).select_related("alliance")
    )[:ATTENTION_READ]
    escalations = (
        scope.rows(Escalation)
        .filter(live, resolved_at__isnull=True, due_at__lt=now)
        .select_related("alliance")
        .order_by("due_at")
    )[:ATTENTION_READ]
    concerns: dict[int, Concern] = {}

    def concern(row) -> Concern:
        return concerns.setdefault(row.alliance_id, Concern(row.alliance))

    counts = {}
    for name, rows in (("reds", reds), ("declines", declines), ("escalations", escalations)):
        rows = list(rows)
        counts[name] = len(rows)
        for row in rows:
            getattr(concern(row), name).append(row)
    diverging = list(diverging)
    for health in diverging:
        concern(health).divergence = True
    ranked = sorted(concerns.values(), key=lambda c: c.weight, reverse=True)
    return Attention(
        concerns=ranked[:ATTENTION_LISTED],
        alliances=len(ranked),
        new_reds=counts["reds"],
        declining=counts["declines"],
        divergence=len(diverging),
        escalations=counts["escalations"],
    )


def portfolio(*, scope: Scope, filters: PortfolioFilters, now: datetime) -> Portfolio:
    alliances = portfolio_alliances(scope=scope, filters=filters)
    ordered = (
        alliances.select_related(*ALLIANCE_RELATED, "health")
        .annotate(open_alerts=open_alerts_count())
        .order_by(*SORTS[filters.sort][1])
    )
    paginator = Paginator(ordered, PAGE_SIZE)
    page = paginator.get_page(filters.page)
    page.object_list = [Row(a, getattr(a, "health", None)) for a in page.object_list]
    split = healthy_from(scope)
    home = reverse("alliance_detail", args=[scope.organization.slug, 0])  # one reverse, not 1,000
    matrix = [
        {
            "id": pk,
            "name": name,
            "importance": importance,
            "score": score,
            "color": Color.GREY if worst is None else [c for c in Color if c.rank == worst][0],
            "quadrant": quadrant(importance, score, split),
            "url": home.removesuffix("0/") + f"{pk}/",
        }
        for pk, name, importance, score, worst in alliances.order_by("pk").values_list(
            "pk", "name", "strategic_importance", "health__score", "health__worst"
        )
    ]
    stages = dict(alliances.order_by().values_list("stage").annotate(n=Count("pk")))
    partners = [
        name
        for name in scope.rows(Alliance)
        .filter(archived_at__isnull=True)
        .annotate(counterparty=counterparty(scope))
        .values_list("counterparty", flat=True)
        .distinct()
        .order_by("counterparty")
        if name
    ]
    return Portfolio(
        filters=filters,
        page=page,
        total=paginator.count,
        partners=partners,
        stage_counts={value: stages.get(value, 0) for value in Stage.values},
        matrix=matrix,
        healthy_from=split,
        attention=attention(scope=scope, now=now),
    )
