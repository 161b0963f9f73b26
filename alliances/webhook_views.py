"""Webhook endpoints: the admins' settings page, and the same in the REST API.

Only an organisation's admins see or change its endpoints (an endpoint's secret signs
what Concord sends); another organisation's endpoint is a 404, as everywhere.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from . import webhooks
from .api.base import ORG, FormWriteMixin, ReadMixin, ScopedViewSet, form_input, routes
from .forms import apply_errors, posted
from .models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from .tenancy import tenant_view

LOG_SIZE = 50


class WebhookEndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="What Concord sends to this URL.",
        error_messages={"required": "Choose at least one event."},
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "events", "description"]
        labels = {"description": "What receives it"}
        help_texts = {
            "url": "Where Concord POSTs each event, e.g. https://example.com/hooks/concord.",
            "description": "Optional, e.g. “CRM alert sync”.",
        }

    def clean_url(self):
        url = self.cleaned_data["url"]
        problem = webhooks.url_problem(url)
        if problem:
            raise ValidationError(problem)
        return url


# --- pages ----------------------------------------------------------------------------------


def _endpoint_form(request, scope, instance=None):
    instance = instance or WebhookEndpoint(organization=scope.organization, created_by=request.user)
    return WebhookEndpointForm(posted(request), instance=instance)


def _save(form) -> bool:
    if not form.is_valid():
        return False
    try:
        webhooks.endpoint_save(endpoint=form.instance)
    except ValidationError as error:
        apply_errors(form, error)
        return False
    return True


@tenant_view
def webhook_list(request, scope):
    scope.require_admin()
    form = _endpoint_form(request, scope)
    if request.method == "POST" and _save(form):
        messages.success(request, "Webhook added. Send it a test event to check it works.")
        return redirect("webhook_detail", scope.organization.slug, form.instance.pk)
    return render(
        request,
        "alliances/webhooks/list.html",
        {"scope": scope, "endpoints": scope.rows(WebhookEndpoint), "form": form},
        status=400 if form.errors else 200,
    )


@tenant_view
def webhook_detail(request, scope, endpoint):
    endpoint = scope.get(WebhookEndpoint, pk=endpoint)
    scope.require_admin()
    form = _endpoint_form(request, scope, endpoint)
    if request.method == "POST" and _save(form):
        messages.success(request, "Webhook saved.")
        return redirect("webhook_detail", scope.organization.slug, endpoint.pk)
    deliveries = scope.rows(WebhookDelivery).filter(endpoint=endpoint)[:LOG_SIZE]
    response = render(
        request,
        "alliances/webhooks/detail.html",
        {"scope": scope, "endpoint": endpoint, "form": form, "deliveries": deliveries},
        status=400 if form.errors else 200,
    )
    response["Cache-Control"] = "no-store"  # the page shows the signing secret
    return response


@require_POST
@tenant_view
def webhook_ping(request, scope, endpoint):
    endpoint = scope.get(WebhookEndpoint, pk=endpoint)
    scope.require_admin()
    if endpoint.is_active:
        webhooks.endpoint_ping(endpoint=endpoint)
        messages.success(request, "Test event queued. Its result appears in the log below.")
    else:
        messages.error(request, "Enable the webhook before sending it a test event.")
    return redirect("webhook_detail", scope.organization.slug, endpoint.pk)


@require_POST
@tenant_view
def webhook_enable(request, scope, endpoint):
    endpoint = scope.get(WebhookEndpoint, pk=endpoint)
    scope.require_admin()
    webhooks.endpoint_enable(endpoint=endpoint)
    messages.success(request, "Webhook enabled again. Pending deliveries will resume.")
    return redirect("webhook_detail", scope.organization.slug, endpoint.pk)


@require_POST
@tenant_view
def webhook_delete(request, scope, endpoint):
    endpoint = scope.get(WebhookEndpoint, pk=endpoint)
    scope.require_admin()
    webhooks.endpoint_delete(endpoint=endpoint)
    messages.success(request, f"Webhook {endpoint.url} deleted, with its delivery log.")
    return redirect("webhooks", scope.organization.slug)


org_patterns = [
    path("settings/webhooks/", webhook_list, name="webhooks"),
    path("settings/webhooks/<int:endpoint>/", webhook_detail, name="webhook_detail"),
    path("settings/webhooks/<int:endpoint>/ping/", webhook_ping, name="webhook_ping"),
    path("settings/webhooks/<int:endpoint>/enable/", webhook_enable, name="webhook_enable"),
    path("settings/webhooks/<int:endpoint>/delete/", webhook_delete, name="webhook_delete"),
]


# --- the API --------------------------------------------------------------------------------


class WebhookEndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEvent.choices))
    active = serializers.BooleanField(source="is_active", read_only=True)
    created_by = serializers.EmailField(source="created_by.email", default=None, read_only=True)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "events",
            "description",
            "secret",
            "active",
            "disabled_at",
            "consecutive_failures",
            "created_by",
            "created_at",
        ]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "event_id",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
            "delivered_at",
            "payload",
        ]


WebhookEndpointInput = form_input(
    WebhookEndpointForm,
    name="WebhookEndpointInput",
    fields={
        "events": serializers.MultipleChoiceField(
            choices=WebhookEvent.choices, help_text="What Concord sends to this URL."
        )
    },
)


class WebhookEndpointViewSet(FormWriteMixin, ReadMixin, ScopedViewSet):
    """Your organisation's webhook endpoints (admins only): Concord POSTs the events each
    subscribes to, signed with its `secret` in the `Concord-Signature` header
    (`t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`). Failed deliveries
    are retried with backoff for about nine hours; an endpoint whose deliveries fail five
    times in a row is disabled and the admins are emailed."""

    model = WebhookEndpoint
    serializer_class = WebhookEndpointSerializer
    form_class = WebhookEndpointForm
    input_serializer = WebhookEndpointInput
    write_rule = "admin"
    filterset_fields = {"disabled_at": ["isnull"], "created_at": ["gte", "lte"]}
    ordering_fields = ["created_at", "url", "id"]
    ordering = ["-created_at", "-id"]

    def resolve_scope(self, request, *, org, pk=None, **kwargs):
        super().resolve_scope(request, org=org)
        if pk is not None:  # another tenant's id is a 404 before any role check
            self.scope.get(WebhookEndpoint, pk=pk)
        self.scope.require_admin()  # reads too: the secret is the admins' business

    def rows(self):
        return WebhookEndpoint.objects.select_related("created_by")

    def form_kwargs(self, instance):
        return {}

    def new_instance(self):
        return WebhookEndpoint(organization=self.scope.organization, created_by=self.request.user)

    def save(self, form):
        return webhooks.endpoint_save(endpoint=form.instance)

    @extend_schema(responses={204: None})
    def destroy(self, request, *args, **kwargs):
        """Delete the endpoint and its delivery log."""
        webhooks.endpoint_delete(endpoint=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: WebhookEndpointSerializer})
    @action(detail=True, methods=["post"], url_path="enable")
    def enable(self, request, *args, **kwargs):
        """Enable a disabled endpoint again; its pending deliveries resume."""
        endpoint = webhooks.endpoint_enable(endpoint=self.get_object())
        return Response(self.get_serializer(endpoint).data)

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"], url_path="ping")
    def ping(self, request, *args, **kwargs):
        """Send the endpoint a `ping` test event (tried once; see its deliveries)."""
        endpoint = self.get_object()
        if not endpoint.is_active:
            raise ValidationError("Enable the webhook before sending it a test event.")
        delivery = webhooks.endpoint_ping(endpoint=endpoint)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class WebhookDeliveryViewSet(ReadMixin, ScopedViewSet):
    """What Concord sent to one endpoint, newest first: each event's status, attempts,
    the last HTTP status code and error, and the payload as sent."""

    model = WebhookDelivery
    serializer_class = WebhookDeliverySerializer
    write_rule = None  # read-only
    filterset_fields = {
        "status": ["exact"],
        "event": ["exact"],
        "created_at": ["gte", "lte"],
    }
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]

    def resolve_scope(self, request, *, org, endpoint, pk=None, **kwargs):
        super().resolve_scope(request, org=org)
        self.endpoint = self.scope.get(WebhookEndpoint, pk=endpoint)
        if pk is not None:
            self.scope.get(WebhookDelivery.objects.filter(endpoint=self.endpoint), pk=pk)
        self.scope.require_admin()

    def rows(self):
        return WebhookDelivery.objects.filter(endpoint=self.endpoint)


api_urlpatterns = [
    *routes(f"{ORG}/webhooks", WebhookEndpointViewSet, "webhook"),
    *routes(
        f"{ORG}/webhooks/<int:endpoint>/deliveries", WebhookDeliveryViewSet, "webhook-delivery"
    ),
]
