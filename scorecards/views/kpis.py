"""The balanced scorecard of an alliance: its KPIs by group with lights and a year of
history; KPI definitions (alliance settings), monthly values and their CSV import."""

import csv

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from alliances.forms import apply_errors, posted
from alliances.tenancy import alliance_view
from alliances.views import csv_safe

from .. import kpis as services
from ..kpi_forms import KpiForm, KpiImportForm, KpiValueForm
from ..models import SOURCE_DIRECTIONS, SOURCE_UNITS, Kpi, KpiValue

# How many months the value page lists.
VALUE_PAGE_MONTHS = 24


def _url(here, name: str, *args) -> str:
    return reverse(name, args=[here.scope.organization.slug, here.alliance.pk, *args])


def _kpis(here):
    return here.scope.rows(Kpi.objects.filter(alliance=here.alliance))


@alliance_view
def kpi_board(request, here):
    today = timezone.localdate()
    groups = services.kpi_board(scope=here.scope, alliance=here.alliance, today=today)
    context = {
        "here": here,
        "groups": groups,
        "has_kpis": any(group.rows for group in groups),
        "archived": _kpis(here).filter(archived_at__isnull=False).order_by("name"),
        "months": services.months_back(today, services.HISTORY_MONTHS),
    }
    return render(request, "scorecards/kpis/board.html", context)


def _kpi_form(request, here, kpi):
    creating = kpi.pk is None
    form = KpiForm(posted(request), instance=kpi)
    if request.method == "POST" and form.is_valid():
        try:
            services.kpi_save(kpi=form.instance)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"KPI {'added' if creating else 'saved'}: {kpi}.")
            return redirect(_url(here, "kpi_board"))
    return render(
        request,
        "scorecards/kpis/kpi_form.html",
        {
            "form": form,
            "here": here,
            "kpi": kpi,
            "creating": creating,
            "source_units": [
                (source.label, unit.label, SOURCE_DIRECTIONS[source].label)
                for source, unit in SOURCE_UNITS.items()
            ],
        },
        status=400 if form.errors else 200,
    )


@alliance_view
def kpi_create(request, here):
    here.require_settings()
    return _kpi_form(request, here, Kpi(alliance=here.alliance))


@alliance_view
def kpi_edit(request, here, kpi):
    kpi = here.scope.get(Kpi.objects.filter(alliance=here.alliance), pk=kpi)
    here.require_settings()
    return _kpi_form(request, here, kpi)


@require_POST
@alliance_view
def kpi_archive(request, here, kpi):
    kpi = here.scope.get(Kpi.objects.filter(alliance=here.alliance), pk=kpi)
    here.require_settings()
    archived = request.POST.get("archive") == "1"
    services.kpi_archive(kpi=kpi, archived=archived)
    messages.success(request, f"{'Archived' if archived else 'Restored'}: {kpi}.")
    return redirect(_url(here, "kpi_board"))


@require_POST
@alliance_view
def kpi_defaults_add(request, here):
    here.require_settings()
    added = services.kpi_defaults_seed(alliance=here.alliance)
    if added:
        messages.success(request, f"Added {len(added)} suggested KPI(s).")
    else:
        messages.info(request, "The scorecard already has every suggested KPI.")
    return redirect(_url(here, "kpi_board"))


@alliance_view
def kpi_values(request, here, kpi):
    """A KPI's monthly values, and (for managers of either side) a month's value to enter."""
    kpi = here.scope.get(_kpis(here), pk=kpi)
    if request.method == "POST":
        here.require_shared()
    initial = {"month": request.GET.get("month") or f"{timezone.localdate():%Y-%m}"}
    form = KpiValueForm(posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.kpi_value_save(
                kpi=kpi,
                month=form.cleaned_data["month"],
                value=form.cleaned_data["value"],
                note=form.cleaned_data["note"],
                user=request.user,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request,
                f"{kpi} for {saved.month:%B %Y}: {services.kpi_format(kpi, saved.value)}.",
            )
            return redirect(_url(here, "kpi_values", kpi.pk))
    rows = (
        here.scope.rows(KpiValue.objects.filter(kpi=kpi))
        .select_related("entered_by")
        .order_by("-month")[:VALUE_PAGE_MONTHS]
    )
    values = [
        (row, services.kpi_format(kpi, row.value), *services.kpi_light(kpi, row.value))
        for row in rows
    ]
    return render(
        request,
        "scorecards/kpis/values.html",
        {
            "form": form,
            "here": here,
            "kpi": kpi,
            "values": values,
            "can_enter": here.can_edit_shared and not kpi.is_computed and not kpi.is_archived,
            "shown_months": VALUE_PAGE_MONTHS,
        },
        status=400 if form.errors else 200,
    )


@alliance_view
def kpi_values_import(request, here):
    here.require_shared()
    form = KpiImportForm(posted(request), posted(request, files=True))
    errors = []
    if request.method == "POST" and form.is_valid():
        result = services.kpi_values_import_csv(
            alliance=here.alliance, data=form.cleaned_data["file"].read(), user=request.user
        )
        if not result.errors:
            messages.success(
                request,
                f"Imported {result.saved} value(s): {result.created} new, "
                f"{result.replaced} replaced.",
            )
            return redirect(_url(here, "kpi_board"))
        errors = result.errors
    return render(
        request,
        "scorecards/kpis/import.html",
        {
            "form": form,
            "here": here,
            "errors": errors,
            "manual": [
                kpi for kpi in _kpis(here).filter(archived_at__isnull=True) if not kpi.is_computed
            ],
        },
        status=400 if errors or form.errors else 200,
    )


@alliance_view
def kpi_values_template(request, here):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="kpi-values-{here.alliance.pk}.csv"'
    writer = csv.writer(response)
    writer.writerow(services.CSV_COLUMNS)
    kpis = _kpis(here).filter(archived_at__isnull=True).order_by("group", "position", "pk")
    for row in services.kpi_values_template_rows(kpis=kpis, today=timezone.localdate()):
        writer.writerow([csv_safe(cell) for cell in row])
    return response


alliance_patterns = [
    path("scorecard/", kpi_board, name="kpi_board"),
    path("scorecard/kpis/new/", kpi_create, name="kpi_create"),
    path("scorecard/kpis/suggested/", kpi_defaults_add, name="kpi_defaults_add"),
    path("scorecard/kpis/<int:kpi>/", kpi_values, name="kpi_values"),
    path("scorecard/kpis/<int:kpi>/edit/", kpi_edit, name="kpi_edit"),
    path("scorecard/kpis/<int:kpi>/archive/", kpi_archive, name="kpi_archive"),
    path("scorecard/import/", kpi_values_import, name="kpi_values_import"),
    path("scorecard/import/template.csv", kpi_values_template, name="kpi_values_template"),
]
org_patterns: list = []
