"""Dashboards: the alliance one-pager (the alliance's home, for both parties and the
steering committee) and the organisation's portfolio. Both read a fixed number of queries
however long the history or large the portfolio."""

import csv

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from alliances.models import AllianceModel, Side, Stage
from alliances.tenancy import alliance_view, tenant_view
from alliances.views import csv_safe

from ..charts import QUADRANTS, matrix_figure, stage_figure
from ..dashboards import one_pager
from ..lights import Color
from ..models import Metric
from ..models.health import CORNER_METRICS
from ..portfolio import (
    LIGHT_FILTERS,
    SORTS,
    PortfolioFilters,
    open_alerts_count,
    portfolio_alliances,
)
from ..portfolio import portfolio as portfolio_data


@alliance_view
def alliance_one_pager(request, here):
    page = one_pager(scope=here.scope, alliance=here.alliance, today=timezone.localdate())
    context = {"here": here, "page": page, "may_act": here.can_edit_shared}
    return render(request, "scorecards/dashboards/one_pager.html", context)


@tenant_view
def portfolio(request, scope):
    filters = PortfolioFilters.from_querydict(request.GET)
    view = portfolio_data(scope=scope, filters=filters, now=timezone.now())
    context = {
        "scope": scope,
        "view": view,
        "filters": filters,
        "stages": Stage.choices,
        "models": AllianceModel.choices,
        "lights": [(key, label) for key, (label, _) in LIGHT_FILTERS.items()],
        "sorts": [(key, label) for key, (label, _) in SORTS.items()],
        "quadrants": QUADRANTS,
        "matrix": matrix_figure(view.matrix, healthy_from=view.healthy_from),
        "stage_chart": stage_figure(view.stage_counts),
    }
    template = "scorecards/dashboards/portfolio.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(request, template, context)


PORTFOLIO_CSV_HEADER = [
    "alliance",
    "url",
    "your side",
    "partner",
    "stage",
    "model",
    "strategic importance",
    *[Metric(m).label.lower() for m in CORNER_METRICS],
    "health score",
    "change since previous round",
    "response rate",
    "latest round",
    "open alerts",
    "divergence",
]


@tenant_view
def portfolio_csv(request, scope):
    """Every alliance the filters select (not only one page), formula-safe."""
    filters = PortfolioFilters.from_querydict(request.GET)
    rows = (
        portfolio_alliances(scope=scope, filters=filters)
        .select_related("lead_organization", "health")
        .annotate(open_alerts=open_alerts_count())
        .order_by(*SORTS[filters.sort][1])
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"portfolio-{scope.organization.slug}-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(PORTFOLIO_CSV_HEADER)
    for alliance in rows:
        health = getattr(alliance, "health", None)
        colors = [Color(c).label for c in health.corner_colors] if health else [""] * 4
        url = reverse("alliance_detail", args=[scope.organization.slug, alliance.pk])
        writer.writerow(
            [
                csv_safe(cell)
                for cell in [
                    alliance.name,
                    request.build_absolute_uri(url),
                    Side(alliance.side_of(scope.organization)).label,
                    alliance.counterparty,
                    alliance.get_stage_display(),
                    alliance.get_model_display(),
                    alliance.strategic_importance,
                    *colors,
                    health.score if health else None,
                    health.change if health else None,
                    health.response_rate if health else None,
                    health.period_start.isoformat() if health else "",
                    alliance.open_alerts,
                    "yes" if health and health.divergence else "",
                ]
            ]
        )
    return response
