"""The Trend view's data (DESIGN §8): an alliance's four corners and trust anchor over its
scored rounds, for everyone and for each side, with the threshold bands that applied.

Three queries however many rounds: the rounds, their scores, the thresholds. A score that
is hidden, or rests on fewer than 3 people, is a gap (``None``), never a number. Thresholds
apply per lifecycle stage, so the bands are drawn per run of rounds in the same stage.

The figures are plain dicts in plotly's JSON shape (``{"data", "layout", "config"}``); the
page hands them to plotly.js with ``json_script`` and ``static/js/charts.js`` draws them.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import groupby, pairwise

from alliances.models import Alliance, Side, Stage

from .kpis import month_add, month_start
from .lights import Color, threshold_color
from .models import CornerScore, Light, Metric, RoundHealth, View
from .models.health import SCORE_METRICS
from .rules import MIN_RESPONSES, ThresholdBook, Thresholds, threshold_lookup

# How far back the view reaches, by its ``?months=`` value: months up to the latest round.
RANGES = {"12": 12, "24": 24, "36": 36, "all": None}
DEFAULT_RANGE = "24"
VIEWS = [View.ALL, View.LEAD, View.PARTNER]

# Colours of concord.css; never the only cue: lines differ by dash and marker too, and bands
# are named in the legend, the hover text and the page.
INK, MUTED = "#1d2733", "#5b6773"
LINES = {
    View.ALL: {"color": INK, "dash": "solid", "width": 2.5, "symbol": "circle"},
    View.LEAD: {"color": "#2f6a96", "dash": "dash", "width": 2, "symbol": "square"},
    View.PARTNER: {"color": "#7a3e9d", "dash": "dot", "width": 2, "symbol": "diamond"},
}
BANDS = {
    Color.RED: "rgba(180,35,24,0.13)",
    Color.YELLOW: "rgba(168,107,0,0.13)",
    Color.GREEN: "rgba(31,122,77,0.13)",
}
FONT = "-apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"


def range_key(value: str | None) -> str:
    """The ``?months=`` value to use: the one asked for if it is one we offer."""
    return value if value in RANGES else DEFAULT_RANGE


@dataclass(frozen=True)
class Cell:
    """One stored score: ``score`` is ``None`` where it may not be shown."""

    score: float | None
    responses: int


@dataclass(frozen=True)
class Period:
    """One scored round: when, in which stage, its scores by (metric, view) and, when asked
    for, its stored lights by (metric, view) as (colour, reasons)."""

    start: date
    label: str
    stage: int
    response_rate: float | None
    cells: dict[tuple[str, str], Cell]
    lights: dict[tuple[str, str], tuple[str, list[str]]]

    def score(self, metric: str, view: str) -> float | None:
        cell = self.cells.get((metric, view))
        return cell.score if cell else None

    @property
    def stage_label(self) -> str:
        return Stage(self.stage).label


@dataclass(frozen=True)
class StageRun:
    """Consecutive rounds in one stage, judged by one set of thresholds. ``x0``/``x1`` are
    where its bands start and end: halfway to the neighbouring rounds."""

    stage: int
    thresholds: Thresholds
    first: Period
    last: Period
    x0: date
    x1: date

    @property
    def stage_label(self) -> str:
        return Stage(self.stage).label


@dataclass(frozen=True)
class Trend:
    alliance: Alliance
    periods: list[Period]
    runs: list[StageRun]

    @property
    def metrics(self) -> list[tuple[str, str]]:
        return [(metric, Metric(metric).label) for metric in SCORE_METRICS]

    def view_name(self, view: str, *, long: bool = False) -> str:
        if view == View.ALL:
            return "Everyone"
        side = Side.LEAD if view == View.LEAD else Side.PARTNER
        name = self.alliance.party_name(side)
        return f"{name} ({Side(side).label.lower()})" if long else name

    @property
    def view_names(self) -> list[str]:
        return [self.view_name(view) for view in VIEWS]

    def series(self, metric: str, view: str) -> list[float | None]:
        return [period.score(metric, view) for period in self.periods]

    def rows(self) -> list[tuple[Period, list[float | None]]]:
        """One row per period: its scores, metric by metric, each for everyone, lead, partner."""
        return [
            (period, [period.score(m, v) for m in SCORE_METRICS for v in VIEWS])
            for period in self.periods
        ]


def _shown(score: float | None, responses: int) -> float | None:
    """The score to draw, to one decimal; ``None`` if it may not be shown (see
    ``RoundFacts.score``)."""
    if score is None or responses < MIN_RESPONSES:
        return None
    return round(score, 1)


def _edges(days: list[date]) -> list[date]:
    """Band boundaries: before the first round, between each two, after the last."""
    if len(days) == 1:
        return [days[0] - timedelta(days=15), days[0] + timedelta(days=15)]
    middles = [a + (b - a) / 2 for a, b in pairwise(days)]
    return [
        days[0] - (days[1] - days[0]) / 2,
        *middles,
        days[-1] + (days[-1] - days[-2]) / 2,
    ]


def _stage_runs(alliance: Alliance, periods: list[Period], book: ThresholdBook) -> list[StageRun]:
    edges = _edges([p.start for p in periods])
    runs, index = [], 0
    for stage, group in groupby(periods, key=lambda p: p.stage):
        group = list(group)
        thresholds = threshold_lookup(book.rows, alliance, stage)[0]
        end = index + len(group)
        runs.append(StageRun(stage, thresholds, group[0], group[-1], edges[index], edges[end]))
        index = end
    return runs


def alliance_trend(
    *, scope, alliance: Alliance, months: int | None, with_lights: bool = False
) -> Trend:
    """The alliance's scored rounds of the last ``months`` months up to its latest one (all
    of them for ``None``), oldest first, with their scores and stage runs; and with their
    stored lights if ``with_lights`` (one more query)."""
    rounds = list(
        scope.rows(RoundHealth.objects.filter(alliance=alliance))
        .select_related("round")
        .only("round_id", "period_start", "opens_at", "stage", "response_rate", "round")
        .order_by("period_start", "opens_at", "round_id")
    )
    if rounds and months is not None:
        since = month_add(month_start(rounds[-1].period_start), -(months - 1))
        rounds = [r for r in rounds if r.period_start >= since]
    if not rounds:
        return Trend(alliance, [], [])
    ids = [r.round_id for r in rounds]
    cells: dict[int, dict] = {round_id: {} for round_id in ids}
    for round_id, metric, view, score, responses in (
        scope.rows(CornerScore.objects.filter(alliance=alliance))
        .filter(round_id__in=ids, metric__in=SCORE_METRICS, view__in=VIEWS)
        .values_list("round_id", "metric", "view", "score", "responses")
    ):
        cells[round_id][(metric, view)] = Cell(_shown(score, responses), responses)
    lights: dict[int, dict] = {round_id: {} for round_id in ids}
    if with_lights:
        for round_id, metric, view, color, reasons in (
            scope.rows(Light.objects.filter(alliance=alliance))
            .filter(round_id__in=ids, metric__in=SCORE_METRICS, view__in=VIEWS)
            .values_list("round_id", "metric", "view", "color", "reasons")
        ):
            lights[round_id][(metric, view)] = (color, reasons)
    periods = [
        Period(
            start=r.period_start,
            label=r.round.label,
            stage=r.stage,
            response_rate=None if r.response_rate is None else round(r.response_rate, 1),
            cells=cells[r.round_id],
            lights=lights[r.round_id],
        )
        for r in rounds
    ]
    runs = _stage_runs(alliance, periods, ThresholdBook([alliance]))
    return Trend(alliance, periods, runs)


# --- plotly figures --------------------------------------------------------------------------


def _band(score: float | None, thresholds: Thresholds) -> Color:
    """Which band a score is in (grey: no score)."""
    return threshold_color(score, green_from=thresholds.green_from, red_below=thresholds.red_below)


def _hover_band(score: float | None, thresholds: Thresholds) -> str | None:
    """The band a score is in, in words, for the hover text."""
    green, red = thresholds.green_from, thresholds.red_below
    return {
        Color.GREEN: f"green, ≥ {green:g}",
        Color.YELLOW: f"yellow, {red:g}–{green:g}",
        Color.RED: f"red, < {red:g}",
        Color.GREY: None,
    }[_band(score, thresholds)]


def _bands(trend: Trend) -> list[dict]:
    shapes, named = [], set()
    for run in trend.runs:
        t = run.thresholds
        for color, y0, y1 in (
            (Color.RED, 0, t.red_below),
            (Color.YELLOW, t.red_below, t.green_from),
            (Color.GREEN, t.green_from, 100),
        ):
            if y1 <= y0:
                continue
            shapes.append(
                {
                    "type": "rect",
                    "layer": "below",
                    "xref": "x",
                    "yref": "y",
                    "x0": run.x0.isoformat(),
                    "x1": run.x1.isoformat(),
                    "y0": y0,
                    "y1": y1,
                    "fillcolor": BANDS[color],
                    "line": {"width": 0},
                    "name": f"{color.label} band",
                    "legendgroup": color.value,
                    "legendrank": 10 + Color(color).rank,
                    "showlegend": color not in named,
                }
            )
            named.add(color)
    for run in trend.runs[1:]:
        shapes.append(
            {
                "type": "line",
                "layer": "below",
                "xref": "x",
                "yref": "paper",
                "x0": run.x0.isoformat(),
                "x1": run.x0.isoformat(),
                "y0": 0,
                "y1": 1,
                "line": {"color": MUTED, "width": 1, "dash": "dot"},
            }
        )
    return shapes


def _stage_labels(trend: Trend) -> list[dict]:
    """Each stage's name over its bands; the last one ends at the right edge, so that the
    stage the alliance is in now is named in full however few rounds it has had."""
    last = len(trend.runs) - 1
    return [
        {
            "x": (run.x1 if i == last and i else run.x0).isoformat(),
            "xref": "x",
            "xanchor": "right" if i == last and i else "left",
            "y": 1,
            "yref": "paper",
            "yanchor": "bottom",
            "text": run.stage_label,
            "showarrow": False,
            "font": {"size": 11, "color": MUTED},
        }
        for i, run in enumerate(trend.runs)
    ]


def _traces(trend: Trend, metric: str) -> list[dict]:
    x = [p.start.isoformat() for p in trend.periods]
    by_stage = {run.stage: run.thresholds for run in trend.runs}
    thresholds = [by_stage[p.stage] for p in trend.periods]
    traces = []
    for rank, view in enumerate(VIEWS, start=1):
        y = trend.series(metric, view)
        style = LINES[view]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": trend.view_name(view, long=True),
                "x": x,
                "y": y,
                "text": [_hover_band(s, t) for s, t in zip(y, thresholds, strict=True)],
                "connectgaps": False,
                "line": {"color": style["color"], "dash": style["dash"], "width": style["width"]},
                "marker": {"color": style["color"], "symbol": style["symbol"], "size": 6},
                "legendrank": rank,
                "hovertemplate": "%{y:.1f} (%{text})",
            }
        )
    return traces


def trend_figure(trend: Trend, metric: str) -> dict:
    """One metric over time, everyone and each side, over its stages' threshold bands."""
    first, last = trend.runs[0].x0.isoformat(), trend.runs[-1].x1.isoformat()
    return {
        "data": _traces(trend, metric),
        "layout": {
            "height": 330,
            # Room at the top for the toolbar above the stage names.
            "margin": {"l": 36, "r": 10, "t": 44, "b": 10},
            "font": {"family": FONT, "size": 12, "color": INK},
            "xaxis": {
                "type": "date",
                "range": [first, last],
                "nticks": 6,
                "showgrid": False,
                "hoverformat": "%B %Y",
            },
            "yaxis": {
                "range": [0, 100],
                "fixedrange": True,
                "tickvals": [0, 25, 50, 75, 100],
                "gridcolor": "rgba(29,39,51,0.08)",
            },
            "shapes": _bands(trend),
            "annotations": _stage_labels(trend),
            "hovermode": "x unified",
            "legend": {"orientation": "h", "x": 0, "y": -0.12, "yanchor": "top"},
        },
        "config": {
            "displaylogo": False,
            "responsive": True,
            "modeBarButtonsToRemove": ["select2d", "lasso2d"],
        },
    }


def trend_figures(trend: Trend) -> list[dict]:
    """The page's charts: one per corner and one for the trust anchor, with the id of the
    ``json_script`` element that holds each figure."""
    return [
        {"id": f"trend-{metric}", "label": label, "figure": trend_figure(trend, metric)}
        for metric, label in trend.metrics
    ]


# --- the CSV ---------------------------------------------------------------------------------


CSV_HEADER = [
    "period_start",
    "period",
    "stage",
    "metric",
    "view",
    "side",
    "score",
    "responses",
    "green_from",
    "red_below",
    "band",
    "light",
    "light_reasons",
]


def trend_csv_rows(trend: Trend) -> list[list]:
    """One row per round, metric and view (everyone, lead, partner), oldest first: the
    score (empty where it is hidden), what it rests on, the thresholds and band it was
    judged by, and the light stored for it with its reasons (if the trend has them)."""
    by_stage = {run.stage: run.thresholds for run in trend.runs}
    rows = [CSV_HEADER]
    for period in trend.periods:
        thresholds = by_stage[period.stage]
        for metric, label in trend.metrics:
            for view in VIEWS:
                cell = period.cells.get((metric, view))
                score = cell.score if cell else None
                color, reasons = period.lights.get((metric, view), ("", []))
                rows.append(
                    [
                        period.start.isoformat(),
                        period.label,
                        period.stage_label,
                        label,
                        "everyone" if view == View.ALL else view,
                        trend.view_name(view),
                        score,
                        cell.responses if cell else None,
                        thresholds.green_from,
                        thresholds.red_below,
                        _band(score, thresholds).value if score is not None else "",
                        Color(color).label if color else "",
                        " ".join(reasons),
                    ]
                )
    return rows
