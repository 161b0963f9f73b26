"""The Trends tab of an alliance: its corners and trust anchor over the last 12, 24 or 36
months (or all of them), per side, over the threshold bands; the same data as a table and
as CSV. Both sides of an alliance see the same trends.
"""

import csv

from django.http import HttpResponse
from django.urls import path

from alliances.htmx import page_or_fragment
from alliances.tenancy import alliance_view
from alliances.views import csv_safe

from ..trends import RANGES, alliance_trend, range_key, trend_csv_rows, trend_figures

RANGE_LABELS = {"12": "12 months", "24": "24 months", "36": "36 months", "all": "All rounds"}


def _trend(request, here, *, with_lights: bool = False):
    shown = range_key(request.GET.get("months"))
    trend = alliance_trend(
        scope=here.scope, alliance=here.alliance, months=RANGES[shown], with_lights=with_lights
    )
    return shown, trend


@alliance_view
def alliance_trends(request, here):
    shown, trend = _trend(request, here)
    context = {
        "here": here,
        "trend": trend,
        "charts": trend_figures(trend) if trend.periods else [],
        "shown": shown,
        "ranges": list(RANGE_LABELS.items()),
    }
    # A range link swaps the trend in place.
    return page_or_fragment(request, "scorecards/trends.html", "trend", context)


@alliance_view
def alliance_trends_csv(request, here):
    shown, trend = _trend(request, here, with_lights=True)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="trends-{here.alliance.pk}-{shown}.csv"'
    )
    writer = csv.writer(response)
    for row in trend_csv_rows(trend):
        writer.writerow([csv_safe(cell) for cell in row])
    return response


alliance_patterns = [
    path("trends/", alliance_trends, name="alliance_trends"),
    path("trends.csv", alliance_trends_csv, name="alliance_trends_csv"),
]
