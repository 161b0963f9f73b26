"""The Trends tab: corners and the trust anchor over time, per side, over per-stage threshold
bands; the same data as a table and as CSV — for the lead (ada), the partner (ben) and an
outsider (cy)."""

import csv
import io
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alliances.models import Stage
from scorecards.alerts import threshold_check
from scorecards.models import CornerScore, Metric, Threshold, View
from scorecards.trends import CSV_HEADER
from tests.test_health_alerts import CORNERS, add_round

METRICS = [*CORNERS, Metric.TRUST.value]


def url(alliance, suffix: str = "trends/", org: str = "northwind") -> str:
    return f"/o/{org}/alliances/{alliance.pk}/{suffix}"


def check(alliance, rounds) -> None:
    threshold_check(
        now=timezone.now(), alliance_ids=[alliance.pk], round_ids=[r.pk for r in rounds]
    )


def figures(html: str) -> dict[str, dict]:
    """The figures the page hands to plotly, by json_script id."""
    found = re.findall(r'<script id="(trend-[\w-]+)" type="application/json">(.*?)</script>', html)
    return {name: json.loads(text) for name, text in found}


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def cell(rows, period_start, metric, view) -> dict:
    return next(
        r
        for r in rows
        if (r["period_start"], r["metric"], r["view"]) == (period_start, metric, view)
    )


def sides(lead, partner):
    return {
        "lead": dict.fromkeys(METRICS, lead),
        "partner": dict.fromkeys(METRICS, partner),
    }


# --- the page --------------------------------------------------------------------------------


@pytest.mark.parametrize("who, org", [("ada", "northwind"), ("ben", "contoso")])
def test_both_sides_see_the_trends_with_charts_and_a_table(alliance, world, client_for, who, org):
    for i in range(3):
        add_round(alliance, i, 70 + i, **sides(65.25, 80))
    response = client_for(getattr(world, who)).get(url(alliance, org=org))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="{url(alliance, org=org)}" aria-current' in html  # the Trends tab
    charts = figures(html)
    assert list(charts) == [f"trend-{metric}" for metric in METRICS]
    for metric in METRICS:
        assert f'data-figure="trend-{metric}"' in html
    strategic = charts["trend-strategic"]
    everyone, lead, partner = strategic["data"]
    assert everyone["y"] == [70, 71, 72]
    assert lead["y"] == [65.2, 65.2, 65.2]  # one decimal keeps the JSON lean
    assert (everyone["name"], lead["name"], partner["name"]) == (
        "Everyone",
        "Northwind (lead)",
        "Contoso (partner)",
    )
    # Not colour alone: the sides differ by dash and marker, and the hover names the band.
    assert [t["line"]["dash"] for t in strategic["data"]] == ["solid", "dash", "dot"]
    assert len({t["marker"]["symbol"] for t in strategic["data"]}) == 3
    assert everyone["text"] == ["green, ≥ 70"] * 3
    assert lead["text"][0] == "yellow, 50–70"
    layout, config = strategic["layout"], strategic["config"]
    assert layout["yaxis"]["range"] == [0, 100]
    assert config["displaylogo"] is False and config["responsive"] is True
    # The accessible table: caption, header scopes, a row per round.
    assert "<caption>" in html
    assert '<th scope="colgroup" colspan="3">Strategic alignment</th>' in html
    assert html.count('<th scope="row">') == 3
    assert "65.2" in html
    assert f'href="{url(alliance, "trends.csv", org=org)}?months=24"' in html


def test_plotly_is_loaded_once_from_static_and_no_script_runs_inline(alliance, world, client_for):
    add_round(alliance, 0, 70)
    html = client_for(world.ada).get(url(alliance)).content.decode()
    # charts.js loads plotly (named in its data-plotly) once, when a chart needs drawing.
    assert (
        html.count(
            '<script src="/static/js/charts.js" data-plotly="/static/vendor/plotly-basic.min.js"'
        )
        == 1
    )
    assert html.count("plotly-basic.min.js") == 1
    assert 'href="/static/vendor/plotly-basic.css"' in html
    assert 'id="plotly.js-style-global" class="no-inline-styles"' in html
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    # Each figure is valid JSON, written by json_script (so "</script>" cannot break out).
    assert all(fig["data"] for fig in figures(html).values())


def test_empty_state_without_scored_rounds_loads_no_plotly(alliance, world, client_for):
    html = client_for(world.ada).get(url(alliance)).content.decode()
    assert "No scored pulse round yet" in html
    assert "plotly" not in html
    assert "data-figure" not in html


def test_a_hidden_cell_is_a_gap_not_a_number(alliance, world, client_for):
    add_round(alliance, 0, 70, **sides(60, 75))
    add_round(alliance, 1, 71, responses=2, **sides(61, 76))  # everyone: only two answered
    hidden_side = add_round(alliance, 2, 72, **sides(62, 77))
    CornerScore.objects.filter(round=hidden_side, view=View.PARTNER).update(score=None, responses=2)
    ada = client_for(world.ada)
    html = ada.get(url(alliance)).content.decode()
    everyone, lead, partner = figures(html)["trend-value"]["data"]
    assert everyone["y"] == [70, None, 72]
    assert everyone["text"][1] is None
    assert partner["y"] == [75, 76, None]
    assert everyone["connectgaps"] is False
    assert '"y": [70.0, null, 72.0]' in html
    assert html.count('<span class="visually-hidden">not shown</span>') == 2 * len(METRICS)
    rows = csv_rows(ada.get(url(alliance, "trends.csv")))
    gap = cell(rows, "2024-02-01", "Value realisation", "everyone")
    assert (gap["score"], gap["responses"], gap["band"]) == ("", "2", "")
    assert cell(rows, "2024-03-01", "Value realisation", "partner")["score"] == ""


def test_bands_follow_the_stage_and_its_thresholds(alliance, world, client_for):
    Threshold.objects.create(
        organization=world.northwind,
        alliance=alliance,
        stage=Stage.FORMATION,
        green_from=60,
        red_below=40,
    )
    alliance.stage = Stage.FORMATION
    alliance.save()
    for i in range(3):
        add_round(alliance, i, 45)
    alliance.stage = Stage.EXECUTION
    alliance.save()
    for i in range(3, 5):
        add_round(alliance, i, 45)
    ada = client_for(world.ada)
    html = ada.get(url(alliance)).content.decode()
    layout = figures(html)["trend-relational"]["layout"]
    rects = [s for s in layout["shapes"] if s["type"] == "rect"]
    assert [(s["name"], s["y0"], s["y1"]) for s in rects] == [
        ("Red band", 0, 40),
        ("Yellow band", 40, 60),
        ("Green band", 60, 100),
        ("Red band", 0, 50),
        ("Yellow band", 50, 70),
        ("Green band", 70, 100),
    ]
    assert all(s["layer"] == "below" for s in rects)
    # The runs meet halfway between their rounds and cover the x range exactly.
    assert rects[0]["x1"] == rects[3]["x0"] == "2024-03-16"
    assert [rects[0]["x0"], rects[3]["x1"]] == layout["xaxis"]["range"]
    # Each band is in the legend once; the stages are named on the chart and the page.
    assert [s["showlegend"] for s in rects] == [True, True, True, False, False, False]
    assert [a["text"] for a in layout["annotations"]] == ["Formation", "Execution"]
    assert "green from 60, red below 40" in html
    assert "green from 70, red below 50" in html
    # The same score is judged by its own stage's thresholds.
    everyone = figures(html)["trend-relational"]["data"][0]
    assert everyone["text"] == ["yellow, 40–60"] * 3 + ["red, < 50"] * 2
    rows = csv_rows(ada.get(url(alliance, "trends.csv")))
    first = cell(rows, "2024-01-01", "Relational trust", "everyone")
    last = cell(rows, "2024-05-01", "Relational trust", "everyone")
    assert (first["green_from"], first["red_below"], first["stage"]) == ("60", "40", "Formation")
    assert (last["green_from"], last["red_below"], last["stage"]) == ("70", "50", "Execution")


# --- months ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "months, expected", [("12", 12), ("24", 24), ("36", 30), ("all", 30), ("", 24), ("7", 24)]
)
def test_months_choose_how_far_back(alliance, world, client_for, months, expected):
    for i in range(30):
        add_round(alliance, i, 70)
    ada = client_for(world.ada)
    response = ada.get(url(alliance), {"months": months})
    assert response.status_code == 200
    assert len(figures(response.content.decode())["trend-strategic"]["data"][0]["x"]) == expected
    rows = csv_rows(ada.get(url(alliance, "trends.csv"), {"months": months}))
    assert len(rows) == expected * len(METRICS) * 3


@pytest.mark.parametrize("months", ["abc", "-1", "0", "24; DROP", "９", "all " * 50])
def test_a_wrong_months_value_falls_back_to_the_default(alliance, world, client_for, months):
    add_round(alliance, 0, 70)
    ada = client_for(world.ada)
    page = ada.get(url(alliance), {"months": months})
    assert page.status_code == 200
    assert 'aria-current="true">24 months</a>' in page.content.decode()
    assert ada.get(url(alliance, "trends.csv"), {"months": months}).status_code == 200


def test_the_range_links_work_without_javascript_and_swap_with_htmx(alliance, world, client_for):
    add_round(alliance, 0, 70)
    ada = client_for(world.ada)
    html = ada.get(url(alliance)).content.decode()
    assert 'href="?months=12"' in html and 'hx-get="?months=12"' in html
    fragment = ada.get(url(alliance), {"months": "all"}, headers={"HX-Request": "true"})
    text = fragment.content.decode()
    assert text.lstrip().startswith('<div id="trend">')
    assert "<html" not in text and "plotly-basic.min.js" not in text
    assert 'aria-current="true">All rounds</a>' in text
    assert "HX-Request" in fragment["Vary"]
    # htmx restoring "back" from the server wants the whole page.
    restore = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    page = ada.get(url(alliance), {"months": "all"}, headers=restore).content.decode()
    assert "<html" in page and page.count("plotly-basic.min.js") == 1


# --- the CSV ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who, org", [("ada", "northwind"), ("ben", "contoso")])
def test_both_sides_download_the_csv(alliance, world, client_for, who, org):
    add_round(alliance, 0, 72.25, **sides(64, 80))
    add_round(alliance, 1, 45, **sides(40, 50))
    response = client_for(getattr(world, who)).get(url(alliance, "trends.csv", org=org))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode()
    assert text.splitlines()[0] == ",".join(CSV_HEADER)
    rows = csv_rows(response)
    assert len(rows) == 2 * len(METRICS) * 3
    first = cell(rows, "2024-01-01", "Strategic alignment", "everyone")
    assert first["period"] == "January 2024"
    assert (first["side"], first["score"], first["responses"], first["band"]) == (
        "Everyone",
        "72.2",
        "8",
        "green",
    )
    assert cell(rows, "2024-01-01", "Trust anchor", "lead")["side"] == "Northwind"
    assert cell(rows, "2024-02-01", "Trust anchor", "partner")["side"] == "Contoso"
    assert cell(rows, "2024-02-01", "Trust anchor", "everyone")["band"] == "red"


def test_csv_cells_are_formula_safe_and_numbers_stay_numbers(alliance, world, client_for):
    world.contoso.name = '=HYPERLINK("http://evil.example")'
    world.contoso.save()
    world.northwind.name = "@Northwind"
    world.northwind.save()
    rounds = [add_round(alliance, i, 80, **sides(90, 60)) for i in range(2)]
    threshold_check(
        now=timezone.now(), alliance_ids=[alliance.pk], round_ids=[r.pk for r in rounds]
    )
    text = client_for(world.ada).get(url(alliance, "trends.csv")).content.decode()
    rows = list(csv.reader(io.StringIO(text)))
    names = {row[5] for row in rows[1:]}
    assert names == {"Everyone", "'@Northwind", '\'=HYPERLINK("http://evil.example")'}
    reasons = [row[12] for row in rows[1:] if row[4] == "partner" and row[12]]
    assert reasons and all(r.startswith("'=HYPERLINK") for r in reasons)
    # Every cell that could start a formula is neutralised...
    for row in rows:
        for value in row:
            assert value[:1] not in ("=", "+", "-", "@"), value
    # ...and numbers are written as plain numbers.
    lead = next(row for row in rows if row[4] == "lead")
    assert (lead[6], lead[7], lead[8], lead[9]) == ("90", "4", "70", "50")
    assert (
        'attachment; filename="trends-'
        in client_for(world.ada).get(url(alliance, "trends.csv"))["Content-Disposition"]
    )


# --- tenancy and queries ---------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["trends/", "trends.csv"])
def test_an_outsider_gets_404(alliance, world, client_for, suffix):
    add_round(alliance, 0, 70)
    cy = client_for(world.cy)
    assert cy.get(url(alliance, suffix, org="northwind")).status_code == 404
    assert cy.get(url(alliance, suffix, org="fabrikam")).status_code == 404
    # Litware's people are no party to the Northwind–Contoso alliance either.
    assert client_for(world.ben).get(url(world.litware, suffix, org="contoso")).status_code == 404


def count_queries(client, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


@pytest.mark.parametrize("suffix", ["trends/?months=all", "trends.csv?months=all"])
def test_a_fixed_number_of_queries_however_many_rounds(
    alliance, world, client_for, django_assert_num_queries, suffix
):
    ada = client_for(world.ada)
    rounds = [add_round(alliance, i, 60 + i, **sides(55, 70)) for i in range(6)]
    ada.get(url(alliance, suffix))  # warm the session
    few = count_queries(ada, url(alliance, suffix))
    alliance.stage = Stage.EVALUATION
    alliance.save()
    rounds += [add_round(alliance, i, 40 + i, **sides(35, 80)) for i in range(6, 30)]
    threshold_check(
        now=timezone.now(), alliance_ids=[alliance.pk], round_ids=[r.pk for r in rounds]
    )
    with django_assert_num_queries(few):
        response = ada.get(url(alliance, suffix))
    body = response.content.decode()
    assert "2026-06-01" in body or "June 2026" in body
