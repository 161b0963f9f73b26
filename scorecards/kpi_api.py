"""KPIs, KPI values and health reviews in the REST API (see alliances/api/).

Each resource mirrors its pages (``views/kpis.py``, ``views/reviews.py``): the same forms, the
same services and the same role checks. KPI definitions are alliance settings; values and
reviews are shared operating records that managers of both sides write. A review's interview
notes are side-owned: the other side's internal ones never leave the scope.
"""

import math
import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from alliances.api.base import (
    ALLIANCE,
    AllianceScopedViewSet,
    FormWriteMixin,
    ReadMixin,
    StrictSerializer,
    current_data,
    form_errors,
    form_input,
    routes,
)
from alliances.api.conventions import django_errors, idempotent
from alliances.models import Side
from governance.models import ActionItem
from surveys.models import Corner

from . import kpis as services
from . import reviews as review_services
from .kpi_forms import KpiForm, KpiValueForm
from .lights import Color
from .models import (
    RATINGS,
    HealthReview,
    Kpi,
    KpiValue,
    ReviewInterview,
    ReviewRecommendation,
    ReviewSynthesis,
)
from .review_forms import InterviewForm, RecommendationForm, ReviewForm, SynthesisForm

# --- KPIs -----------------------------------------------------------------------------------


class KpiLightSerializer(serializers.Serializer):
    color = serializers.ChoiceField(choices=Color.choices)
    reason = serializers.CharField(help_text="Why this colour, in words.")


class KpiLatestSerializer(serializers.Serializer):
    month = serializers.DateField(help_text="The first day of the month.")
    value = serializers.FloatField()
    shown = serializers.CharField(help_text="The value as the scorecard shows it, with its unit.")


def light_of(kpi: Kpi, value: float | None) -> dict:
    color, reason = services.kpi_light(kpi, value)
    return {"color": color.value, "reason": reason}


class KpiSerializer(serializers.ModelSerializer):
    computed = serializers.BooleanField(
        source="is_computed", read_only=True, help_text="Measured by Concord; not entered."
    )
    archived = serializers.BooleanField(source="is_archived", read_only=True)
    thresholds = serializers.SerializerMethodField()
    latest = serializers.SerializerMethodField()
    light = serializers.SerializerMethodField()

    class Meta:
        model = Kpi
        fields = [
            "id",
            "name",
            "group",
            "description",
            "source",
            "computed",
            "unit",
            "currency",
            "direction",
            "green_from",
            "red_below",
            "thresholds",
            "position",
            "latest",
            "light",
            "archived",
            "archived_at",
            "created_at",
        ]

    def get_thresholds(self, kpi) -> str:
        return services.kpi_thresholds_text(kpi)

    @extend_schema_field(KpiLatestSerializer(allow_null=True))
    def get_latest(self, kpi):
        if kpi.latest_month is None:
            return None
        value = kpi.latest_value
        return {"month": kpi.latest_month, "value": value, "shown": services.kpi_format(kpi, value)}

    @extend_schema_field(KpiLightSerializer)
    def get_light(self, kpi):
        return light_of(kpi, kpi.latest_value if kpi.latest_month else None)


class KpiViewSet(FormWriteMixin, ReadMixin, AllianceScopedViewSet):
    """The alliance's balanced-scorecard KPIs, each with its latest value and light. Adding,
    editing, archiving and restoring a KPI are alliance settings: the lead's managers (and
    the partner's, if the lead allows it)."""

    model = Kpi
    serializer_class = KpiSerializer
    form_class = KpiForm
    write_rule = "settings"
    filterset_fields = {
        "group": ["exact"],
        "source": ["exact"],
        "archived_at": ["isnull"],
    }
    ordering_fields = ["name", "group", "position", "created_at", "id"]
    ordering = ["group", "position", "id"]

    def rows(self):
        return services.kpis_with_latest(Kpi.objects.filter(alliance=self.here.alliance))

    def form_kwargs(self, instance):
        return {}

    def save(self, form):
        kpi = services.kpi_save(kpi=form.instance)
        return self.get_queryset().get(pk=kpi.pk)  # with its latest value

    def _archive(self, archived: bool):
        kpi = self.get_object()
        services.kpi_archive(kpi=kpi, archived=archived)
        return Response(self.get_serializer(self.get_queryset().get(pk=kpi.pk)).data)

    @extend_schema(request=None, responses=KpiSerializer)
    @action(detail=True, methods=["post"], url_path="archive")
    def archive(self, request, *args, **kwargs):
        """Archive a KPI: it leaves the scorecard, its values are kept."""
        return self._archive(True)

    @extend_schema(request=None, responses=KpiSerializer)
    @action(detail=True, methods=["post"], url_path="restore")
    def restore(self, request, *args, **kwargs):
        """Restore an archived KPI to the scorecard (a computed one is measured again)."""
        return self._archive(False)


# --- KPI values -----------------------------------------------------------------------------


class KpiValueSerializer(serializers.ModelSerializer):
    shown = serializers.SerializerMethodField()
    light = serializers.SerializerMethodField()
    entered_by = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="Who entered it; null for values Concord computes.",
    )

    class Meta:
        model = KpiValue
        fields = [
            "id",
            "kpi",
            "month",
            "value",
            "shown",
            "light",
            "note",
            "entered_by",
            "entered_at",
        ]

    def get_shown(self, row) -> str:
        return services.kpi_format(row.kpi, row.value)

    @extend_schema_field(KpiLightSerializer)
    def get_light(self, row):
        return light_of(row.kpi, row.value)


@extend_schema_field({"oneOf": [{"type": "number"}, {"type": "string"}]})
class NumberOrText(serializers.Field):
    """A number, or text as a person would type it (``"12.5%"``, ``"EUR 1,200"``)."""

    default_error_messages = {"invalid": "Give a number, or the value as text."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float | str):
            self.fail("invalid")
        if isinstance(data, float) and not math.isfinite(data):  # 1e999 reads as infinity
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return value


BULK_LIMIT = 500
FIRST_DAY = re.compile(r"^(\d{4}-\d{1,2})-(\d{1,2})$")


class KpiValueItem(StrictSerializer):
    kpi = serializers.IntegerField(help_text="The id of a live, manual KPI of this alliance.")
    month = serializers.CharField(
        max_length=10, help_text="`YYYY-MM`, or the month's first day `YYYY-MM-01`."
    )
    value = NumberOrText(help_text="Checked against the KPI's unit, as on the scorecard.")
    note = serializers.CharField(required=False, allow_blank=True, max_length=300)


class KpiValueBulkInput(StrictSerializer):
    values = serializers.ListField(
        child=KpiValueItem(),
        min_length=1,
        max_length=BULK_LIMIT,
        help_text=f"1 to {BULK_LIMIT} monthly values, all saved or none. A KPI's month that "
        "has a value gets the new one.",
    )


class KpiValueBulkResult(serializers.Serializer):
    created = serializers.IntegerField(help_text="Months that had no value before.")
    replaced = serializers.IntegerField(help_text="Months whose value was replaced.")
    values = KpiValueSerializer(many=True)


def month_text(raw: str) -> str:
    """``YYYY-MM-01`` as ``YYYY-MM``, which the scorecard's month parser reads."""
    found = FIRST_DAY.match(raw.strip())
    if found is None:
        return raw
    if int(found[2]) != 1:
        raise ValidationError(f"“{raw}” is not a month: give YYYY-MM or its first day, YYYY-MM-01.")
    return found[1]


class KpiValueViewSet(ReadMixin, AllianceScopedViewSet):
    """The KPIs' monthly values, newest first. Managers of both sides enter the values of
    manual KPIs (``bulk``); Concord computes the others every day."""

    model = KpiValue
    serializer_class = KpiValueSerializer
    filterset_fields = {"kpi": ["exact"], "month": ["exact", "gte", "lte"]}
    ordering_fields = ["month", "kpi", "entered_at", "id"]
    ordering = ["-month", "kpi", "id"]

    def rows(self):
        return KpiValue.objects.filter(kpi__alliance=self.here.alliance).select_related(
            "kpi", "entered_by"
        )

    def _item(self, item, kpis: dict[int, Kpi]):
        """One item as (kpi, month, value, note), with the entry form's and the service's
        checks; a Django or DRF ValidationError otherwise."""
        checked = KpiValueItem(data=item)
        checked.is_valid(raise_exception=True)
        item = checked.validated_data
        kpi = kpis.get(item["kpi"])
        if kpi is None:
            raise exceptions.ValidationError({"kpi": ["This alliance has no such KPI."]})
        try:
            month = month_text(item["month"])
        except ValidationError as error:
            raise exceptions.ValidationError({"month": error.messages}) from error
        value = item["value"]
        data = {"month": month, "value": str(value), "note": item.get("note", "")}
        form = KpiValueForm(data=data)
        if not form.is_valid():
            raise exceptions.ValidationError(form_errors(form))
        try:
            month = services.month_parse(form.cleaned_data["month"])
        except ValidationError as error:
            raise exceptions.ValidationError({"month": error.messages}) from error
        if isinstance(value, str):
            value = form.cleaned_data["value"]
        return kpi, month, value, form.cleaned_data["note"]

    @extend_schema(request=KpiValueBulkInput, responses={200: KpiValueBulkResult})
    @action(detail=False, methods=["post"], url_path="bulk")
    @idempotent
    def bulk(self, request, *args, **kwargs):
        """Enter or replace many monthly values at once, as the scorecard's entry and CSV
        import do: manual, live KPIs only; no month that has not begun; each value checked
        against its KPI's unit. All of them are saved, or none if any has an error (the errors
        are keyed by the item's position in the list). Sending a KPI's month again replaces
        its value; one request may name a KPI's month only once."""
        payload = request.data
        if not isinstance(payload, dict) or not isinstance(payload.get("values"), list):
            raise exceptions.ValidationError({"values": ['Send {"values": [...]}.']})
        unknown = sorted(set(payload) - {"values"})
        if unknown:
            raise exceptions.ValidationError({name: ["Unknown field."] for name in unknown})
        items = payload["values"]
        if not 1 <= len(items) <= BULK_LIMIT:
            raise exceptions.ValidationError(
                {"values": [f"Send from 1 to {BULK_LIMIT} values at a time."]}
            )
        kpis = {
            kpi.pk: kpi
            for kpi in self.here.scope.rows(Kpi.objects.filter(alliance=self.here.alliance))
        }
        parsed, errors, seen = {}, {}, {}
        for index, item in enumerate(items):
            try:
                kpi, month, value, note = self._item(item, kpis)
            except exceptions.ValidationError as error:
                errors[str(index)] = error.detail
                continue
            if (kpi.pk, month) in seen:
                errors[str(index)] = {
                    "month": [f"{kpi} for {month:%Y-%m} is also item {seen[(kpi.pk, month)]}."]
                }
                continue
            seen[(kpi.pk, month)] = index
            parsed[index] = (kpi, month, value, note)
        saved = []
        with transaction.atomic():
            existing = set(
                KpiValue.objects.filter(
                    kpi_id__in={kpi.pk for kpi, *_ in parsed.values()},
                    month__in={month for _, month, *_ in parsed.values()},
                ).values_list("kpi_id", "month")
            )
            for index, (kpi, month, value, note) in parsed.items():
                try:
                    saved.append(
                        services.kpi_value_save(
                            kpi=kpi, month=month, value=value, note=note, user=request.user
                        )
                    )
                except ValidationError as error:
                    errors[str(index)] = django_errors(error)
            if errors:
                raise exceptions.ValidationError(
                    {"values": dict(sorted(errors.items(), key=lambda e: int(e[0])))}
                )
        replaced = sum((row.kpi_id, row.month) in existing for row in saved)
        return Response(
            {
                "created": len(saved) - replaced,
                "replaced": replaced,
                "values": KpiValueSerializer(saved, many=True).data,
            }
        )


# --- health reviews -------------------------------------------------------------------------


def _ratings(review) -> list[dict]:
    found = {synthesis.corner: synthesis.rating or None for synthesis in review.syntheses.all()}
    return [{"corner": corner, "rating": found.get(corner)} for corner in Corner.values]


class ReviewRatingSerializer(serializers.Serializer):
    corner = serializers.ChoiceField(choices=Corner.choices)
    rating = serializers.ChoiceField(
        choices=RATINGS, allow_null=True, help_text="Null while the corner is not rated."
    )


class HealthReviewSerializer(serializers.ModelSerializer):
    completed = serializers.BooleanField(source="is_completed", read_only=True)
    led_by = serializers.CharField(read_only=True, allow_null=True, help_text="Who leads it.")
    ratings = serializers.SerializerMethodField()

    class Meta:
        model = HealthReview
        fields = [
            "id",
            "title",
            "kind",
            "scope",
            "started_on",
            "completed_on",
            "completed",
            "led_by",
            "ratings",
            "created_at",
        ]

    @extend_schema_field(ReviewRatingSerializer(many=True))
    def get_ratings(self, review):
        """Every corner, in order, with the review's rating of it."""
        return _ratings(review)


class ReviewSynthesisSerializer(serializers.ModelSerializer):
    corner_label = serializers.CharField(source="get_corner_display", read_only=True)
    rating = serializers.SerializerMethodField()

    class Meta:
        model = ReviewSynthesis
        fields = ["corner", "corner_label", "strengths", "concerns", "rating", "updated_at"]

    @extend_schema_field(serializers.ChoiceField(choices=RATINGS, allow_null=True))
    def get_rating(self, synthesis):
        return synthesis.rating or None


class ReviewInterviewSerializer(serializers.ModelSerializer):
    themes = serializers.ListField(source="theme_list", child=serializers.CharField())
    notes_by = serializers.CharField(source="author_organization.name")

    class Meta:
        model = ReviewInterview
        fields = [
            "id",
            "function",
            "side",
            "held_on",
            "themes",
            "notes",
            "visibility",
            "notes_by",
            "created_at",
        ]


class ReviewActionSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.name")
    owner_side = serializers.ChoiceField(source="owner.side", choices=Side.choices)

    class Meta:
        model = ActionItem
        fields = ["id", "title", "details", "owner", "owner_side", "due_on", "status"]


class ReviewRecommendationSerializer(serializers.ModelSerializer):
    action = ReviewActionSerializer(
        allow_null=True, help_text="Null when the action item is no longer shared with you."
    )

    class Meta:
        model = ReviewRecommendation
        fields = ["id", "action", "created_at"]


class HealthReviewDetailSerializer(HealthReviewSerializer):
    syntheses = serializers.SerializerMethodField()
    interviews = ReviewInterviewSerializer(many=True, source="visible_interviews")
    recommendations = ReviewRecommendationSerializer(many=True, source="visible_recommendations")
    missing_corners = serializers.SerializerMethodField()

    class Meta(HealthReviewSerializer.Meta):
        fields = [
            *HealthReviewSerializer.Meta.fields,
            "syntheses",
            "missing_corners",
            "interviews",
            "recommendations",
        ]

    @extend_schema_field(ReviewSynthesisSerializer(many=True))
    def get_syntheses(self, review):
        """The corners the review has read, in the corners' order."""
        found = {synthesis.corner: synthesis for synthesis in review.syntheses.all()}
        rows = [found[corner] for corner in Corner.values if corner in found]
        return ReviewSynthesisSerializer(rows, many=True).data

    def get_missing_corners(self, review) -> list[str]:
        """The labels of the corners not rated yet: the review completes once none is."""
        rated = {s.corner for s in review.syntheses.all() if s.rating}
        return [label for value, label in Corner.choices if value not in rated]


ReviewSynthesisItem = form_input(
    SynthesisForm,
    name="ReviewSynthesisItem",
    fields={"corner": serializers.ChoiceField(choices=Corner.choices)},
)


class ReviewSynthesisInput(StrictSerializer):
    corners = serializers.ListField(
        child=ReviewSynthesisItem(),
        min_length=1,
        max_length=len(Corner.values),
        help_text="The corners to read or rate; fields not sent stay as they are.",
    )


InterviewInput = form_input(InterviewForm, name="ReviewInterviewInput")
RecommendationInput = form_input(RecommendationForm, name="ReviewRecommendationInput")


class HealthReviewViewSet(FormWriteMixin, ReadMixin, AllianceScopedViewSet):
    """The alliance's health reviews, newest first, with each corner's rating. One review
    also has its synthesis, its interviews (another side's internal notes never appear) and
    its recommended actions. Managers of both sides start and edit reviews, add interviews,
    rate corners, recommend actions and complete a review."""

    model = HealthReview
    serializer_class = HealthReviewSerializer
    form_class = ReviewForm
    input_serializer = form_input(ReviewForm, name="HealthReviewInput")
    filterset_fields = {
        "kind": ["exact"],
        "completed_on": ["isnull", "gte", "lte"],
        "started_on": ["gte", "lte"],
    }
    ordering_fields = ["started_on", "completed_on", "created_at", "id"]
    ordering = ["-started_on", "-id"]

    def rows(self):
        scope = self.here.scope
        rows = (
            HealthReview.objects.filter(alliance=self.here.alliance)
            .select_related("led_by")
            .prefetch_related(
                Prefetch("syntheses", queryset=scope.rows(ReviewSynthesis.objects.all()))
            )
        )
        if self.action == "list":
            return rows
        # One review's parts, each through the scope: an interview another side keeps
        # internal, or an action item it made internal since, is not this side's to see.
        return rows.prefetch_related(
            Prefetch(
                "interviews",
                queryset=scope.rows(ReviewInterview.objects.select_related("author_organization")),
                to_attr="visible_interviews",
            ),
            Prefetch(
                "recommendations",
                queryset=scope.rows(ReviewRecommendation.objects.all()).prefetch_related(
                    Prefetch(
                        "action", queryset=scope.rows(ActionItem.objects.select_related("owner"))
                    )
                ),
                to_attr="visible_recommendations",
            ),
        )

    def get_serializer_class(self):
        return HealthReviewSerializer if self.action == "list" else HealthReviewDetailSerializer

    def form_kwargs(self, instance):
        return {}

    def save(self, form):
        review = review_services.review_save(review=form.instance, user=self.request.user)
        return self.get_queryset().get(pk=review.pk)

    def _detail(self, review, status=200):
        return Response(self.get_serializer(self.get_queryset().get(pk=review.pk)).data, status)

    def _bound(self, form_class, data, **kwargs):
        form = form_class(data=data, **kwargs)
        if not form.is_valid():
            raise exceptions.ValidationError(form_errors(form))
        return form

    @extend_schema(request=InterviewInput, responses={201: HealthReviewDetailSerializer})
    @action(detail=True, methods=["post"], url_path="interviews")
    def interviews(self, request, *args, **kwargs):
        """Add the notes of a stakeholder interview, kept by your side: `internal` notes are
        seen only by your organisation."""
        review = self.get_object()
        InterviewInput(data=request.data).is_valid(raise_exception=True)
        interview = ReviewInterview(
            alliance=self.here.alliance, review=review, author_organization=self.scope.organization
        )
        form = self._bound(
            InterviewForm,
            {**current_data(InterviewForm(instance=interview, here=self.here)), **request.data},
            instance=interview,
            here=self.here,
        )
        review_services.interview_save(interview=form.instance, user=request.user)
        return self._detail(review, 201)

    @extend_schema(request=ReviewSynthesisInput, responses=HealthReviewDetailSerializer)
    @action(detail=True, methods=["post"], url_path="synthesis")
    def synthesis(self, request, *args, **kwargs):
        """Read or rate corners: each corner's strengths, concerns and rating (green, yellow
        or red). A corner read before keeps what is not sent; errors are keyed by the
        corner's position in the list."""
        review = self.get_object()
        ReviewSynthesisInput(data=request.data).is_valid(raise_exception=True)
        stored = {
            s.corner: s for s in self.scope.rows(ReviewSynthesis.objects.filter(review=review))
        }
        forms_, errors = [], {}
        for index, item in enumerate(request.data["corners"]):
            fields = {name: value for name, value in item.items() if name != "corner"}
            instance = stored.get(item["corner"]) or ReviewSynthesis(
                review=review, corner=item["corner"]
            )
            data = {**current_data(SynthesisForm(instance=instance)), **fields}
            form = SynthesisForm(data=data, instance=instance)
            if not form.is_valid():
                errors[str(index)] = form_errors(form)
            forms_.append(form)
        corners = [item["corner"] for item in request.data["corners"]]
        for index, corner in enumerate(corners):
            if corners.index(corner) != index:
                errors[str(index)] = {"corner": ["This corner is already in the list."]}
        if errors:
            raise exceptions.ValidationError({"corners": errors})
        review_services.synthesis_save(
            review=review, syntheses=[form.instance for form in forms_ if not form.is_blank]
        )
        return self._detail(review)

    @extend_schema(request=RecommendationInput, responses={201: HealthReviewDetailSerializer})
    @action(detail=True, methods=["post"], url_path="recommendations")
    def recommendations(self, request, *args, **kwargs):
        """Recommend an action: it becomes a shared action item (source: health review)
        owned by a contact of your side."""
        review = self.get_object()
        RecommendationInput(data=request.data).is_valid(raise_exception=True)
        form = self._bound(RecommendationForm, request.data, here=self.here)
        review_services.recommendation_add(
            review=review,
            organization=self.scope.organization,
            user=request.user,
            **form.cleaned_data,
        )
        return self._detail(review, 201)

    @extend_schema(request=None, responses=HealthReviewDetailSerializer)
    @action(detail=True, methods=["post"], url_path="complete")
    def complete(self, request, *args, **kwargs):
        """Complete the review once all four corners are rated: its ratings then stand beside
        the pulse lights."""
        review = self.get_object()
        review_services.review_complete(review=review)
        return self._detail(review)


urlpatterns = [
    *routes(f"{ALLIANCE}/kpis", KpiViewSet, "kpi"),
    *routes(f"{ALLIANCE}/kpi-values", KpiValueViewSet, "kpi-value"),
    *routes(f"{ALLIANCE}/health-reviews", HealthReviewViewSet, "health-review"),
]
