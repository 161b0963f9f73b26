"""Escalations, action items, the risk register, and a user's actions across alliances."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import F, Prefetch
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from alliances.forms import apply_errors, posted
from alliances.htmx import page_or_fragment
from alliances.tenancy import alliance_view, tenant_view

from .. import selectors, services
from ..models import (
    OPEN_ACTION_STATUSES,
    ActionItem,
    ActionSource,
    ActionStatus,
    Escalation,
    EscalationMove,
    GovernanceChange,
    Meeting,
    Risk,
    RiskStatus,
    Rung,
)
from ..records_forms import ActionForm, EscalationRaiseForm, EscalationResolveForm, RiskForm


def _url(here, name: str, *args) -> str:
    return reverse(name, args=[here.scope.organization.slug, here.alliance.pk, *args])


def _history(here, subject: str):
    """Changes to one kind of record; via the scope, so internal history stays internal."""
    return here.scope.rows(
        GovernanceChange.objects.filter(alliance=here.alliance, subject=subject)
    ).select_related("by_user", "author_organization")[:50]


# --- escalations ----------------------------------------------------------------------------


@alliance_view
def escalation_list(request, here):
    escalations = (
        here.scope.rows(Escalation.objects.filter(alliance=here.alliance))
        .select_related("decision_right", "raised_by", "raised_by_organization")
        .prefetch_related(Prefetch("moves", queryset=EscalationMove.objects.order_by("at")))
        .order_by(F("resolved_at").desc(nulls_first=True), "due_at", "pk")
    )
    context = {
        "here": here,
        "escalations": escalations,
        "rungs": Rung.choices,
        "now": timezone.now(),
        "stats": [
            {
                "label": f"{q.quarter.year} Q{(q.quarter.month - 1) // 3 + 1}",
                "raised": q.raised,
                "resolved": q.resolved,
                "mean_days": q.mean_resolution / timedelta(days=1) if q.mean_resolution else None,
            }
            for q in selectors.conflict_stats(scope=here.scope, alliance=here.alliance)
        ],
        "history": _history(here, "escalation"),
    }
    return render(request, "governance/records/escalations.html", context)


@alliance_view
def escalation_create(request, here):
    here.require_shared()
    form = EscalationRaiseForm(
        posted(request), instance=Escalation(alliance=here.alliance), here=here
    )
    if request.method == "POST" and form.is_valid():
        try:
            escalation = services.escalation_raise(
                escalation=form.instance,
                user=request.user,
                organization=here.scope.organization,
                now=timezone.now(),
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request,
                f"Escalation raised with {escalation.get_rung_display()}; "
                f"due {escalation.due_at:%d %b %Y}.",
            )
            return redirect(_url(here, "escalation_list"))
    return render(
        request,
        "governance/records/escalation_form.html",
        {
            "form": form,
            "here": here,
            "rights": form.fields["decision_right"].queryset,
            "default_sla": services.default_sla_days(),
        },
        status=400 if form.errors else 200,
    )


@alliance_view
def escalation_resolve(request, here, escalation):
    escalation = here.scope.get(Escalation.objects.filter(alliance=here.alliance), pk=escalation)
    here.require_shared()
    form = EscalationResolveForm(posted(request))
    if escalation.is_open and request.method == "POST" and form.is_valid():
        try:
            services.escalation_resolve(
                escalation=escalation,
                resolution=form.cleaned_data["resolution"],
                user=request.user,
                organization=here.scope.organization,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Resolved: {escalation}.")
            return redirect(_url(here, "escalation_list"))
    return render(
        request,
        "governance/records/escalation_resolve.html",
        {"form": form, "here": here, "escalation": escalation},
        status=400 if form.errors or (request.method == "POST" and not escalation.is_open) else 200,
    )


# --- action items ---------------------------------------------------------------------------

ACTION_FILTERS = {
    "open": ("Open", {"status__in": OPEN_ACTION_STATUSES}),
    "done": ("Done", {"status": ActionStatus.DONE}),
    "all": ("All", {}),
}


@alliance_view
def action_list(request, here):
    shown = request.GET.get("status", "open")
    if shown not in ACTION_FILTERS:
        shown = "open"
    actions = (
        here.scope.rows(ActionItem.objects.filter(alliance=here.alliance))
        .filter(**ACTION_FILTERS[shown][1])
        .select_related("owner", "author_organization")
    )
    context = {
        "here": here,
        "actions": actions,
        "shown": shown,
        "filters": [(key, label) for key, (label, _) in ACTION_FILTERS.items()],
        "today": timezone.localdate(),
    }
    return page_or_fragment(request, "governance/records/actions.html", "action-table", context)


def _action_form(request, here, action):
    creating = action.pk is None
    form = ActionForm(posted(request), instance=action, here=here)
    if request.method == "POST" and form.is_valid():
        try:
            services.action_save(
                action=form.instance,
                user=request.user,
                allow_past_due=form.cleaned_data.get("confirm_past_due", False),
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Action {'added' if creating else 'saved'}: {action}.")
            return redirect(_url(here, "action_list"))
    return render(
        request,
        "governance/records/action_form.html",
        {
            "form": form,
            "here": here,
            "action": action,
            "creating": creating,
            "meeting": action.meeting,
        },
        status=400 if form.errors else 200,
    )


@alliance_view
def action_create(request, here):
    """A new action; with ``?meeting=<id>`` it is an action raised in that meeting."""
    meeting = None
    if request.GET.get("meeting"):
        meeting = here.scope.get(
            Meeting.objects.filter(alliance=here.alliance).select_related("body"),
            pk=request.GET["meeting"],
        )
    here.require_shared()
    action = ActionItem(alliance=here.alliance, author_organization=here.scope.organization)
    if meeting is not None:
        action.meeting, action.source = meeting, ActionSource.MEETING
    return _action_form(request, here, action)


@alliance_view
def action_edit(request, here, action):
    action = here.scope.get(ActionItem.objects.filter(alliance=here.alliance), pk=action)
    here.require_shared()
    return _action_form(request, here, action)


@require_POST
@alliance_view
def action_complete(request, here, action):
    action = here.scope.get(
        ActionItem.objects.filter(alliance=here.alliance).select_related(
            "owner", "author_organization"
        ),
        pk=action,
    )
    here.require_shared()
    if action.status != ActionStatus.DONE:
        action.status = ActionStatus.DONE
        services.action_save(action=action, user=request.user)
    if request.htmx and request.POST.get("partial") == "one-pager":
        context = {"action": action, "org": here.scope.organization.slug, "may_act": True}
        return render(request, "scorecards/dashboards/_action.html", context)
    if request.htmx:
        return render(
            request,
            "governance/records/actions.html#action-row",
            {"action": action, "here": here, "today": timezone.localdate()},
        )
    messages.success(request, f"Done: {action}.")
    return redirect(_url(here, "action_list"))


@tenant_view
def my_actions(request, scope):
    today = timezone.localdate()
    week_end = today + timedelta(days=7)
    groups = {"overdue": [], "week": [], "later": []}
    for action in selectors.my_open_actions(scope=scope):
        if action.due_on < today:
            groups["overdue"].append(action)
        elif action.due_on <= week_end:
            groups["week"].append(action)
        else:
            groups["later"].append(action)
    sections = [
        ("overdue", "Overdue", groups["overdue"]),
        ("week", "Due in the next seven days", groups["week"]),
        ("later", "Later", groups["later"]),
    ]
    return render(
        request,
        "governance/records/my_actions.html",
        {"scope": scope, "sections": sections, "today": today},
    )


# --- risks ----------------------------------------------------------------------------------

# Score bands of the heat map, shown as text as well as shade.
RISK_BANDS = [(20, "severe"), (10, "high"), (5, "medium"), (1, "low")]


def risk_band(score: int) -> str:
    return next(label for floor, label in RISK_BANDS if score >= floor)


@alliance_view
def risk_list(request, here):
    risks = (
        here.scope.rows(Risk.objects.filter(alliance=here.alliance))
        .select_related("owner", "author_organization")
        .annotate(score_value=F("likelihood") * F("impact"))
        .order_by("-score_value", "-impact", "pk")
    )
    heat_map = [
        (likelihood, [(impact, n, risk_band(likelihood * impact)) for impact, n in cells])
        for likelihood, cells in selectors.risk_heat_map(scope=here.scope, alliance=here.alliance)
    ]
    context = {
        "here": here,
        "risks": risks,
        "heat_map": heat_map,
        "impacts": range(1, 6),
        "bands": RISK_BANDS,
        "closed": RiskStatus.CLOSED,
        "history": _history(here, "risk"),
    }
    return render(request, "governance/records/risks.html", context)


def _risk_form(request, here, risk):
    creating = risk.pk is None
    form = RiskForm(posted(request), instance=risk, here=here)
    if request.method == "POST" and form.is_valid():
        try:
            services.risk_save(
                risk=form.instance, user=request.user, organization=here.scope.organization
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Risk {'added' if creating else 'saved'}: {risk}.")
            return redirect(_url(here, "risk_list"))
    return render(
        request,
        "governance/records/risk_form.html",
        {"form": form, "here": here, "risk": risk, "creating": creating},
        status=400 if form.errors else 200,
    )


@alliance_view
def risk_create(request, here):
    here.require_shared()
    return _risk_form(
        request, here, Risk(alliance=here.alliance, author_organization=here.scope.organization)
    )


@alliance_view
def risk_edit(request, here, risk):
    risk = here.scope.get(Risk.objects.filter(alliance=here.alliance), pk=risk)
    here.require_shared()
    return _risk_form(request, here, risk)


alliance_patterns = [
    path("escalations/", escalation_list, name="escalation_list"),
    path("escalations/new/", escalation_create, name="escalation_create"),
    path("escalations/<int:escalation>/resolve/", escalation_resolve, name="escalation_resolve"),
    path("actions/", action_list, name="action_list"),
    path("actions/new/", action_create, name="action_create"),
    path("actions/<int:action>/edit/", action_edit, name="action_edit"),
    path("actions/<int:action>/complete/", action_complete, name="action_complete"),
    path("risks/", risk_list, name="risk_list"),
    path("risks/new/", risk_create, name="risk_create"),
    path("risks/<int:risk>/edit/", risk_edit, name="risk_edit"),
]
org_patterns = [
    path("actions/", my_actions, name="my_actions"),
]
