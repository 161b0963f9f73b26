"""Organisations, alliances, contacts and the lifecycle, under /api/v1/."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import services
from ..forms import AllianceForm, ContactForm, LessonsForm, StageAdvanceForm, StageBackForm
from ..models import VALUE_THESIS_FIELDS, Alliance, Contact, Side, StageTransition
from ..tenancy import AllianceScope
from .base import (
    ALLIANCE,
    ORG,
    AllianceScopedViewSet,
    FormWriteMixin,
    ReadMixin,
    ScopedViewSet,
    StrictSerializer,
    api_memberships,
    form_errors,
    form_input,
    routes,
)
from .conventions import django_errors, idempotent

# --- organisations --------------------------------------------------------------------------


class OrganizationSerializer(serializers.Serializer):
    slug = serializers.SlugField(source="organization.slug", help_text="Used in every URL.")
    name = serializers.CharField(source="organization.name")
    role = serializers.CharField(help_text="Your role there: admin, manager or viewer.")


class OrganizationViewSet(viewsets.GenericViewSet):
    """The organisations you belong to (with a token: the token's organisation only)."""

    serializer_class = OrganizationSerializer
    pagination_class = None
    filter_backends = []

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.memberships = api_memberships(request)
        if "org" in kwargs:  # not yours is a 404 before any 405
            self.membership = next(
                (m for m in self.memberships if m.organization.slug == kwargs["org"]), None
            )
            if self.membership is None:
                raise exceptions.NotFound("No such organisation.")

    def list(self, request):
        return Response(self.get_serializer(self.memberships, many=True).data)

    def retrieve(self, request, org):
        return Response(self.get_serializer(self.membership).data)


# --- alliances ------------------------------------------------------------------------------


class PartySerializer(serializers.Serializer):
    name = serializers.CharField()
    joined = serializers.BooleanField(help_text="Whether the organisation is on Concord yet.")


ValueThesis = type(
    "ValueThesisSerializer",
    (serializers.Serializer,),
    {name: serializers.CharField() for name in VALUE_THESIS_FIELDS},
)


class AllianceSerializer(serializers.ModelSerializer):
    stage_label = serializers.CharField(source="get_stage_display", read_only=True)
    your_side = serializers.SerializerMethodField()
    lead = serializers.SerializerMethodField()
    partner = serializers.SerializerMethodField()
    archived = serializers.BooleanField(source="is_archived", read_only=True)
    value_thesis = serializers.SerializerMethodField()

    class Meta:
        model = Alliance
        fields = [
            "id",
            "name",
            "model",
            "stage",
            "stage_label",
            "outcome",
            "strategic_importance",
            "start_date",
            "renewal_date",
            "your_side",
            "lead",
            "partner",
            "partner_may_edit_settings",
            "archived",
            "value_thesis",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=Side.choices))
    def get_your_side(self, alliance) -> str:
        return alliance.side_of(self.context["view"].scope.organization)

    @extend_schema_field(PartySerializer)
    def get_lead(self, alliance):
        return {"name": alliance.lead_organization.name, "joined": True}

    @extend_schema_field(PartySerializer)
    def get_partner(self, alliance):
        return {
            "name": alliance.party_name(Side.PARTNER),
            "joined": alliance.partner_organization_id is not None,
        }

    @extend_schema_field(ValueThesis)
    def get_value_thesis(self, alliance):
        return {name: getattr(alliance, name) for name in VALUE_THESIS_FIELDS}


class AllianceViewSet(FormWriteMixin, ReadMixin, ScopedViewSet):
    """Alliances your organisation leads or is the partner in."""

    model = Alliance
    serializer_class = AllianceSerializer
    form_class = AllianceForm
    write_rule = "edit"  # editing an alliance also needs its settings rule: see partial_update
    filterset_fields = {
        "stage": ["exact"],
        "model": ["exact"],
        "strategic_importance": ["exact", "gte"],
        "name": ["icontains"],
        "archived_at": ["isnull"],
        "renewal_date": ["gte", "lte"],
    }
    ordering_fields = ["name", "stage", "strategic_importance", "renewal_date", "created_at", "id"]
    ordering = ["name"]

    def rows(self):
        return Alliance.objects.select_related("lead_organization", "partner_organization")

    def form_kwargs(self, instance):
        if instance.pk is None:
            return {"creating": True}
        return {"creating": False, "is_lead": self.here.is_lead}

    def new_instance(self):
        return Alliance(lead_organization=self.scope.organization)

    def save(self, form):
        fields = {k: v for k, v in form.cleaned_data.items() if k != "partner_email"}
        if form.instance.pk is None:
            return services.alliance_create(
                organization=self.scope.organization,
                user=self.request.user,
                partner_email=form.cleaned_data.get("partner_email", ""),
                **fields,
            )
        changed = {k: v for k, v in fields.items() if k in form.changed_data}
        return services.alliance_update(alliance=form.instance, **changed)

    def partial_update(self, request, *args, **kwargs):
        alliance = self.get_object()
        self.here = AllianceScope(self.scope, alliance)
        self.here.require_settings()
        return self.write(alliance, created=False)


# --- contacts -------------------------------------------------------------------------------


class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = [
            "id",
            "side",
            "name",
            "email",
            "function",
            "title",
            "is_active",
            "takes_pulse",
            "pulse_unsubscribed_at",
            "email_failed_at",
            "created_at",
        ]


BULK_LIMIT = 500

ContactInput = form_input(ContactForm, name="ContactInput")


class ContactBulkInput(StrictSerializer):
    contacts = serializers.ListField(
        child=ContactInput(),
        min_length=1,
        max_length=BULK_LIMIT,
        help_text=f"1 to {BULK_LIMIT} contacts of your side, all saved or none.",
    )


class ContactBulkResult(serializers.Serializer):
    created = ContactSerializer(many=True)


class ContactViewSet(FormWriteMixin, ReadMixin, AllianceScopedViewSet):
    """The people of both sides who take part in the alliance. You add and edit your side's."""

    model = Contact
    serializer_class = ContactSerializer
    form_class = ContactForm
    input_serializer = ContactInput
    filterset_fields = {
        "side": ["exact"],
        "function": ["exact"],
        "is_active": ["exact"],
        "takes_pulse": ["exact"],
        "email": ["iexact"],
    }
    ordering_fields = ["name", "email", "created_at", "id"]

    def form_kwargs(self, instance):
        return {}

    def new_instance(self):
        return Contact(alliance=self.here.alliance, side=self.here.side)

    def save(self, form):
        return services.contact_save(contact=form.instance)

    def partial_update(self, request, *args, **kwargs):
        contact = self.get_object()
        self.here.require_side(contact.side)
        return self.write(contact, created=False)

    @extend_schema(request=ContactBulkInput, responses={201: ContactBulkResult})
    @action(detail=False, methods=["post"], url_path="bulk")
    @idempotent
    def bulk(self, request, *args, **kwargs):
        """Create many contacts of your side at once: all of them, or none if any has an
        error (the errors are keyed by the contact's position in the list)."""
        payload = request.data
        if not isinstance(payload, dict) or not isinstance(payload.get("contacts"), list):
            raise exceptions.ValidationError({"contacts": ['Send {"contacts": [...]}.']})
        items = payload["contacts"]
        if not 1 <= len(items) <= BULK_LIMIT:
            raise exceptions.ValidationError(
                {"contacts": [f"Send from 1 to {BULK_LIMIT} contacts at a time."]}
            )
        created, errors = [], {}
        with transaction.atomic():
            for index, item in enumerate(items):
                try:
                    form = self.bound_form(self.new_instance(), item)
                    with transaction.atomic():
                        created.append(self.save(form))
                except exceptions.ValidationError as error:
                    errors[str(index)] = error.detail
                except ValidationError as error:
                    errors[str(index)] = django_errors(error)
            if errors:
                raise exceptions.ValidationError({"contacts": errors})
        return Response({"created": ContactSerializer(created, many=True).data}, status=201)


# --- the lifecycle --------------------------------------------------------------------------


class TransitionSerializer(serializers.ModelSerializer):
    to_stage_label = serializers.CharField(source="get_to_stage_display", read_only=True)
    by_organization = serializers.CharField(source="by_organization.name", default=None)

    class Meta:
        model = StageTransition
        fields = [
            "id",
            "from_stage",
            "to_stage",
            "to_stage_label",
            "outcome",
            "note",
            "override_reason",
            "checklist",
            "by_organization",
            "at",
        ]


AdvanceInput = form_input(
    StageAdvanceForm,
    name="StageAdvanceInput",
    fields={
        "lessons": form_input(LessonsForm, name="LessonsLearnedInput")(
            required=False,
            help_text="Required when the outcome is `exited`: what the alliance taught.",
        )
    },
)
BackInput = form_input(StageBackForm, name="StageBackInput")


class TransitionViewSet(ReadMixin, AllianceScopedViewSet):
    """The alliance's moves through the lifecycle, newest first; moving it forward or back
    follows the gate checklist and needs the settings right (the lead's, unless shared)."""

    model = StageTransition
    serializer_class = TransitionSerializer
    write_rule = "settings"
    filterset_fields = {"to_stage": ["exact"], "at": ["gte", "lte"]}
    ordering_fields = ["at", "id"]
    ordering = ["-at", "-id"]

    def rows(self):
        return StageTransition.objects.filter(alliance=self.here.alliance).select_related(
            "by_organization"
        )

    def _bound(self, form_class, data, **kwargs):
        form = form_class(data=data, **kwargs)
        if not form.is_valid():
            raise exceptions.ValidationError(form_errors(form))
        return form

    @extend_schema(request=AdvanceInput, responses={201: TransitionSerializer})
    @action(detail=False, methods=["post"], url_path="advance")
    def advance(self, request, *args, **kwargs):
        """Move to the next stage (or, from renewal/exit, out with an outcome)."""
        AdvanceInput(data=request.data).is_valid(raise_exception=True)
        form = self._bound(StageAdvanceForm, request.data)
        lessons = None
        if form.cleaned_data["outcome"] == "exited":
            lessons = self._bound(LessonsForm, request.data.get("lessons") or {}).instance
        with transaction.atomic():
            transition = services.stage_advance(
                alliance=self.here.alliance,
                user=request.user,
                organization=self.scope.organization,
                note=form.cleaned_data["note"],
                override_reason=form.cleaned_data["override_reason"],
                outcome=form.cleaned_data["outcome"],
                lessons=lessons,
            )
        return Response(TransitionSerializer(transition).data, status=201)

    @extend_schema(request=BackInput, responses={201: TransitionSerializer})
    @action(detail=False, methods=["post"], url_path="back")
    def back(self, request, *args, **kwargs):
        """Move back to an earlier stage, with a reason."""
        BackInput(data=request.data).is_valid(raise_exception=True)
        form = self._bound(StageBackForm, request.data, current_stage=self.here.alliance.stage)
        with transaction.atomic():
            transition = services.stage_back(
                alliance=self.here.alliance,
                user=request.user,
                organization=self.scope.organization,
                to_stage=form.cleaned_data["to_stage"],
                reason=form.cleaned_data["reason"],
            )
        return Response(TransitionSerializer(transition).data, status=201)


urlpatterns = [
    path(
        "organizations/",
        OrganizationViewSet.as_view({"get": "list"}),
        name="api-organization-list",
    ),
    path(
        f"{ORG}/",
        OrganizationViewSet.as_view({"get": "retrieve"}),
        name="api-organization-detail",
    ),
    *routes(f"{ORG}/alliances", AllianceViewSet, "alliance"),
    *routes(f"{ALLIANCE}/contacts", ContactViewSet, "contact"),
    *routes(f"{ALLIANCE}/transitions", TransitionViewSet, "transition"),
]
