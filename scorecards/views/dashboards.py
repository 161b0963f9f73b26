"""Dashboards: the alliance one-pager (the alliance's home, for both parties and the
steering committee) and the organisation's portfolio. Both read a fixed number of queries
however long the history or large the portfolio."""

import csv

from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.safestring import mark_safe

from alliances.htmx import wants_fragment
from alliances.models import AllianceModel, Side, Stage
from alliances.tenancy import alliance_view, tenant_view
from alliances.views import csv_safe

from .. import freshness
from ..charts import matrix_figure, stage_figure
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
    """Rendered once per viewer and served from the cache until something on it changes
    (``scorecards/freshness.py``)."""
    today, may_act = timezone.localdate(), here.can_edit_shared
    alliance = here.alliance
    key = freshness.page_key(
        request,
        "one-pager",
        alliance_id=alliance.pk,
        organization_id=here.scope.organization.pk,
        today=today,
        may_act=may_act,
        path=request.path,
    )

    def render_body() -> str:
        page = one_pager(scope=here.scope, alliance=alliance, today=today)
        context = {"here": here, "page": page, "may_act": may_act}
        return render_to_string("scorecards/dashboards/_one_pager.html", context, request)

    body = mark_safe(freshness.cached_page(key, render_body))  # noqa: S308 - our own render
    return render(request, "scorecards/dashboards/one_pager.html", {"here": here, "body": body})


@tenant_view
def portfolio(request, scope):
    """Rendered once per viewer, filters and hour ("needs attention" looks at what is overdue
    now) and served from the cache until one of the organisation's alliances changes."""
    filters = PortfolioFilters.from_querydict(request.GET)
    partial = wants_fragment(request)  # an htmx filter swaps the results only
    now = timezone.now()
    key = freshness.page_key(
        request,
        "portfolio",
        alliance_id=None,
        organization_id=scope.organization.pk,
        filters=filters.query(),
        partial=partial,
        hour=now.strftime("%Y-%m-%d %H"),
    )

    def render_body() -> str:
        view = portfolio_data(scope=scope, filters=filters, now=now)
        context = {
            "scope": scope,
            "view": view,
            "filters": filters,
            "stages": Stage.choices,
            "models": AllianceModel.choices,
            "lights": [(key, label) for key, (label, _) in LIGHT_FILTERS.items()],
            "sorts": [(key, label) for key, (label, _) in SORTS.items()],
            "matrix": matrix_figure(view.matrix, healthy_from=view.healthy_from),
            "stage_chart": stage_figure(view.stage_counts),
        }
        template = "scorecards/dashboards/_portfolio.html" + ("#results" if partial else "")
        return render_to_string(template, context, request)

    body = mark_safe(freshness.cached_page(key, render_body))  # noqa: S308 - our own render
    if partial:
        response = HttpResponse(body)
    else:
        context = {"scope": scope, "body": body}
        response = render(request, "scorecards/dashboards/portfolio.html", context)
    patch_vary_headers(response, ["HX-Request"])  # a browser must not mix the two up
    return response


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
