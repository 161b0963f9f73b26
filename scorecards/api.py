"""Health under /api/v1/: an alliance's scores and lights per round and side, its latest
lights (the one-pager's), the portfolio's latest health, and alerts to acknowledge and
resolve.

Reads are the pages' reads (``dashboards.recent_lights``, the trends' anonymity rule, the
``AllianceHealth`` snapshot the portfolio filters); writes are the Health tab's services
under its rule (either side's managers act on alerts). Both sides see the same scores and
alerts; a score the anonymity rules hide is ``null`` here as it is blank on the pages.

Score reads answer with an ``ETag`` from the dashboards' version tokens (``freshness``), so
a client polling for new lights gets a bodiless 304 until something changes.
"""

import hashlib

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import exceptions, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from alliances.api.base import (
    ALLIANCE,
    ORG,
    AllianceScopedViewSet,
    ReadMixin,
    ScopedViewSet,
    form_errors,
    form_input,
    routes,
)
from alliances.api.conventions import Conflict, ErrorSerializer, conditional
from alliances.api.filters import FilterSet
from alliances.models import AllianceModel, Side, Stage

from . import freshness, services
from .dashboards import metric_card, recent_lights
from .health_forms import AlertResolveForm
from .lights import Color
from .models import Alert, AlertStatus, AllianceHealth, CornerScore, Light, Metric, RoundHealth
from .models.health import CORNER_METRICS, View
from .reviews import latest_review_ratings
from .rules import MIN_RESPONSES, ThresholdBook, threshold_lookup

# The views of a score the pages show: everyone, and each side. (Per-function cells stay on
# the round's results page, where the pooling rules label them.)
VIEWS = [View.ALL, View.LEAD, View.PARTNER]
VIEW_CHOICES = [(view.value, view.label) for view in VIEWS]
NOT_MODIFIED = OpenApiResponse(
    description="Not modified: the `If-None-Match` header holds the current `ETag`."
)


def version(request, *, organization_id: int, alliance_id: int | None = None) -> str | None:
    """The ETag of this GET: what the organisation (and alliance) shows, and the request's
    own path and parameters (filters, page). None when the cache is down (no ETag)."""
    tag = freshness.version_tag(organization_id=organization_id, alliance_id=alliance_id)
    if tag is None:
        return None
    raw = repr([tag, request.path, sorted(request.query_params.lists())])
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def shown(score: float | None, responses: int | None) -> float | None:
    """A stored score as the pages show it: hidden below the anonymity minimum."""
    if score is None or responses is None or responses < MIN_RESPONSES:
        return None
    return round(score, 1)


class ThresholdsSerializer(serializers.Serializer):
    green_from = serializers.FloatField(help_text="Scores at or above this are green.")
    red_below = serializers.FloatField(help_text="Scores below this are red.")


# --- scores and lights per round ------------------------------------------------------------


class ScoreCellSerializer(serializers.Serializer):
    metric = serializers.ChoiceField(choices=Metric.choices)
    view = serializers.ChoiceField(
        choices=VIEW_CHOICES, help_text="Everyone, or one side's answers only."
    )
    score = serializers.FloatField(
        allow_null=True,
        help_text="0–100 (the response rate: percent). Null where too few people answered "
        "for it to be shown.",
    )
    responses = serializers.IntegerField(
        allow_null=True, help_text="How many answers the score rests on; null where hidden."
    )
    color = serializers.ChoiceField(
        choices=Color.choices, allow_null=True, help_text="The light; null if it has none."
    )
    reasons = serializers.ListField(
        child=serializers.CharField(), help_text="Why the light has its colour, in words."
    )


class RoundScoresSerializer(serializers.ModelSerializer):
    label = serializers.CharField(source="round.label", help_text="The period in words.")
    period_end = serializers.DateField(source="round.period_end")
    kind = serializers.CharField(source="round.kind", help_text="scheduled or off_cycle.")
    thresholds = serializers.SerializerMethodField()
    scores = serializers.SerializerMethodField()

    class Meta:
        model = RoundHealth
        fields = [
            "id",
            "round",
            "label",
            "kind",
            "period_start",
            "period_end",
            "stage",
            "invited",
            "invited_lead",
            "invited_partner",
            "responded",
            "responded_lead",
            "responded_partner",
            "response_rate",
            "low_confidence",
            "thresholds",
            "scores",
            "computed_at",
        ]

    @extend_schema_field(ThresholdsSerializer)
    def get_thresholds(self, health):
        alliance = self.context["here"].alliance  # the one alliance: no query per row
        found = threshold_lookup(self.context["thresholds"], alliance, health.stage)[0]
        return {"green_from": found.green_from, "red_below": found.red_below}

    @extend_schema_field(ScoreCellSerializer(many=True))
    def get_scores(self, health):
        metrics, views = self.context["metrics"], self.context["views"]
        scores = {(s.metric, s.view): s for s in health.round.api_scores}
        lights = {(light.metric, light.view): light for light in health.round.api_lights}
        cells = []
        for metric in metrics:
            for view in views:
                score, light = scores.get((metric, view)), lights.get((metric, view))
                if score is None and light is None:
                    continue
                if score is not None:
                    value = shown(score.score, score.responses)
                    responses = score.responses if value is not None else None
                else:  # a light of its own (the response rate, the alliance as a whole)
                    value, responses = light.score, None
                cells.append(
                    {
                        "metric": metric,
                        "view": view,
                        "score": value,
                        "responses": responses,
                        "color": light.color if light else None,
                        "reasons": light.reasons if light else [],
                    }
                )
        return cells


class LightSerializer(serializers.ModelSerializer):
    metric_label = serializers.CharField(source="get_metric_display")
    symbol = serializers.CharField(help_text="The colour's symbol, for a reader without colour.")

    class Meta:
        model = Light
        fields = ["metric", "metric_label", "color", "symbol", "score", "reasons"]


class SideLightSerializer(serializers.Serializer):
    color = serializers.ChoiceField(choices=Color.choices)
    score = serializers.FloatField(allow_null=True)
    reasons = serializers.ListField(child=serializers.CharField())


class MetricCardSerializer(serializers.Serializer):
    metric = serializers.ChoiceField(choices=Metric.choices)
    label = serializers.CharField()
    color = serializers.ChoiceField(
        choices=Color.choices, allow_null=True, help_text="Everyone's light; null if unlit."
    )
    score = serializers.FloatField(allow_null=True)
    reasons = serializers.ListField(child=serializers.CharField())
    change = serializers.FloatField(
        allow_null=True, help_text="Points since the previous round; null with nothing to compare."
    )
    trend = serializers.ChoiceField(
        choices=["up", "down", "steady", "none"], help_text="The trend arrow."
    )
    lead = SideLightSerializer(allow_null=True, help_text="The lead's view.")
    partner = SideLightSerializer(allow_null=True, help_text="The partner's view.")
    gap = serializers.FloatField(allow_null=True, help_text="Points between the two sides.")
    gap_wide = serializers.BooleanField(help_text="A perception gap wide enough to flag.")
    review_rating = serializers.ChoiceField(
        choices=Color.choices,
        allow_null=True,
        required=False,
        help_text="The latest health review's rating of this corner.",
    )


class LatestRoundSerializer(serializers.Serializer):
    round = serializers.IntegerField(source="round_id")
    label = serializers.CharField(source="round.label")
    period_start = serializers.DateField()
    stage = serializers.ChoiceField(choices=Stage.choices)
    response_rate = serializers.FloatField(allow_null=True)
    low_confidence = serializers.BooleanField()


class LatestLightsSerializer(serializers.Serializer):
    round = LatestRoundSerializer(
        allow_null=True, help_text="The newest scored round; null before the first."
    )
    thresholds = ThresholdsSerializer(help_text="What applies at the alliance's stage now.")
    corners = MetricCardSerializer(many=True, help_text="The four corners, in order.")
    trust = MetricCardSerializer(help_text="The trust anchor.")
    response_rate = LightSerializer(allow_null=True)
    divergence = LightSerializer(
        allow_null=True, help_text="Set when the numbers and the relationship disagree."
    )


def _side(light: Light | None):
    if light is None:
        return None
    return {"color": light.color, "score": light.score, "reasons": light.reasons}


def _card(card) -> dict:
    light = card.light
    return {
        "metric": card.metric,
        "label": card.label,
        "color": light.color if light else None,
        "score": light.score if light else None,
        "reasons": light.reasons if light else [],
        "change": card.change,
        "trend": card.trend.direction,
        "lead": _side(card.lead),
        "partner": _side(card.partner),
        "gap": card.gap,
        "gap_wide": card.gap_wide,
        "review_rating": card.rating,
    }


def _choices(request, name: str, allowed: list[str]) -> list[str]:
    """A repeatable query parameter's values, all of them if it is not given."""
    given = request.query_params.getlist(name)
    wrong = sorted(set(given) - set(allowed))
    if wrong:
        raise exceptions.ValidationError(
            {name: [f"Unknown: {', '.join(wrong)}. Pick from {', '.join(allowed)}."]}
        )
    return [value for value in allowed if value in given] if given else allowed


SCORE_PARAMETERS = [
    OpenApiParameter(
        "metric",
        OpenApiTypes.STR,
        enum=Metric.values,
        many=True,
        explode=True,
        description="Only these metrics (repeat the parameter for more). Default: all.",
    ),
    OpenApiParameter(
        "view",
        OpenApiTypes.STR,
        enum=[view.value for view in VIEWS],
        many=True,
        explode=True,
        description="Only these views: `all` (everyone), `lead`, `partner`. Default: all three.",
    ),
]


class ScoreViewSet(ReadMixin, AllianceScopedViewSet):
    """The alliance's closed, scored rounds, newest first: participation, the thresholds
    that applied, and per metric and view (everyone, the lead's side, the partner's side)
    the score and its light with the reasons for its colour. Answers carry an `ETag`; send
    it back as `If-None-Match` to get a bodiless 304 until something changes."""

    model = RoundHealth
    serializer_class = RoundScoresSerializer
    write_rule = None
    filterset_fields = {
        "period_start": ["gte", "lte"],
        "stage": ["exact"],
        "low_confidence": ["exact"],
    }
    ordering_fields = ["period_start", "opens_at"]
    ordering = ["-period_start", "-opens_at"]

    def rows(self):
        metrics = getattr(self, "metrics", Metric.values)
        views = getattr(self, "views", [view.value for view in VIEWS])
        scores = self.scope.rows(CornerScore).filter(metric__in=metrics, view__in=views)
        lights = self.scope.rows(Light).filter(metric__in=metrics, view__in=views)
        return (
            RoundHealth.objects.filter(alliance=self.here.alliance)
            .select_related("round")
            .prefetch_related(
                Prefetch("round__corner_scores", queryset=scores, to_attr="api_scores"),
                Prefetch("round__lights", queryset=lights, to_attr="api_lights"),
            )
        )

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if getattr(self, "here", None) is not None:
            context["thresholds"] = ThresholdBook([self.here.alliance]).rows
            context["metrics"], context["views"] = self.metrics, self.views
        return context

    def _conditional(self, request, build):
        self.metrics = _choices(request, "metric", Metric.values)
        self.views = _choices(request, "view", [view.value for view in VIEWS])
        tag = version(
            request,
            organization_id=self.scope.organization.pk,
            alliance_id=self.here.alliance.pk,
        )
        return conditional(request, tag, build)

    @extend_schema(
        parameters=SCORE_PARAMETERS,
        responses={200: RoundScoresSerializer(many=True), 304: NOT_MODIFIED},
    )
    def list(self, request, *args, **kwargs):
        return self._conditional(request, lambda: super(ScoreViewSet, self).list(request))

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "id", int, OpenApiParameter.PATH, description="The `id` of a row of the list."
            ),
            *SCORE_PARAMETERS,
        ],
        responses={200: RoundScoresSerializer, 304: NOT_MODIFIED},
    )
    def retrieve(self, request, *args, **kwargs):
        """One scored round's scores and lights."""
        return self._conditional(request, lambda: super(ScoreViewSet, self).retrieve(request))

    @extend_schema(
        filters=False,
        responses={200: LatestLightsSerializer, 304: NOT_MODIFIED},
    )
    @action(detail=False, methods=["get"], url_path="latest", pagination_class=None)
    def latest(self, request, *args, **kwargs):
        """The latest lights, as the one-pager shows them: each corner's light, score and
        reasons, its change since the previous round, both sides' views and the gap between
        them; the trust anchor, the response rate and the divergence signal. The first thing
        to read; poll it with `If-None-Match`."""
        scope, alliance = self.scope, self.here.alliance

        def build():
            history = recent_lights(scope=scope, alliance=alliance, rounds=2)
            current, previous = history.at(0), history.at(1)
            ratings = latest_review_ratings(scope=scope, alliance_ids=[alliance.pk])
            ratings = ratings.get(alliance.pk, {})
            thresholds = ThresholdBook([alliance]).for_alliance(alliance, alliance.stage)
            body = {
                "round": history.latest,
                "thresholds": {
                    "green_from": thresholds.green_from,
                    "red_below": thresholds.red_below,
                },
                "corners": [
                    _card(metric_card(m, current, previous, ratings)) for m in CORNER_METRICS
                ],
                "trust": _card(metric_card(Metric.TRUST, current, previous)),
                "response_rate": current.get((Metric.RESPONSE_RATE, View.ALL)),
                "divergence": current.get((Metric.ALLIANCE, View.ALL)),
            }
            return Response(LatestLightsSerializer(body).data)

        tag = version(request, organization_id=scope.organization.pk, alliance_id=alliance.pk)
        return conditional(request, tag, build)


# --- the portfolio's latest health ----------------------------------------------------------

LIGHTS = {
    "red": "Any corner red",
    "yellow": "Worst corner yellow",
    "green": "All corners green",
    "grey": "No corner can be judged yet",
}


class PortfolioHealthFilter(FilterSet):
    light = django_filters.ChoiceFilter(
        choices=list(LIGHTS.items()), method="by_light", label="The worst corner's light."
    )
    stage = django_filters.ChoiceFilter(
        field_name="alliance__stage", choices=Stage.choices, label="The alliance's stage."
    )
    model = django_filters.ChoiceFilter(
        field_name="alliance__model", choices=AllianceModel.choices, label="The alliance model."
    )
    importance = django_filters.NumberFilter(
        field_name="alliance__strategic_importance", label="Strategic importance (1–5)."
    )

    class Meta:
        model = AllianceHealth
        fields = {
            "score": ["gte", "lte"],
            "change": ["lte"],
            "divergence": ["exact"],
            "low_confidence": ["exact"],
            "period_start": ["gte", "lte"],
        }

    def by_light(self, queryset, name, value):
        return queryset.filter(worst=Color(value).rank)


class PortfolioHealthSerializer(serializers.ModelSerializer):
    alliance = serializers.IntegerField(source="alliance_id")
    name = serializers.CharField(source="alliance.name")
    stage = serializers.ChoiceField(source="alliance.stage", choices=Stage.choices)
    strategic_importance = serializers.IntegerField(source="alliance.strategic_importance")
    your_side = serializers.SerializerMethodField()
    counterparty = serializers.SerializerMethodField()
    worst_color = serializers.SerializerMethodField()
    open_alerts = serializers.IntegerField(help_text="Open or acknowledged alerts.")
    trend = serializers.ListField(
        child=serializers.ListField(),
        help_text="[period start, score or null] of the recent rounds, oldest first.",
    )

    class Meta:
        model = AllianceHealth
        fields = [
            "alliance",
            "name",
            "stage",
            "strategic_importance",
            "your_side",
            "counterparty",
            "round",
            "period_start",
            "strategic",
            "operational",
            "relational",
            "value",
            "worst",
            "worst_color",
            "score",
            "change",
            "trend",
            "response_rate",
            "low_confidence",
            "divergence",
            "open_alerts",
            "updated_at",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=Side.choices))
    def get_your_side(self, health) -> str:
        return health.alliance.side_of(self.context["view"].scope.organization)

    def get_counterparty(self, health) -> str:
        """The other party's name."""
        alliance = health.alliance
        side = alliance.side_of(self.context["view"].scope.organization)
        return alliance.party_name(Side.PARTNER if side == Side.LEAD else Side.LEAD)

    @extend_schema_field(serializers.ChoiceField(choices=Color.choices))
    def get_worst_color(self, health) -> str:
        return {Color(c).rank: c for c in Color.values}[health.worst]


def _open_alerts():
    counted = (
        Alert.objects.filter(
            alliance=OuterRef("alliance_id"),
            status__in=[AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED],
        )
        .order_by()
        .values("alliance")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


class PortfolioHealthViewSet(ReadMixin, ScopedViewSet):
    """Every live alliance of your portfolio at its latest scored round: the four corner
    lights, the worst of them, the health score and its change, the response rate and open
    alerts — what the portfolio page filters and sorts. Answers carry an `ETag`."""

    model = AllianceHealth
    serializer_class = PortfolioHealthSerializer
    write_rule = None
    filterset_class = PortfolioHealthFilter
    ordering_fields = ["worst", "score", "change", "period_start", "alliance__name"]
    ordering = ["-worst", "score", "alliance__name"]

    def rows(self):
        return (
            AllianceHealth.objects.filter(alliance__archived_at__isnull=True)
            .select_related("alliance__lead_organization", "alliance__partner_organization")
            .annotate(open_alerts=_open_alerts())
        )

    def _conditional(self, request, build):
        tag = version(request, organization_id=self.scope.organization.pk)
        return conditional(request, tag, build)

    @extend_schema(responses={200: PortfolioHealthSerializer(many=True), 304: NOT_MODIFIED})
    def list(self, request, *args, **kwargs):
        return self._conditional(request, lambda: super(PortfolioHealthViewSet, self).list(request))

    @extend_schema(
        parameters=[
            OpenApiParameter("id", int, OpenApiParameter.PATH, description="The alliance's id.")
        ],
        responses={200: PortfolioHealthSerializer, 304: NOT_MODIFIED},
    )
    def retrieve(self, request, *args, **kwargs):
        """One alliance's latest health, by the alliance's id."""
        return self._conditional(
            request, lambda: super(PortfolioHealthViewSet, self).retrieve(request)
        )


# --- alerts ---------------------------------------------------------------------------------


class AlertSerializer(serializers.ModelSerializer):
    alliance_name = serializers.CharField(source="alliance.name")
    metric_label = serializers.CharField(source="get_metric_display")
    kind_label = serializers.CharField(source="get_kind_display")
    acknowledged_by = serializers.SerializerMethodField()
    resolved_by = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = [
            "id",
            "alliance",
            "alliance_name",
            "metric",
            "metric_label",
            "kind",
            "kind_label",
            "status",
            "period_start",
            "round",
            "from_color",
            "to_color",
            "score",
            "reason",
            "raised_at",
            "acknowledged_at",
            "acknowledged_by",
            "resolved_at",
            "resolved_by",
            "resolution",
            "action",
            "escalation",
        ]

    def get_acknowledged_by(self, alert) -> str | None:
        """Who acknowledged it (first name)."""
        return alert.acknowledged_by.get_short_name() if alert.acknowledged_by else None

    def get_resolved_by(self, alert) -> str | None:
        """Who resolved it (first name)."""
        return alert.resolved_by.get_short_name() if alert.resolved_by else None


ALERT_FILTERS = {
    "status": ["exact", "in"],
    "kind": ["exact"],
    "metric": ["exact"],
    "raised_at": ["gte", "lte"],
    "period_start": ["gte", "lte"],
}
ALERT_ORDERING = ["raised_at", "period_start", "id"]
ALERT_RELATED = ("alliance", "acknowledged_by", "resolved_by")

AlertResolveInput = form_input(AlertResolveForm, name="AlertResolveInput")
STATE_CONFLICT = OpenApiResponse(
    ErrorSerializer, description="The alert is already acknowledged or resolved."
)


class AlertViewSet(ReadMixin, AllianceScopedViewSet):
    """The alliance's alerts, newest first: what happened to which metric, from which light
    to which, and why. Either side's managers acknowledge an open alert and resolve it with
    a note, as on the Health tab."""

    model = Alert
    serializer_class = AlertSerializer
    write_rule = "shared"
    filterset_fields = ALERT_FILTERS
    ordering_fields = ALERT_ORDERING
    ordering = ["-raised_at", "-id"]

    def rows(self):
        return Alert.objects.filter(alliance=self.here.alliance).select_related(*ALERT_RELATED)

    def _answer(self, alert):
        return Response(self.get_serializer(self.get_queryset().get(pk=alert.pk)).data)

    @extend_schema(request=None, responses={200: AlertSerializer, 409: STATE_CONFLICT})
    @action(detail=True, methods=["post"], url_path="acknowledge")
    def acknowledge(self, request, *args, **kwargs):
        """Say someone is on it. Only an open alert can be acknowledged: a second
        acknowledgement, or one of a resolved alert, is a 409."""
        alert = self.get_object()
        try:
            services.alert_acknowledge(alert=alert, user=request.user, now=timezone.now())
        except ValidationError as error:
            raise Conflict(" ".join(error.messages)) from None
        return self._answer(alert)

    @extend_schema(request=AlertResolveInput, responses={200: AlertSerializer, 409: STATE_CONFLICT})
    @action(detail=True, methods=["post"], url_path="resolve", url_name="resolve")
    def resolve_alert(self, request, *args, **kwargs):  # ``resolve`` resolves the scope
        """Close an open or acknowledged alert, saying in a sentence how it was dealt with.
        An alert already resolved is a 409."""
        alert = self.get_object()
        AlertResolveInput(data=request.data).is_valid(raise_exception=True)
        form = AlertResolveForm(data=request.data)
        if not form.is_valid():
            raise exceptions.ValidationError(form_errors(form))
        try:
            services.alert_resolve(
                alert=alert, user=request.user, note=form.cleaned_data["note"], now=timezone.now()
            )
        except ValidationError as error:
            if hasattr(error, "error_dict"):  # the note: a 400 with its field
                raise
            raise Conflict(" ".join(error.messages)) from None
        return self._answer(alert)


class PortfolioAlertFilter(FilterSet):
    # By id, not a model choice: an id that is not yours reads as no alerts, like any other.
    alliance = django_filters.NumberFilter(field_name="alliance_id", label="Only this alliance.")

    class Meta:
        model = Alert
        fields = ALERT_FILTERS


class PortfolioAlertViewSet(ReadMixin, ScopedViewSet):
    """Alerts of all your alliances, newest first: the alerts inbox. Act on one under its
    alliance (`.../alliances/{alliance}/alerts/{id}/acknowledge/`)."""

    model = Alert
    serializer_class = AlertSerializer
    write_rule = None
    filterset_class = PortfolioAlertFilter
    ordering_fields = ALERT_ORDERING
    ordering = ["-raised_at", "-id"]

    def rows(self):
        return Alert.objects.select_related(*ALERT_RELATED)


urlpatterns = [
    *routes(f"{ALLIANCE}/scores", ScoreViewSet, "score"),
    *routes(f"{ALLIANCE}/alerts", AlertViewSet, "alert"),
    *routes(f"{ORG}/health", PortfolioHealthViewSet, "portfolio-health"),
    *routes(f"{ORG}/alerts", PortfolioAlertViewSet, "portfolio-alert"),
]
