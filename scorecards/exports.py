"""CSV exports of scores, KPIs, actions and risks, per alliance and per portfolio.

One builder per kind yields the rows of one alliance, or of every live alliance of the
organisation that the portfolio's filters select, from a single query however many
alliances and rows there are; rows are reached only through ``scope.rows``, so another
side's internal actions and risks never appear and hidden survey cells stay blank. Scores
are the stored aggregates of closed rounds, never an individual answer.

The pages (``/o/<org>/alliances/<id>/export/<kind>.csv``, ``/o/<org>/export/<kind>.csv``)
and the API (``.../exports/<kind>.csv`` under ``/api/v1/``) answer the same streamed response
from ``export_response``. Every cell goes through ``csv_safe`` (numbers stay numbers; text
that starts like a formula gets a leading quote). Files are UTF-8 without a byte-order mark,
like the portfolio and contacts exports: a BOM would glue itself to the first column's name
for the scripts and BI tools that read these; spreadsheets open them as UTF-8 when imported.
"""

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

from django.db.models import Case, F, IntegerField, OuterRef, Q, Subquery, Value, When
from django.http import StreamingHttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_safe
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer

from alliances.api.base import ALLIANCE, ORG, AllianceScopedViewSet, ScopedViewSet
from alliances.models import Alliance, AllianceModel, Stage
from alliances.tenancy import Scope, alliance_view, tenant_view
from alliances.views import csv_safe
from governance.models import ActionItem, Risk

from .kpis import kpi_light
from .lights import Color
from .models import CornerScore, KpiGroup, KpiValue, Light, Metric, View
from .models.health import SCORE_METRICS
from .portfolio import LIGHT_FILTERS, PortfolioFilters, portfolio_alliances
from .trends import VIEWS, _shown

CHUNK = 2000  # rows read from the database at a time while the file streams out


def _in_scope(scope: Scope, alliance: Alliance | None, filters, field: str = "alliance") -> Q:
    """The alliance asked for, or every live alliance of the portfolio's filters (a subquery,
    so the rows of any number of alliances come in one query)."""
    if alliance is not None:
        return Q(**{field: alliance})
    chosen = portfolio_alliances(scope=scope, filters=filters or PortfolioFilters())
    return Q(**{f"{field}__in": chosen.values("pk")})


def _order(field: str, values) -> Case:
    """Sort by the position of ``field``'s value in ``values`` (e.g. the corners' order)."""
    whens = [When(**{field: value}, then=Value(index)) for index, value in enumerate(values)]
    return Case(*whens, default=Value(len(values)), output_field=IntegerField())


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


# --- the builders ----------------------------------------------------------------------------

SCORE_HEADER = [
    "alliance",
    "period_start",
    "period",
    "stage",
    "metric",
    "view",
    "side",
    "score",
    "light",
    "responses",
]


def score_rows(*, scope: Scope, alliance=None, filters=None, today=None) -> Iterator[list]:
    """Per closed round, corner (and trust anchor) and view (everyone, lead, partner): the
    stored score, blank where too few answered to show it (as on the Trends page), how many
    answered, and the light stored for it (only rounds that were lit have one)."""
    light = scope.rows(Light).filter(
        round=OuterRef("round"), metric=OuterRef("metric"), view=OuterRef("view")
    )
    cells = (
        scope.rows(CornerScore)
        .filter(
            _in_scope(scope, alliance, filters),
            metric__in=SCORE_METRICS,
            view__in=VIEWS,
            round__closed_at__isnull=False,
        )
        .select_related("alliance__lead_organization", "alliance__partner_organization", "round")
        .annotate(
            light_color=Subquery(light.values("color")[:1]),
            metric_order=_order("metric", SCORE_METRICS),
            view_order=_order("view", VIEWS),
        )
        .order_by(
            "alliance__name",
            "alliance_id",
            "round__period_start",
            "round__opens_at",
            "round_id",
            "metric_order",
            "view_order",
        )
    )
    for cell in cells.iterator(chunk_size=CHUNK):
        everyone = cell.view == View.ALL
        yield [
            cell.alliance.name,
            cell.round.period_start.isoformat(),
            cell.round.label,
            cell.round.get_stage_display(),
            Metric(cell.metric).label,
            "everyone" if everyone else cell.view,
            "Everyone" if everyone else cell.alliance.party_name(cell.view),
            _shown(cell.score, cell.responses),
            Color(cell.light_color).label if cell.light_color else "",
            cell.responses,
        ]


KPI_HEADER = ["alliance", "kpi", "group", "unit", "month", "value", "light"]


def kpi_rows(*, scope: Scope, alliance=None, filters=None, today=None) -> Iterator[list]:
    """Per live KPI and month with a value, oldest month first: the value in the KPI's unit
    and its light by the KPI's thresholds (the month is written as the import reads it)."""
    values = (
        scope.rows(KpiValue)
        .filter(_in_scope(scope, alliance, filters, "kpi__alliance"), kpi__archived_at__isnull=True)
        .select_related("kpi__alliance")
        .annotate(group_order=_order("kpi__group", KpiGroup.values))
        .order_by(
            "kpi__alliance__name",
            "kpi__alliance_id",
            "group_order",
            "kpi__position",
            "kpi_id",
            "month",
        )
    )
    for value in values.iterator(chunk_size=CHUNK):
        kpi = value.kpi
        color, _ = kpi_light(kpi, value.value)
        yield [
            kpi.alliance.name,
            kpi.name,
            kpi.get_group_display(),
            kpi.unit_label,
            f"{value.month:%Y-%m}",
            value.value,
            color.label,
        ]


ACTION_HEADER = [
    "alliance",
    "title",
    "owner",
    "owner_side",
    "due_on",
    "status",
    "source",
    "visibility",
    "overdue",
]


def action_rows(*, scope: Scope, alliance=None, filters=None, today=None) -> Iterator[list]:
    """Every action item the organisation may see (shared ones, and its own internal ones),
    by due date; overdue means still open past its due date."""
    today = today or timezone.localdate()
    actions = (
        scope.rows(ActionItem)
        .filter(_in_scope(scope, alliance, filters))
        .select_related("alliance__lead_organization", "alliance__partner_organization", "owner")
        .order_by("alliance__name", "alliance_id", "due_on", "pk")
    )
    for action in actions.iterator(chunk_size=CHUNK):
        yield [
            action.alliance.name,
            action.title,
            action.owner.name,
            action.alliance.party_name(action.owner.side),
            action.due_on.isoformat(),
            action.get_status_display(),
            action.get_source_display(),
            action.visibility,
            _yes(action.is_overdue(today)),
        ]


RISK_HEADER = [
    "alliance",
    "title",
    "category",
    "likelihood",
    "impact",
    "score",
    "owner",
    "status",
    "visibility",
]


def risk_rows(*, scope: Scope, alliance=None, filters=None, today=None) -> Iterator[list]:
    """Every risk the organisation may see, highest score first (as the register lists them)."""
    risks = (
        scope.rows(Risk)
        .filter(_in_scope(scope, alliance, filters))
        .select_related("alliance", "owner")
        .annotate(score_value=F("likelihood") * F("impact"))
        .order_by("alliance__name", "alliance_id", "-score_value", "-impact", "pk")
    )
    for risk in risks.iterator(chunk_size=CHUNK):
        yield [
            risk.alliance.name,
            risk.title,
            risk.get_category_display(),
            risk.likelihood,
            risk.impact,
            risk.score_value,
            risk.owner.name if risk.owner else "",
            risk.get_status_display(),
            risk.visibility,
        ]


@dataclass(frozen=True)
class Export:
    title: str
    header: list[str]
    rows: Callable[..., Iterator[list]]

    @property
    def description(self) -> str:
        return f"{' '.join(self.rows.__doc__.split())}\n\nColumns: {', '.join(self.header)}."


EXPORTS = {
    "scores": Export("Scores", SCORE_HEADER, score_rows),
    "kpis": Export("KPI values", KPI_HEADER, kpi_rows),
    "actions": Export("Action items", ACTION_HEADER, action_rows),
    "risks": Export("Risks", RISK_HEADER, risk_rows),
}


# --- the response ----------------------------------------------------------------------------


class _Echo:
    """A file for ``csv.writer`` that hands each line back instead of keeping it."""

    def write(self, line: str) -> str:
        return line


def csv_lines(header: list[str], rows: Iterator[list]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([csv_safe(cell) for cell in row])


def export_filename(*, scope: Scope, kind: str, alliance: Alliance | None, today: date) -> str:
    name = scope.organization.slug
    if alliance is not None:
        # Dashes and other marks between words separate them ("Northwind–Contoso").
        name = slugify(re.sub(r"\W+", " ", alliance.name)) or f"alliance-{alliance.pk}"
    return f"{name}-{kind}-{today:%Y-%m-%d}.csv"


def export_response(
    *, scope: Scope, kind: str, alliance: Alliance | None = None, filters=None
) -> StreamingHttpResponse:
    """The export as a streamed download: of ``alliance``, or of the portfolio's live
    alliances that ``filters`` select."""
    export, today = EXPORTS[kind], timezone.localdate()
    rows = export.rows(scope=scope, alliance=alliance, filters=filters, today=today)
    response = StreamingHttpResponse(
        csv_lines(export.header, rows), content_type="text/csv; charset=utf-8"
    )
    filename = export_filename(scope=scope, kind=kind, alliance=alliance, today=today)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- the pages -------------------------------------------------------------------------------


@alliance_view
@require_safe  # inside the scope check: another tenant's URL is a 404 for every method
def alliance_export(request, here, kind):
    return export_response(scope=here.scope, kind=kind, alliance=here.alliance)


@tenant_view
@require_safe
def portfolio_export(request, scope, kind):
    """Takes the portfolio page's filters (stage, model, light, importance, partner)."""
    filters = PortfolioFilters.from_querydict(request.GET)
    return export_response(scope=scope, kind=kind, filters=filters)


# One route per kind, so any other kind is a 404 before a view runs. Reverse them with the
# kind as a keyword: {% url 'alliance_export' org=... alliance=... kind='scores' %}.
alliance_patterns = [
    path(f"export/{kind}.csv", alliance_export, {"kind": kind}, name="alliance_export")
    for kind in EXPORTS
]
org_patterns = [
    path(f"export/{kind}.csv", portfolio_export, {"kind": kind}, name="portfolio_export")
    for kind in EXPORTS
]


# --- the API ---------------------------------------------------------------------------------


class CsvOrJsonErrors(BaseContentNegotiation):
    """An export answers CSV whatever the ``Accept`` header says; its errors are JSON, in the
    API's one error body, like every other endpoint's."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


PORTFOLIO_PARAMETERS = [
    OpenApiParameter(
        "stage", int, enum=Stage.values, description="Only alliances in this lifecycle stage."
    ),
    OpenApiParameter("model", str, enum=AllianceModel.values, description="Only this model."),
    OpenApiParameter(
        "light", str, enum=list(LIGHT_FILTERS), description="Only alliances with this light."
    ),
    OpenApiParameter(
        "importance", int, enum=[1, 2, 3, 4, 5], description="Only this strategic importance."
    ),
    OpenApiParameter("partner", str, description="Only alliances with this counterparty."),
]


def export_action(kind: str, *, portfolio: bool):
    """The viewset method that answers one kind of export."""
    export = EXPORTS[kind]
    where = "every live alliance of the organisation" if portfolio else "the alliance"
    operation = f"organizations{'' if portfolio else '_alliances'}_exports_{kind}_csv"

    def handler(self, request, *args, **kwargs):
        return self.export(kind)

    handler.__name__ = kind
    handler.__doc__ = f"{export.title} of {where}, as CSV."
    return extend_schema(
        operation_id=operation,
        summary=handler.__doc__,
        description=export.description
        + (" Takes the portfolio page's filters." if portfolio else ""),
        parameters=PORTFOLIO_PARAMETERS if portfolio else [],
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )(handler)


class ExportViewSet:
    """Read-only: no writes, no filters or pages (an export holds every row)."""

    write_rule = None
    filter_backends = []
    pagination_class = None
    renderer_classes = [JSONRenderer]  # for errors; the export itself is a CSV download
    content_negotiation_class = CsvOrJsonErrors


class PortfolioExportViewSet(ExportViewSet, ScopedViewSet):
    """CSV exports of every live alliance of the organisation (those the portfolio's filters
    select), formula-safe: text that starts like a formula gets a leading quote."""

    scores = export_action("scores", portfolio=True)
    kpis = export_action("kpis", portfolio=True)
    actions = export_action("actions", portfolio=True)
    risks = export_action("risks", portfolio=True)

    def export(self, kind: str):
        filters = PortfolioFilters.from_querydict(self.request.query_params)
        return export_response(scope=self.scope, kind=kind, filters=filters)


class AllianceExportViewSet(ExportViewSet, AllianceScopedViewSet):
    """CSV exports of one alliance, formula-safe: text that starts like a formula gets a
    leading quote."""

    scores = export_action("scores", portfolio=False)
    kpis = export_action("kpis", portfolio=False)
    actions = export_action("actions", portfolio=False)
    risks = export_action("risks", portfolio=False)

    def export(self, kind: str):
        return export_response(scope=self.scope, kind=kind, alliance=self.here.alliance)


api_urlpatterns = [
    *[
        path(
            f"{ORG}/exports/{kind}.csv",
            PortfolioExportViewSet.as_view({"get": kind}),
            name=f"api-portfolio-export-{kind}",
        )
        for kind in EXPORTS
    ],
    *[
        path(
            f"{ALLIANCE}/exports/{kind}.csv",
            AllianceExportViewSet.as_view({"get": kind}),
            name=f"api-alliance-export-{kind}",
        )
        for kind in EXPORTS
    ],
]
