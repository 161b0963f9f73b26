"""The audit log page: an organisation's security-relevant events, for its admins only."""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from .models import AuditAction, AuditEvent
from .tenancy import tenant_view

PAGE_SIZE = 50


@tenant_view
@require_GET  # inside tenant_view: another organisation's page is a 404 for every method
def audit_log(request, scope):
    scope.require_admin()
    action = request.GET.get("action", "")
    events = scope.rows(AuditEvent).order_by("-at", "-pk")
    if action in AuditAction.values:
        events = events.filter(action=action)
    else:
        action = ""
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/audit.html",
        {"scope": scope, "page": page, "action": action, "actions": AuditAction.choices},
    )


org_patterns = [path("settings/audit/", audit_log, name="audit_log")]
