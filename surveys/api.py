"""Pulse surveys under /api/v1/: an alliance's survey schedule, and its rounds with their
response rates (and an off-cycle round, opened as the page opens one).

Like the managers' pages (``surveys/views/manage.py``), nothing here says who was invited to
a round or who answered it, and no answer or comment ever leaves: a round is counts only.
Scores, under the anonymity rules, are the scorecards' resources (``scorecards/api.py``).
"""

from django.db import models, transaction
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from alliances.api.base import (
    ALLIANCE,
    AllianceScopedViewSet,
    ReadMixin,
    StrictSerializer,
    form_errors,
    form_input,
    routes,
)
from alliances.api.conventions import idempotent
from alliances.models import Side

from . import selectors, services
from .manage_forms import NO_REMINDERS, OffCycleRoundForm, SurveySettingsForm, reminder_text
from .models import Cadence, SurveyRound, SurveySettings

# --- the schedule ---------------------------------------------------------------------------


class ScheduleSerializer(serializers.Serializer):
    cadence = serializers.ChoiceField(choices=Cadence.choices)
    open_day = serializers.IntegerField(help_text="Day of the period's first month (1–28).")
    window_days = serializers.IntegerField(help_text="How many days a round stays open.")
    reminder_days = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Days after opening on which those who have not answered are reminded.",
    )


class OwnScheduleSerializer(serializers.Serializer):
    """What the alliance sets itself; ``null`` follows the lead organisation's default."""

    cadence = serializers.ChoiceField(choices=Cadence.choices, allow_null=True)
    open_day = serializers.IntegerField(allow_null=True)
    window_days = serializers.IntegerField(allow_null=True)
    reminder_days = serializers.ListField(child=serializers.IntegerField(), allow_null=True)


class NextRoundSerializer(serializers.Serializer):
    period_start = serializers.DateField()
    opens_at = serializers.DateTimeField()


class SurveySettingsSerializer(serializers.Serializer):
    effective = ScheduleSerializer(
        help_text="The schedule rounds follow: own values, else defaults."
    )
    own = OwnScheduleSerializer()
    defaults = ScheduleSerializer(
        allow_null=True,
        help_text="The lead organisation's defaults, which empty values follow; shown to "
        "those who may change the settings (as on the settings page), else null.",
    )
    follows_defaults = serializers.BooleanField(help_text="The alliance sets nothing of its own.")
    paused = serializers.BooleanField(help_text="No new rounds open while paused.")
    running = serializers.BooleanField(help_text="False once the alliance is archived or closed.")
    next_round = NextRoundSerializer(
        allow_null=True, help_text="The next scheduled round; null while paused or not running."
    )
    may_edit = serializers.BooleanField(help_text="Whether you may change these settings.")


def _schedule(schedule: services.Schedule) -> dict:
    return {
        "cadence": schedule.cadence,
        "open_day": schedule.open_day,
        "window_days": schedule.window_days,
        "reminder_days": list(schedule.reminder_days),
    }


class SurveySettingsInput(StrictSerializer):
    """The fields of the page's form, as JSON: ``null`` (or ``""`` for the cadence) follows
    the lead organisation's default; ``reminder_days: []`` means no reminders."""

    cadence = serializers.ChoiceField(
        choices=Cadence.choices, allow_blank=True, allow_null=True, required=False
    )
    open_day = serializers.IntegerField(min_value=1, max_value=28, allow_null=True, required=False)
    window_days = serializers.IntegerField(
        min_value=2, max_value=28, allow_null=True, required=False
    )
    reminder_days = serializers.ListField(
        child=serializers.IntegerField(), allow_null=True, required=False
    )
    paused = serializers.BooleanField(required=False)


def _own(own: SurveySettings | None) -> dict:
    return {
        "cadence": (own.cadence or None) if own else None,
        "open_day": own.open_day if own else None,
        "window_days": own.window_days if own else None,
        "reminder_days": own.reminder_days if own else None,
    }


def _form_value(name: str, value):
    """A JSON value as the page's form would receive it."""
    if name == "reminder_days":
        if value is None:
            return ""
        return reminder_text(value) or NO_REMINDERS
    if name == "paused":
        return "on" if value else ""
    return "" if value is None else value


class SurveySettingsViewSet(AllianceScopedViewSet):
    """The alliance's survey schedule: how often rounds open, for how long, with which
    reminders, and whether surveys are paused. Both sides read it; the lead's managers
    (or both sides', if the lead allows it) change it."""

    model = SurveySettings
    serializer_class = SurveySettingsSerializer
    input_serializer = SurveySettingsInput
    write_rule = "settings"
    pagination_class = None
    filter_backends = []

    def _body(self) -> dict:
        alliance = self.here.alliance
        own = services.alliance_settings(alliance)
        running = not (alliance.is_archived or alliance.is_closed)
        paused = bool(own and own.paused)
        may_edit = self.here.can_edit_settings and not alliance.is_archived
        next_round = None
        if running and not paused:
            period_start, opens_at = services.next_scheduled_round(alliance, now=timezone.now())
            next_round = {"period_start": period_start, "opens_at": opens_at}
        return {
            "effective": _schedule(services.alliance_schedule(alliance)),
            "own": _own(own),
            "defaults": _schedule(services.organization_schedule(alliance.lead_organization))
            if may_edit
            else None,
            "follows_defaults": own is None
            or not (
                own.cadence or own.open_day or own.window_days or own.reminder_days is not None
            ),
            "paused": paused,
            "running": running,
            "next_round": next_round,
            "may_edit": may_edit,
        }

    def retrieve(self, request, *args, **kwargs):
        """The alliance's schedule as rounds follow it, what it sets itself, and the
        defaults it falls back to."""
        return Response(self.get_serializer(self._body()).data)

    @extend_schema(request=SurveySettingsInput, responses={200: SurveySettingsSerializer})
    def partial_update(self, request, *args, **kwargs):
        """Change some of the schedule. What is not sent stays as it is; ``null`` follows the
        lead organisation's default again."""
        SurveySettingsInput(data=request.data, partial=True).is_valid(raise_exception=True)
        alliance = self.here.alliance
        own = services.alliance_settings(alliance)
        current = {**_own(own), "paused": bool(own and own.paused)}
        data = {
            name: _form_value(name, request.data.get(name, value))
            for name, value in current.items()
        }
        defaults = services.organization_schedule(alliance.lead_organization)
        form = SurveySettingsForm(data=data, defaults=defaults)
        if not form.is_valid():
            raise exceptions.ValidationError(form_errors(form))
        with transaction.atomic():
            services.survey_settings_save(alliance=alliance, user=request.user, **form.cleaned_data)
        alliance.refresh_from_db()  # the cached survey settings
        return Response(self.get_serializer(self._body()).data)


# --- rounds ---------------------------------------------------------------------------------


class RoundStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Not open yet"
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class SideRateSerializer(serializers.Serializer):
    side = serializers.ChoiceField(choices=Side.choices)
    name = serializers.CharField(help_text="The organisation on that side.")
    invited = serializers.IntegerField()
    responded = serializers.IntegerField()
    response_rate = serializers.IntegerField(
        allow_null=True, help_text="Percent, rounded; null when nobody was invited."
    )


class SurveyRoundSerializer(serializers.ModelSerializer):
    label = serializers.CharField(read_only=True, help_text="The period in words.")
    status = serializers.SerializerMethodField()
    invited = serializers.IntegerField(read_only=True, help_text="People invited.")
    responded = serializers.IntegerField(read_only=True, help_text="Responses received.")
    response_rate = serializers.SerializerMethodField()
    meets_benchmark = serializers.SerializerMethodField()
    by_side = serializers.SerializerMethodField()

    class Meta:
        model = SurveyRound
        fields = [
            "id",
            "label",
            "kind",
            "period_start",
            "period_end",
            "stage",
            "opens_at",
            "closes_at",
            "closed_at",
            "status",
            "reason",
            "invited",
            "responded",
            "response_rate",
            "meets_benchmark",
            "by_side",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=RoundStatus.choices))
    def get_status(self, survey_round) -> str:
        """Open while people can answer; closed once its window has ended (its scores follow
        when the closing job has run)."""
        now = timezone.now()
        if survey_round.closed_at is None and survey_round.opens_at > now:
            return RoundStatus.SCHEDULED
        return RoundStatus.OPEN if survey_round.is_open(now) else RoundStatus.CLOSED

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_response_rate(self, survey_round) -> int | None:
        """Percent, rounded; null when nobody was invited."""
        return selectors.rate(survey_round.responded, survey_round.invited)

    def get_meets_benchmark(self, survey_round) -> bool:
        rate = selectors.rate(survey_round.responded, survey_round.invited)
        return rate is not None and rate >= selectors.BENCHMARK_RATE

    @extend_schema_field(SideRateSerializer(many=True))
    def get_by_side(self, survey_round):
        alliance = self.context["here"].alliance
        return [
            {
                "side": side,
                "name": alliance.party_name(side),
                "invited": getattr(survey_round, f"invited_{side}"),
                "responded": getattr(survey_round, f"responded_{side}"),
                "response_rate": selectors.rate(
                    getattr(survey_round, f"responded_{side}"),
                    getattr(survey_round, f"invited_{side}"),
                ),
            }
            for side in Side.values
        ]


OffCycleRoundInput = form_input(OffCycleRoundForm, name="OffCycleRoundInput")


class SurveyRoundViewSet(ReadMixin, AllianceScopedViewSet):
    """The alliance's pulse rounds, newest first: when each opens and closes, and how many
    of each side were invited and answered (80% is the benchmark). Never who, and never an
    answer: a round's scores are under ``scores/``. Either side reads them; the managers who
    may change the alliance's settings open an off-cycle round after a major event."""

    model = SurveyRound
    serializer_class = SurveyRoundSerializer
    input_serializer = OffCycleRoundInput
    write_rule = "settings"
    filterset_fields = {
        "kind": ["exact"],
        "stage": ["exact"],
        "period_start": ["gte", "lte"],
        "opens_at": ["gte", "lte"],
        "closed_at": ["isnull"],
    }
    ordering_fields = ["opens_at", "period_start", "closes_at", "id"]
    ordering = ["-opens_at", "-id"]

    def rows(self):
        return selectors.with_counts(SurveyRound.objects.filter(alliance=self.here.alliance))

    @extend_schema(request=OffCycleRoundInput, responses={201: SurveyRoundSerializer})
    @idempotent
    def create(self, request, *args, **kwargs):
        """Open an off-cycle round now, for the usual window, with a reason respondents see
        (e.g. after a reorganisation). Refused while a round is open."""
        OffCycleRoundInput(data=request.data).is_valid(raise_exception=True)
        form = OffCycleRoundForm(data=request.data)
        if not form.is_valid():
            raise exceptions.ValidationError(form_errors(form))
        with transaction.atomic():
            survey_round = services.round_open_off_cycle(
                alliance=self.here.alliance,
                user=request.user,
                reason=form.cleaned_data["reason"],
                now=timezone.now(),
            )
        survey_round = self.get_queryset().get(pk=survey_round.pk)
        return Response(self.get_serializer(survey_round).data, status=201)


urlpatterns = [
    path(
        f"{ALLIANCE}/survey-settings/",
        SurveySettingsViewSet.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="api-survey-settings-detail",
    ),
    *routes(f"{ALLIANCE}/rounds", SurveyRoundViewSet, "survey-round"),
]
