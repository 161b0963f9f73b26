"""Governance under /api/v1/: bodies and meetings, the decision-rights matrix, the decision
log, escalations, action items and risks.

Each resource mirrors its page (``governance/views/``): the same form, the same service and
the same check (``require_shared``: any editor of either side, while the alliance is not
archived). Rows come through the scope only, so the other side's internal actions and risks
never appear; a related id in a filter is a plain number, so another tenant's id answers
exactly like one that does not exist.
"""

from django import forms
from django.db import transaction
from django.db.models import F, Prefetch
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from alliances.api.base import (
    ALLIANCE,
    AllianceScopedViewSet,
    FormWriteMixin,
    ReadMixin,
    form_errors,
    form_input,
    routes,
)
from alliances.api.filters import FilterSet
from alliances.models import Contact, Side

from . import services
from .models import (
    ActionItem,
    ActionStatus,
    Cadence,
    Decision,
    DecisionRight,
    Escalation,
    EscalationMove,
    GovernanceBody,
    Meeting,
    Risk,
)
from .operating_forms import (
    BodyForm,
    DecisionForm,
    DecisionRightForm,
    DecisionsTakenFormSet,
    DecisionTakenForm,
    MeetingForm,
)
from .operating_forms import _cadence_help as cadence_help
from .records_forms import ActionForm, EscalationRaiseForm, EscalationResolveForm, RiskForm

# Records the pages add but never edit: no PATCH (and so none in the schema).
NO_PATCH = ["get", "post", "head", "options"]


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(filters.NumberFilter):
    field_class = forms.IntegerField


def filterset(model, fields: dict, *, ids=()) -> type[FilterSet]:
    """A filterset of ``fields``; each related row named in ``ids`` is filtered by its id
    as a plain number, never looked up, so an id of another tenant's row does not answer
    differently from an id that does not exist."""
    declared = {name: IdFilter(field_name=f"{name}_id") for name in ids}
    meta = type("Meta", (), {"model": model, "fields": fields})
    return type(f"{model.__name__}Filter", (FilterSet,), {**declared, "Meta": meta})


@extend_schema_field(serializers.ChoiceField(choices=Side.choices))
class AuthorSideField(serializers.Field):
    """Which side wrote an action or risk (and so decides who sees it)."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, record):
        lead_id = self.context["here"].alliance.lead_organization_id
        return Side.LEAD if record.author_organization_id == lead_id else Side.PARTNER


# --- bodies ---------------------------------------------------------------------------------


class BodySerializer(serializers.ModelSerializer):
    members = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="Contact ids; the chair is always one of them."
    )

    class Meta:
        model = GovernanceBody
        fields = ["id", "name", "tier", "cadence", "purpose", "chair", "members", "created_at"]


# The form makes ``cadence`` optional when it is built (blank: the tier's default).
BodyInput = form_input(
    BodyForm,
    name="BodyInput",
    fields={
        "cadence": serializers.ChoiceField(
            choices=Cadence.choices, required=False, allow_blank=True, help_text=cadence_help()
        )
    },
)


class BodyViewSet(FormWriteMixin, ReadMixin, AllianceScopedViewSet):
    """The alliance's governance bodies (steering committee, councils, working teams), with
    their chair and members. Either side's editors add and change them."""

    model = GovernanceBody
    serializer_class = BodySerializer
    form_class = BodyForm
    input_serializer = BodyInput
    filterset_fields = {"tier": ["exact"], "name": ["icontains"]}
    ordering_fields = ["tier", "name", "created_at", "id"]
    ordering = ["tier", "name"]

    def rows(self):
        return (
            super().rows().prefetch_related(Prefetch("members", queryset=self.scope.rows(Contact)))
        )

    def form_kwargs(self, instance):
        return {
            "contacts": self.scope.rows(Contact.objects.filter(alliance=self.here.alliance)),
            "party_name": self.here.alliance.party_name,
        }

    def save(self, form):
        return services.body_save(
            body=form.instance,
            members=form.cleaned_data["members"],
            chair=form.cleaned_data["chair"],
        )


# --- meetings -------------------------------------------------------------------------------


class MeetingSerializer(serializers.ModelSerializer):
    attendees = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="Contact ids of who came."
    )
    decisions = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="Ids of the decisions taken in the meeting."
    )

    class Meta:
        model = Meeting
        fields = [
            "id",
            "body",
            "held_on",
            "starts_at",
            "duration_minutes",
            "agenda",
            "notes",
            "attendees",
            "decisions",
            "created_at",
        ]


MeetingFormInput = form_input(MeetingForm, name="MeetingFormInput")
DecisionTakenInput = form_input(DecisionTakenForm, name="DecisionTakenInput")
MAX_DECISIONS_TAKEN = DecisionsTakenFormSet.max_num

MeetingChangeInput = type(
    "MeetingChangeInput",
    (MeetingFormInput,),
    {
        "decisions": serializers.ListField(
            child=DecisionTakenInput(),
            required=False,
            max_length=MAX_DECISIONS_TAKEN,
            help_text="Decisions taken in the meeting, added to the log with it (forum: the "
            "body; date: the meeting's).",
        ),
    },
)
MeetingInput = type(
    "MeetingInput",
    (MeetingChangeInput,),
    {"body": serializers.IntegerField(help_text="The body that met; it cannot change later.")},
)


@extend_schema_view(
    create=extend_schema(request=MeetingInput, responses={201: MeetingSerializer}),
    partial_update=extend_schema(request=MeetingChangeInput, responses={200: MeetingSerializer}),
)
class MeetingViewSet(FormWriteMixin, ReadMixin, AllianceScopedViewSet):
    """Meetings of the alliance's bodies, newest first, with who came and what was decided.
    Attendees must be members of the body."""

    model = Meeting
    serializer_class = MeetingSerializer
    form_class = MeetingForm
    input_serializer = MeetingFormInput  # the form's part; the rest is read in write()
    filterset_class = filterset(Meeting, {"held_on": ["gte", "lte"]}, ids=["body"])
    ordering_fields = ["held_on", "created_at", "id"]
    ordering = ["-held_on", "-id"]

    def rows(self):
        return (
            super()
            .rows()
            .select_related("body")
            .prefetch_related(
                Prefetch("attendees", queryset=self.scope.rows(Contact)),
                Prefetch("decisions", queryset=self.scope.rows(Decision)),
            )
        )

    def form_kwargs(self, instance):
        return {
            "contacts": self.scope.rows(Contact.objects.filter(alliance=self.here.alliance)),
            "members": self.scope.rows(instance.body.members.all()),
            "party_name": self.here.alliance.party_name,
        }

    def _body(self, value) -> GovernanceBody:
        body = (
            self.scope.rows(GovernanceBody.objects.filter(alliance=self.here.alliance))
            .filter(pk=value)
            .first()
        )
        if body is None:
            raise exceptions.ValidationError({"body": ["Choose a body of this alliance."]})
        return body

    def _decisions_taken(self, rows: list) -> list[dict]:
        taken, errors = [], {}
        for index, row in enumerate(rows):
            form = DecisionTakenForm(data=row)
            if not form.is_valid():
                errors[str(index)] = form_errors(form)
            elif form.cleaned_data["decision"].strip():
                taken.append(form.cleaned_data)
        if errors:
            raise exceptions.ValidationError({"decisions": errors})
        return taken

    def write(self, meeting, *, created: bool) -> Response:
        payload = self.request.data
        given = MeetingInput if created else MeetingChangeInput
        given(data=payload, partial=not created).is_valid(raise_exception=True)
        if created:
            meeting.body = self._body(payload["body"])
            meeting.created_by = self.request.user
        taken = self._decisions_taken(payload.get("decisions", []))
        rest = {k: v for k, v in payload.items() if k not in ("body", "decisions")}
        form = self.bound_form(meeting, rest)
        with transaction.atomic():
            services.meeting_record(meeting=form.instance, attendees=form.cleaned_data["attendees"])
            for row in taken:
                services.decision_record(
                    decision=Decision(
                        alliance=self.here.alliance,
                        decision=row["decision"].strip(),
                        rationale=row["rationale"].strip(),
                        forum=meeting.body.name,
                        decided_on=meeting.held_on,
                        meeting=meeting,
                    ),
                    user=self.request.user,
                )
        saved = self.get_queryset().get(pk=meeting.pk)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(self.get_serializer(saved).data, status=code)


# --- decision rights ------------------------------------------------------------------------


class DecisionRightSerializer(serializers.ModelSerializer):
    class Meta:
        model = DecisionRight
        fields = [
            "id",
            "decision_type",
            "owner",
            "joint_approval",
            "forum",
            "sla_days",
            "escalation_rung",
            "position",
        ]


class SeedResult(serializers.Serializer):
    added = serializers.IntegerField(help_text="How many default rows were added.")


class DecisionRightViewSet(FormWriteMixin, ReadMixin, AllianceScopedViewSet):
    """The decision-rights matrix: who decides what, where, how jointly, and how long it
    may take before it escalates. Either side's editors change it; every change is kept
    in the alliance's governance history."""

    model = DecisionRight
    serializer_class = DecisionRightSerializer
    form_class = DecisionRightForm
    filterset_fields = {"joint_approval": ["exact"], "escalation_rung": ["exact"]}
    ordering_fields = ["position", "decision_type", "sla_days", "id"]
    ordering = ["position", "id"]

    def form_kwargs(self, instance):
        return {}

    def new_instance(self):
        position = self.get_queryset().count()
        return DecisionRight(alliance=self.here.alliance, position=position)

    def save(self, form):
        return services.decision_right_save(
            right=form.instance, user=self.request.user, organization=self.scope.organization
        )

    def destroy(self, request, *args, **kwargs):
        """Remove a row from the matrix (the removal is kept in the history)."""
        right = self.get_object()
        services.decision_right_delete(
            right=right, user=request.user, organization=self.scope.organization
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: SeedResult})
    @action(detail=False, methods=["post"], url_path="defaults")
    def defaults(self, request, *args, **kwargs):
        """Add the default matrix rows the alliance does not have yet; sending it again
        adds nothing."""
        added = services.decision_rights_seed(alliance=self.here.alliance)
        return Response({"added": added})


# --- decisions ------------------------------------------------------------------------------


class DecisionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Decision
        fields = [
            "id",
            "decision",
            "forum",
            "decided_on",
            "rationale",
            "meeting",
            "decision_right",
        ]


class DecisionViewSet(FormWriteMixin, ReadMixin, AllianceScopedViewSet):
    """The decision log, newest first. Decisions are logged, not edited."""

    model = Decision
    serializer_class = DecisionSerializer
    form_class = DecisionForm
    http_method_names = NO_PATCH
    filterset_class = filterset(
        Decision, {"decided_on": ["gte", "lte"]}, ids=["meeting", "decision_right"]
    )
    ordering_fields = ["decided_on", "id"]
    ordering = ["-decided_on", "-id"]

    def form_kwargs(self, instance):
        meetings = Meeting.objects.filter(alliance=self.here.alliance).select_related("body")
        rights = DecisionRight.objects.filter(alliance=self.here.alliance)
        return {"meetings": self.scope.rows(meetings), "rights": self.scope.rows(rights)}

    def save(self, form):
        return services.decision_record(decision=form.instance, user=self.request.user)


# --- escalations ----------------------------------------------------------------------------


class EscalationMoveSerializer(serializers.ModelSerializer):
    class Meta:
        model = EscalationMove
        fields = ["from_rung", "to_rung", "at", "reason"]


class EscalationSerializer(serializers.ModelSerializer):
    raised_by_organization = serializers.CharField(
        source="raised_by_organization.name", default=None, read_only=True
    )
    is_open = serializers.BooleanField(read_only=True)
    moves = EscalationMoveSerializer(
        many=True, read_only=True, help_text="Each move one rung up, when its SLA ran out."
    )

    class Meta:
        model = Escalation
        fields = [
            "id",
            "title",
            "description",
            "decision_right",
            "rung",
            "sla_days",
            "raised_at",
            "due_at",
            "raised_by_organization",
            "is_open",
            "resolved_at",
            "resolution",
            "moves",
        ]


ResolveInput = form_input(EscalationResolveForm, name="EscalationResolveInput")


class EscalationViewSet(FormWriteMixin, ReadMixin, AllianceScopedViewSet):
    """Conflicts raised up the escalation ladder, open ones first. Each has an SLA clock
    (from its decision right, else the default); an escalation not resolved in time moves
    one rung up. Raised and resolved here; never edited."""

    model = Escalation
    serializer_class = EscalationSerializer
    form_class = EscalationRaiseForm
    input_serializer = form_input(EscalationRaiseForm, name="EscalationRaiseInput")
    http_method_names = NO_PATCH
    filterset_fields = {
        "rung": ["exact"],
        "resolved_at": ["isnull"],
        "due_at": ["gte", "lte"],
        "raised_at": ["gte", "lte"],
    }
    ordering_fields = ["due_at", "raised_at", "resolved_at", "rung", "id"]
    ordering = [F("resolved_at").desc(nulls_first=True), "due_at", "id"]

    def rows(self):
        return (
            super()
            .rows()
            .select_related("raised_by_organization")
            .prefetch_related(
                Prefetch("moves", queryset=self.scope.rows(EscalationMove).order_by("at", "pk"))
            )
        )

    def save(self, form):
        return services.escalation_raise(
            escalation=form.instance,
            user=self.request.user,
            organization=self.scope.organization,
            now=timezone.now(),
        )

    @extend_schema(request=ResolveInput, responses={200: EscalationSerializer})
    @action(detail=True, methods=["post"], url_path="resolve", url_name="resolve")
    def resolve_escalation(self, request, *args, **kwargs):  # not ``resolve``: base.py's
        """Resolve an open escalation, saying how. An escalation already resolved stays as
        it was resolved: sending this again is a 400."""
        escalation = self.get_object()
        ResolveInput(data=request.data).is_valid(raise_exception=True)
        form = EscalationResolveForm(data=request.data)
        if not form.is_valid():
            raise exceptions.ValidationError(form_errors(form))
        services.escalation_resolve(
            escalation=escalation,
            resolution=form.cleaned_data["resolution"],
            user=request.user,
            organization=self.scope.organization,
        )
        return Response(self.get_serializer(self.get_object()).data)


# --- action items ---------------------------------------------------------------------------


class ActionSerializer(serializers.ModelSerializer):
    author_side = AuthorSideField()

    class Meta:
        model = ActionItem
        fields = [
            "id",
            "title",
            "details",
            "owner",
            "due_on",
            "status",
            "source",
            "meeting",
            "visibility",
            "author_side",
            "created_at",
            "completed_at",
        ]


class ActionViewSet(FormWriteMixin, ReadMixin, AllianceScopedViewSet):
    """Action items, soonest due first: both sides' shared ones and your side's internal
    ones. Only the side that wrote an action decides who sees it. A new action may not be
    due in the past unless ``confirm_past_due`` is true."""

    model = ActionItem
    serializer_class = ActionSerializer
    form_class = ActionForm
    filterset_class = filterset(
        ActionItem,
        {"status": ["exact", "in"], "due_on": ["gte", "lte"], "visibility": ["exact"]},
        ids=["owner"],
    )
    ordering_fields = ["due_on", "created_at", "status", "id"]
    ordering = ["due_on", "id"]

    def save(self, form):
        return services.action_save(
            action=form.instance,
            user=self.request.user,
            allow_past_due=form.cleaned_data.get("confirm_past_due", False),
        )

    @extend_schema(request=None, responses={200: ActionSerializer})
    @action(detail=True, methods=["post"], url_path="complete")
    def complete(self, request, *args, **kwargs):
        """Mark an action done (done already: nothing changes)."""
        item = self.get_object()
        if item.status != ActionStatus.DONE:
            item.status = ActionStatus.DONE
            services.action_save(action=item, user=request.user)
        return Response(self.get_serializer(item).data)


# --- risks ----------------------------------------------------------------------------------


class RiskSerializer(serializers.ModelSerializer):
    score = serializers.IntegerField(read_only=True, help_text="Likelihood × impact, 1 to 25.")
    author_side = AuthorSideField()

    class Meta:
        model = Risk
        fields = [
            "id",
            "title",
            "category",
            "likelihood",
            "impact",
            "score",
            "owner",
            "mitigation",
            "status",
            "visibility",
            "author_side",
            "created_at",
            "updated_at",
        ]


class RiskViewSet(FormWriteMixin, ReadMixin, AllianceScopedViewSet):
    """The risk register, highest score (likelihood × impact) first: both sides' shared
    risks and your side's internal ones. ``ordering=score_value`` sorts by the score."""

    model = Risk
    serializer_class = RiskSerializer
    form_class = RiskForm
    filterset_class = filterset(
        Risk,
        {"status": ["exact", "in"], "category": ["exact", "in"], "visibility": ["exact"]},
        ids=["owner"],
    )
    ordering_fields = ["score_value", "likelihood", "impact", "created_at", "updated_at", "id"]
    ordering = ["-score_value", "-impact", "id"]

    def rows(self):
        return super().rows().annotate(score_value=F("likelihood") * F("impact"))

    def save(self, form):
        return services.risk_save(
            risk=form.instance, user=self.request.user, organization=self.scope.organization
        )


urlpatterns = [
    *routes(f"{ALLIANCE}/bodies", BodyViewSet, "governance-body"),
    *routes(f"{ALLIANCE}/meetings", MeetingViewSet, "meeting"),
    *routes(f"{ALLIANCE}/decision-rights", DecisionRightViewSet, "decision-right"),
    *routes(f"{ALLIANCE}/decisions", DecisionViewSet, "decision"),
    *routes(f"{ALLIANCE}/escalations", EscalationViewSet, "escalation"),
    *routes(f"{ALLIANCE}/actions", ActionViewSet, "action"),
    *routes(f"{ALLIANCE}/risks", RiskViewSet, "risk"),
]
