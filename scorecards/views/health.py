"""Health pages: an alliance's lights, history and alerts (the Health tab); its thresholds
and its organisation's; and an organisation's alerts inbox across its alliances.

Both sides of an alliance see the same lights and alerts, and either side's managers may
acknowledge and resolve them. Thresholds are alliance settings (the lead's, or both sides'
if the lead allows it); an organisation's defaults are its admins'. Every page reads a
fixed number of queries, however many rounds or alerts there are.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from alliances.forms import apply_errors, posted
from alliances.models import Alliance, Side, Stage
from alliances.tenancy import alliance_view, tenant_view

from .. import services
from ..dashboards import ALERT_RELATED, metric_card, recent_lights
from ..health_forms import (
    STATUS_FILTERS,
    AlertFilterForm,
    AlertResolveForm,
    ThresholdRow,
    ThresholdsForm,
    stage_rows,
)
from ..models import Alert, AlertStatus, Metric, Threshold, View
from ..models.health import CORNER_METRICS
from ..reviews import latest_review_ratings
from ..rules import DEFAULT_THRESHOLDS, ThresholdBook, Thresholds

# Rounds in the Health tab's history table.
HISTORY_ROUNDS = 12
# Alerts the inbox lists at most, newest first.
INBOX_LIMIT = 200


def _url(here, name: str, *args) -> str:
    return reverse(name, args=[here.scope.organization.slug, here.alliance.pk, *args])


def _org_url(scope, name: str, *args) -> str:
    return reverse(name, args=[scope.organization.slug, *args])


# --- the Health tab --------------------------------------------------------------------------


@alliance_view
def alliance_health(request, here):
    alliance = here.alliance
    history = recent_lights(scope=here.scope, alliance=alliance, rounds=HISTORY_ROUNDS)
    rounds, lights, latest = history.rounds, history.lights, history.latest
    current, previous = history.at(0), history.at(1)
    ratings = latest_review_ratings(scope=here.scope, alliance_ids=[alliance.pk]).get(
        alliance.pk, {}
    )
    book = ThresholdBook([alliance])
    applied = [(alliance.stage, services.applied_thresholds(book.rows, alliance, alliance.stage))]
    if latest and latest.stage != alliance.stage:
        applied.append(
            (latest.stage, services.applied_thresholds(book.rows, alliance, latest.stage))
        )
    alerts = (
        here.scope.rows(Alert.objects.filter(alliance=alliance))
        .exclude(status=AlertStatus.RESOLVED)
        .select_related(*ALERT_RELATED)
    )
    context = {
        "here": here,
        "latest": latest,
        "lit": bool(current),
        "corners": [metric_card(m, current, previous, ratings) for m in CORNER_METRICS],
        "trust": metric_card(Metric.TRUST, current, previous),
        "rate": current.get((Metric.RESPONSE_RATE, View.ALL)),
        "divergence": current.get((Metric.ALLIANCE, View.ALL)),
        "has_ratings": bool(ratings),
        "history": [
            (r, [lights[r.round_id].get((m, View.ALL)) for m in [*CORNER_METRICS, Metric.TRUST]])
            for r in rounds
        ],
        "history_heads": [Metric(m).label for m in [*CORNER_METRICS, Metric.TRUST]],
        "alerts": alerts,
        "applied": [(Stage(stage).label, a) for stage, a in applied],
        "lead_name": alliance.party_name(Side.LEAD),
        "partner_name": alliance.party_name(Side.PARTNER),
        "resolve_form": AlertResolveForm(auto_id=False),
    }
    return render(request, "scorecards/health/alliance.html", context)


# --- alerts ----------------------------------------------------------------------------------


def _alert(here, pk) -> Alert:
    alert = here.scope.get(
        Alert.objects.filter(alliance=here.alliance).select_related(*ALERT_RELATED), pk=pk
    )
    alert.alliance = here.alliance
    return alert


def _back(request, here) -> str:
    """Where to go after acting on an alert: the page the button was on (the inbox keeps its
    filters that way), if it is one of ours; else the alliance's Health tab."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return _url(here, "alliance_health")


@require_POST
@alliance_view
def alert_acknowledge(request, here, alert):
    alert = _alert(here, alert)
    here.require_shared()
    try:
        services.alert_acknowledge(alert=alert, user=request.user, now=timezone.now())
    except ValidationError as error:
        if request.htmx:  # the item shows where the alert stands now, e.g. resolved
            alert = _alert(here, alert.pk)
        else:
            messages.error(request, " ".join(error.messages))
    else:
        if not request.htmx:
            messages.success(request, f"Acknowledged: {alert}.")
    if request.htmx:  # in place: the alert's item on the one-pager
        context = {"alert": alert, "org": here.scope.organization.slug, "may_act": True}
        return render(request, "scorecards/dashboards/_alert.html", context)
    return redirect(_back(request, here))


@alliance_view
def alert_resolve(request, here, alert):
    alert = _alert(here, alert)
    here.require_shared()
    form = AlertResolveForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.alert_resolve(
                alert=alert, user=request.user, note=form.cleaned_data["note"], now=timezone.now()
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Resolved: {alert}.")
            return redirect(_back(request, here))
    return render(
        request,
        "scorecards/health/alert_resolve.html",
        {"form": form, "here": here, "alert": alert, "next": _back(request, here)},
        status=400 if form.errors else 200,
    )


@tenant_view
def alert_inbox(request, scope):
    alliances = list(scope.rows(Alliance).order_by("name", "pk"))
    form = AlertFilterForm(request.GET, alliances=alliances)
    chosen = form.filters()
    alerts = scope.rows(Alert).select_related(
        "alliance", "alliance__lead_organization", "alliance__partner_organization", *ALERT_RELATED
    )
    statuses = STATUS_FILTERS[chosen["status"]][1]
    if statuses is not None:
        alerts = alerts.filter(status__in=statuses)
    for name, lookup in (("alliance", "alliance_id"), ("metric", "metric"), ("kind", "kind")):
        if chosen.get(name):
            alerts = alerts.filter(**{lookup: chosen[name]})
    alerts = list(alerts.order_by("-raised_at", "-pk")[: INBOX_LIMIT + 1])
    context = {
        "scope": scope,
        "form": form,
        "alerts": alerts[:INBOX_LIMIT],
        "more": len(alerts) > INBOX_LIMIT,
        "limit": INBOX_LIMIT,
        "shown": chosen["status"],
        "statuses": [(key, label) for key, (label, _) in STATUS_FILTERS.items()],
        "filtered": any(chosen.get(name) for name in ("alliance", "metric", "kind")),
        "here_path": request.get_full_path(),
        "resolve_form": AlertResolveForm(auto_id=False),
    }
    return render(request, "scorecards/health/inbox.html", context)


# --- thresholds ------------------------------------------------------------------------------


def _alliance_rows(book: ThresholdBook, alliance: Alliance) -> list[ThresholdRow]:
    """Every stage of the alliance's thresholds form, with what applies when left empty."""
    own = {("alliance", alliance.pk, None), *(("alliance", alliance.pk, s) for s in Stage.values)}
    rows = []
    for stage, label in stage_rows("Every stage"):
        key = ("alliance", alliance.pk, stage)
        # What applies without this row: for "every stage", the organisation's for the
        # stage the alliance is in now.
        hidden = own if stage is None else {key}
        below = {k: v for k, v in book.rows.items() if k not in hidden}
        inherited = services.applied_thresholds(below, alliance, stage or alliance.stage)
        source = inherited.source
        if stage is None:
            source += f" (for the {Stage(alliance.stage).label.lower()} stage it is in now)"
        rows.append(ThresholdRow(stage, label, book.rows.get(key), inherited.thresholds, source))
    return rows


def _disable(form) -> None:
    for field in form.fields.values():
        field.disabled = True


@alliance_view
def health_thresholds(request, here):
    if request.method == "POST":
        here.require_settings()
    alliance = here.alliance
    book = ThresholdBook([alliance])
    form = ThresholdsForm(posted(request), rows=_alliance_rows(book, alliance))
    may_edit = here.can_edit_settings and not alliance.is_archived
    if not may_edit:
        _disable(form)
    if request.method == "POST" and form.is_valid():
        try:
            services.thresholds_save(
                organization=here.scope.organization,
                alliance=alliance,
                values=form.values(),
                user=request.user,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Thresholds saved. The latest lights use them now.")
            return redirect(_url(here, "alliance_health"))
    return render(
        request,
        "scorecards/health/thresholds.html",
        {
            "form": form,
            "here": here,
            "may_edit": may_edit,
            "lead_name": alliance.party_name(Side.LEAD),
            "stage_label": Stage(alliance.stage).label,
        },
        status=400 if form.errors else 200,
    )


def _org_rows(scope) -> tuple[list[ThresholdRow], list[Threshold]]:
    defaults: dict[int | None, Thresholds] = {}
    overrides = []
    for row in scope.rows(Threshold).select_related("alliance").order_by("alliance__name", "stage"):
        if row.alliance_id is None:
            defaults[row.stage] = Thresholds(row.green_from, row.red_below)
        else:
            overrides.append(row)
    name = scope.organization.name
    rows = [
        ThresholdRow(
            None,
            "Every stage",
            defaults.get(None),
            DEFAULT_THRESHOLDS,
            "Concord's built-in default",
        )
    ]
    for stage, label in stage_rows("")[1:]:
        inherited, source = defaults.get(None), f"{name}'s default"
        if inherited is None:
            inherited, source = DEFAULT_THRESHOLDS, "Concord's built-in default"
        rows.append(ThresholdRow(stage, label, defaults.get(stage), inherited, source))
    return rows, overrides


@tenant_view
def org_thresholds(request, scope):
    if request.method == "POST":
        scope.require_admin()
    rows, overrides = _org_rows(scope)
    form = ThresholdsForm(posted(request), rows=rows)
    if not scope.is_admin:
        _disable(form)
    if request.method == "POST" and form.is_valid():
        try:
            services.thresholds_save(
                organization=scope.organization, values=form.values(), user=request.user
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request,
                "Default thresholds saved. The latest lights of your alliances use them now.",
            )
            return redirect(_org_url(scope, "org_thresholds"))
    return render(
        request,
        "scorecards/health/org_thresholds.html",
        {"form": form, "scope": scope, "overrides": overrides, "may_edit": scope.is_admin},
        status=400 if form.errors else 200,
    )


alliance_patterns = [
    path("health/", alliance_health, name="alliance_health"),
    path("health/thresholds/", health_thresholds, name="health_thresholds"),
    path("health/alerts/<int:alert>/acknowledge/", alert_acknowledge, name="alert_acknowledge"),
    path("health/alerts/<int:alert>/resolve/", alert_resolve, name="alert_resolve"),
]
org_patterns = [
    path("alerts/", alert_inbox, name="alert_inbox"),
    path("settings/thresholds/", org_thresholds, name="org_thresholds"),
]
