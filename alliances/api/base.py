"""The API's one tenancy choke point, and its writes through the pages' own forms.

``ScopedViewSet`` resolves the caller's scope from the URL's organisation exactly as the
pages do (``alliances.tenancy``), narrowed to the token's organisation when a token is used,
and serves rows only through ``scope.rows`` (PostHog's rule: a view cannot override
``get_queryset``; it says which rows it wants in ``rows()`` and the scope is applied here).
``AllianceScopedViewSet`` also resolves the URL's alliance within that scope.

Writes validate with the same Django form the page uses (``FormWriteMixin``): the JSON body
is laid over the record's current values and bound to the form, so choices limited to the
alliance's contacts, the partner's read-only visibility and every clean method apply alike;
then the same service saves it. The request schema is derived from the form's fields.
"""

from django import forms
from django.db import transaction
from django.urls import path
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from ..models import Alliance, ApiToken, SideOwned
from ..tenancy import ALLIANCE_RELATED, AllianceScope, memberships_of, scope_for
from .conventions import idempotent
from .filters import FilterBackend

# Which check an unsafe request must pass, named as in alliances.tenancy.
RULES = {
    "edit": lambda view: view.scope.require_edit(),
    "admin": lambda view: view.scope.require_admin(),
    "shared": lambda view: view.here.require_shared(),
    "settings": lambda view: view.here.require_settings(),
    "lead": lambda view: view.here.require_lead(),
}


def api_memberships(request) -> list:
    """The caller's memberships; with a token, only the token's organisation."""
    memberships = memberships_of(request.user)
    token = request.auth
    if isinstance(token, ApiToken):
        memberships = [m for m in memberships if m.organization_id == token.organization_id]
    return memberships


class ScopedViewSet(viewsets.GenericViewSet):
    """Rows of the organisation named in the URL, as its member (or token) may see them."""

    model = None
    write_rule = "edit"  # or a dict: {action name: rule}, with "default"
    filter_backends = [FilterBackend, OrderingFilter]
    ordering_fields = ["id"]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(
                f"{cls.__name__} overrides get_queryset. Say which rows it serves in rows(); "
                "the scope is applied in ScopedViewSet.get_queryset, and only there."
            )

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication, permission, throttling
        self.resolve_scope(request, **kwargs)
        if (self.lookup_url_kwarg or self.lookup_field) in kwargs:
            # Someone else's object is a 404 before anything else is said about the request
            # (a 403 for the role, a 405 for the method).
            self.get_object()
        if request.method not in SAFE_METHODS:
            rule = self.write_rule
            if isinstance(rule, dict):
                rule = rule.get(self.action, rule.get("default"))
            if rule is None:
                raise exceptions.MethodNotAllowed(request.method)
            RULES[rule](self)

    def resolve_scope(self, request, *, org, **kwargs):
        self.scope = scope_for(request.user, org, api_memberships(request))

    def rows(self):
        return self.model.objects.all()

    def get_object(self):
        if not hasattr(self, "_object"):
            try:
                self._object = super().get_object()
            except OverflowError as error:  # an id beyond any integer column
                raise exceptions.NotFound() from error
        return self._object

    def get_queryset(self):
        if not hasattr(self, "scope"):
            # No scope resolved: the schema generator, or the browsable renderer drawing an
            # error that came before the scope (a 401, a 404). Fail closed: no rows.
            return self.model.objects.none()
        return self.scope.rows(self.rows())


class AllianceScopedViewSet(ScopedViewSet):
    """Rows of one alliance that the organisation in the URL is a party to."""

    write_rule = "shared"

    def resolve_scope(self, request, *, org, alliance, **kwargs):
        super().resolve_scope(request, org=org)
        alliance = self.scope.get(Alliance.objects.select_related(*ALLIANCE_RELATED), pk=alliance)
        self.here = AllianceScope(self.scope, alliance)

    def rows(self):
        return self.model.objects.filter(alliance=self.here.alliance)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "here": getattr(self, "here", None)}


# --- writes through the pages' forms --------------------------------------------------------


# Ids are positive 64-bit integers; anything else is a 400, before a database sees it.
ID_RANGE = {"min_value": 1, "max_value": 2**63 - 1}


def _api_field(name: str, field: forms.Field, *, required: bool) -> serializers.Field:
    """The JSON type of a form field: what the schema documents and what is type-checked
    before the form sees the value."""
    common = {"required": required, "help_text": str(field.help_text or "") or None}
    nullable = not field.required
    if isinstance(field, forms.ModelMultipleChoiceField):
        return serializers.ListField(child=serializers.IntegerField(**ID_RANGE), **common)
    if isinstance(field, forms.ModelChoiceField):
        return serializers.IntegerField(allow_null=nullable, **ID_RANGE, **common)
    if isinstance(field, forms.MultipleChoiceField):
        return serializers.MultipleChoiceField(choices=field.choices, **common)
    if isinstance(field, forms.ChoiceField) and not list(field.choices):  # set per request
        if getattr(field, "coerce", None) is int:
            return serializers.IntegerField(allow_null=nullable, **common)
        return serializers.CharField(allow_null=nullable, allow_blank=nullable, **common)
    if isinstance(field, forms.ChoiceField):
        choices = [(value, label) for value, label in field.choices if value not in ("", None)]
        return serializers.ChoiceField(
            choices=choices, allow_blank=nullable, allow_null=nullable, **common
        )
    if isinstance(field, forms.BooleanField):
        return serializers.BooleanField(**common)
    if isinstance(field, forms.IntegerField):
        return serializers.IntegerField(
            min_value=field.min_value, max_value=field.max_value, allow_null=nullable, **common
        )
    if isinstance(field, forms.DecimalField | forms.FloatField):
        return serializers.FloatField(allow_null=nullable, **common)
    if isinstance(field, forms.DateTimeField):
        return serializers.DateTimeField(allow_null=nullable, **common)
    if isinstance(field, forms.DateField):
        return serializers.DateField(allow_null=nullable, **common)
    if isinstance(field, forms.TimeField):
        return serializers.TimeField(allow_null=nullable, **common)
    text = {"max_length": getattr(field, "max_length", None), "allow_blank": nullable}
    if isinstance(field, forms.EmailField):
        return serializers.EmailField(allow_null=nullable, **text, **common)
    return serializers.CharField(allow_null=nullable, trim_whitespace=False, **text, **common)


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know: a typo must not be silently dropped."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise exceptions.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


def form_input(
    form_class, *, name: str | None = None, exclude=(), fields: dict | None = None
) -> type[StrictSerializer]:
    """A serializer with the form's fields as JSON types, for the schema and type checks.
    A field is required only when the form requires it and the model gives no default.
    ``fields`` adds fields, or replaces those the form only settles when it is built."""
    model = getattr(getattr(form_class, "_meta", None), "model", None)
    derived = {}
    for field_name, field in form_class.base_fields.items():
        if field_name in exclude or field.disabled:
            continue
        has_default = False
        if model is not None:
            try:
                has_default = model._meta.get_field(field_name).has_default()
            except Exception:  # a form-only field
                has_default = False
        derived[field_name] = _api_field(
            field_name, field, required=field.required and not has_default
        )
    name = name or form_class.__name__.removesuffix("Form") + "Input"
    return type(name, (StrictSerializer,), {**derived, **(fields or {})})


def form_errors(form: forms.Form) -> dict:
    return {
        ("non_field_errors" if field == "__all__" else field): [e["message"] for e in errors]
        for field, errors in form.errors.get_json_data().items()
    }


def current_data(form: forms.Form) -> dict:
    """An unbound form's values as the data a browser would post back unchanged."""
    return {name: form[name].value() for name, field in form.fields.items() if not field.disabled}


class FormWriteMixin:
    """Create (POST) and update (PATCH) through the page's form and service.

    A view sets ``form_class`` and may override ``form_kwargs``, ``new_instance`` and
    ``save``; ``serializer_class`` renders the saved record."""

    form_class = None
    input_serializer = None  # derived from form_class when not given

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.form_class is not None and "input_serializer" not in cls.__dict__:
            cls.input_serializer = form_input(cls.form_class)

    def form_kwargs(self, instance) -> dict:
        return {"here": self.here}

    def new_instance(self):
        instance = self.model(alliance=self.here.alliance)
        if isinstance(instance, SideOwned):
            instance.author_organization = self.scope.organization
        return instance

    def save(self, form):
        return form.save()

    def bound_form(self, instance, payload: dict):
        partial = instance.pk is not None  # PATCH: what is not sent stays as it is
        self.input_serializer(data=payload, partial=partial).is_valid(raise_exception=True)
        kwargs = self.form_kwargs(instance)
        if issubclass(self.form_class, forms.ModelForm):
            kwargs["instance"] = instance
        data = {**current_data(self.form_class(**kwargs)), **payload}
        form = self.form_class(data=data, **kwargs)
        errors = {} if form.is_valid() else form_errors(form)
        for name in payload:
            if name not in form.fields:
                errors[name] = ["Not accepted here."]
            elif form.fields[name].disabled:
                errors[name] = ["You cannot change this field here."]
        if errors:
            raise exceptions.ValidationError(errors)
        return form

    def write(self, instance, *, created: bool) -> Response:
        form = self.bound_form(instance, self.request.data)
        with transaction.atomic():
            saved = self.save(form)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(self.get_serializer(saved).data, status=code)

    @idempotent
    def create(self, request, *args, **kwargs):
        return self.write(self.new_instance(), created=True)

    def partial_update(self, request, *args, **kwargs):
        return self.write(self.get_object(), created=False)


class ReadMixin(mixins.ListModelMixin, mixins.RetrieveModelMixin):
    pass


# --- routes ---------------------------------------------------------------------------------

ORG = "organizations/<slug:org>"
ALLIANCE = f"{ORG}/alliances/<int:alliance>"

LIST_ACTIONS = {"get": "list", "post": "create"}
DETAIL_ACTIONS = {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}


def routes(prefix: str, viewset, name: str) -> list:
    """``path()`` routes for a viewset (typed converters, which the tenant walker and the
    schema both read), named ``api-<name>-<list|detail|action>``."""

    def mapping(actions):
        return {method: action for method, action in actions.items() if hasattr(viewset, action)}

    found = []
    if actions := mapping(LIST_ACTIONS):
        found.append(path(f"{prefix}/", viewset.as_view(actions), name=f"api-{name}-list"))
    if actions := mapping(DETAIL_ACTIONS):
        found.append(
            path(f"{prefix}/<int:pk>/", viewset.as_view(actions), name=f"api-{name}-detail")
        )
    for action in viewset.get_extra_actions():
        route = f"{prefix}/{'<int:pk>/' if action.detail else ''}{action.url_path}/"
        view = viewset.as_view(
            dict(action.mapping), detail=action.detail, basename=name, **action.kwargs
        )
        found.append(path(route, view, name=f"api-{name}-{action.url_name}"))
    return found
