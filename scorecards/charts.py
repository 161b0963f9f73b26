"""Light-weight charts drawn on the server: sparklines as SVG points, and the portfolio's
plotly figures as plain data (dicts for ``json_script``, never plotly's object graph).

A sparkline is a few numbers for ``templates/scorecards/_spark.html``; it reads without
colour (the last point is marked and the template says the values in words).
"""

from alliances.models import Stage

from .lights import Color


def sparkline(
    values: list[float | None],
    *,
    low: float | None = None,
    high: float | None = None,
    marks: dict[str, float] | None = None,
    width: int = 120,
    height: int = 28,
    pad: int = 3,
) -> dict | None:
    """SVG coordinates for ``values`` (oldest first; None is a gap the line skips over).
    ``low``/``high`` fix the scale (e.g. 0–100), else it fits the values and ``marks``
    (horizontal reference lines such as thresholds, by name)."""
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    if not known:
        return None
    marks = marks or {}
    scale = [v for _, v in known] + list(marks.values())
    low = min(scale) if low is None else low
    high = max(scale) if high is None else high
    span = (high - low) or 1.0
    step = (width - 2 * pad) / max(len(values) - 1, 1)

    def y(value: float) -> float:
        return round(height - pad - (value - low) / span * (height - 2 * pad), 1)

    points = [(round(pad + i * step, 1), y(v)) for i, v in known]
    return {
        "width": width,
        "height": height,
        "points": " ".join(f"{x},{yy}" for x, yy in points),
        "last_x": points[-1][0],
        "last_y": points[-1][1],
        "marks": {name: y(value) for name, value in marks.items()},
        "first": known[0][1],
        "last": known[-1][1],
        "count": len(known),
    }


# --- the portfolio's figures ----------------------------------------------------------------

# Marker shape per worst light, so the matrix reads in black and white too.
MARKERS = {
    Color.GREEN: ("circle", "#1a7f37"),
    Color.YELLOW: ("triangle-up", "#9a6700"),
    Color.RED: ("square", "#cf222e"),
    Color.GREY: ("circle-open", "#6e7781"),
}
IMPORTANT_FROM = 4  # strategic importance 4 and 5 of 5 count as high


def quadrant(importance: int, score: float | None, healthy_from: float) -> str | None:
    """Where an alliance sits in the importance × health matrix; None without a score."""
    if score is None:
        return None
    important, healthy = importance >= IMPORTANT_FROM, score >= healthy_from
    if important:
        return "invest" if healthy else "fix"
    return "maintain" if healthy else "exit"


def matrix_figure(points: list[dict], *, healthy_from: float) -> dict:
    """The strategic-importance × health matrix. ``points``: dicts with name, importance,
    score, color (the worst corner light) and url (its one-pager, opened on a click).
    Importance is jittered a little so alliances of equal importance do not hide each other."""
    traces = []
    for color, (symbol, hex_color) in MARKERS.items():
        mine = [p for p in points if p["color"] == color and p["score"] is not None]
        if not mine:
            continue
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": f"Worst corner {Color(color).label.lower()}",
                "x": [round(p["importance"] + _jitter(p["id"]), 2) for p in mine],
                "y": [round(p["score"], 1) for p in mine],
                "text": [p["name"] for p in mine],
                "customdata": [p["url"] for p in mine],
                "hovertemplate": "%{text}<br>Health %{y:.0f} (click to open)<extra></extra>",
                "marker": {"symbol": symbol, "size": 9, "color": hex_color, "opacity": 0.85},
            }
        )
    label = {"showarrow": False, "font": {"size": 12, "color": "#57606a"}}
    split = IMPORTANT_FROM - 0.5
    return {
        "data": traces,
        "layout": {
            "height": 340,
            "margin": {"l": 48, "r": 12, "t": 36, "b": 40},
            "xaxis": {
                "title": {"text": "Strategic importance (1–5)"},
                "range": [0.5, 5.5],
                "tickvals": [1, 2, 3, 4, 5],
                "fixedrange": True,
            },
            "yaxis": {"title": {"text": "Health (0–100)"}, "range": [0, 100], "fixedrange": True},
            "shapes": [
                _line(x0=split, x1=split, y0=0, y1=100),
                _line(x0=0.5, x1=5.5, y0=healthy_from, y1=healthy_from),
            ],
            "annotations": [
                {**label, "x": 5.4, "y": 97, "xanchor": "right", "text": "Invest"},
                {**label, "x": 5.4, "y": 3, "xanchor": "right", "text": "Fix"},
                {**label, "x": 0.6, "y": 97, "xanchor": "left", "text": "Maintain"},
                {**label, "x": 0.6, "y": 3, "xanchor": "left", "text": "Exit candidates"},
            ],
            # Above the plot: below it, on a phone, it runs into the axis title.
            "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
            "showlegend": True,
        },
        "config": {"displaylogo": False, "responsive": True, "displayModeBar": False},
    }


def stage_figure(counts: dict[int, int]) -> dict:
    """How many alliances are in each lifecycle stage, as horizontal bars."""
    stages = list(reversed(Stage.choices))
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "x": [counts.get(value, 0) for value, _ in stages],
                "y": [label for _, label in stages],
                "text": [str(counts.get(value, 0)) for value, _ in stages],
                "textposition": "auto",
                "marker": {"color": "#0969da"},
                "hovertemplate": "%{y}: %{x}<extra></extra>",
            }
        ],
        "layout": {
            "height": 200,
            "margin": {"l": 130, "r": 12, "t": 8, "b": 24},
            "xaxis": {"fixedrange": True, "rangemode": "tozero", "tickformat": "d", "dtick": 1},
            "yaxis": {"fixedrange": True},
        },
        "config": {"displaylogo": False, "responsive": True, "displayModeBar": False},
    }


def _line(**coords) -> dict:
    return {"type": "line", **coords, "line": {"color": "#8c959f", "width": 1, "dash": "dot"}}


def _jitter(key: int) -> float:
    """A small, stable offset (-0.2..0.2) per alliance: the same point every render."""
    return ((key * 2654435761) % 41 - 20) / 100
