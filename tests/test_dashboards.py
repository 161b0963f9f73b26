"""The one-pager and the portfolio: the same shared substance for both parties, internal items
for their own side only, outsiders 404, htmx in place, filters that never fail, a CSV that
cannot run formulas, the health snapshot the portfolio reads, and a fixed number of queries
however long the history or large the portfolio."""

import csv
import io
from datetime import date, timedelta

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alliances.models import Alliance, AllianceModel, Side, Stage
from alliances.tenancy import Scope, SharedScope
from governance.models import ActionItem, ActionStatus, Escalation
from scorecards import freshness
from scorecards.alerts import threshold_check
from scorecards.charts import quadrant, sparkline
from scorecards.dashboards import one_pager
from scorecards.lights import Color
from scorecards.models import Alert, AlertKind, AlertStatus, AllianceHealth, Metric
from scorecards.portfolio import PAGE_SIZE, PortfolioFilters
from surveys.models import SurveyRound
from tests.factories import AllianceFactory
from tests.test_health_alerts import CORNERS, add_round

# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def lit(world):
    """The shared alliance with a year of scored rounds, lit: relational trust falls to red."""
    alliance = world.shared
    SurveyRound.objects.filter(alliance=alliance).delete()
    for i in range(12):
        relational = 80 - 3 * i
        add_round(
            alliance,
            i,
            {**dict.fromkeys(CORNERS, 72), "relational": relational, "trust": 70},
            lead={"relational": relational + 10, "strategic": 75},
            partner={"relational": relational - 10, "strategic": 70},
        )
        check_as_closed(alliance)
    return alliance


def check_as_closed(alliance):
    """The threshold check as it runs when a round closes: it lights the newest round."""
    threshold_check(now=timezone.now(), alliance_ids=[alliance.pk])


def page_of(client, org, alliance, suffix=""):
    return client.get(f"/o/{org}/alliances/{alliance.pk}/{suffix}")


def queries(client, url, *, cached=False) -> int:
    """The queries of one request, after a first one has warmed per-process caches (and set
    the CSRF cookie). Rendered afresh unless ``cached``: then served from the dashboards
    cache, which the first request filled."""
    client.get(url)
    if not cached:
        caches["dashboards"].clear()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


# --- the one-pager ---------------------------------------------------------------------------


def test_one_pager_is_the_alliance_home_for_lead_partner_and_viewer(world, lit, client_for):
    viewer = world.vic
    for user, org in ((world.ada, "northwind"), (world.ben, "contoso"), (viewer, "northwind")):
        response = page_of(client_for(user), org, lit)
        assert response.status_code == 200
        text = response.content.decode()
        for corner in ("Strategic alignment", "Operational integration", "Relational trust"):
            assert corner in text
        assert "Value realisation" in text and "Trust anchor" in text and "Response rate" in text
        # A light is never colour alone: its symbol and its word are on the page.
        assert "■</span> Red" in text and "●</span> Green" in text
        assert "Stage 1 of 5" in text and "Next governance meetings" in text


def test_one_pager_shows_corners_with_sides_gap_and_trend(world, lit, client_for):
    text = page_of(client_for(world.ada), "northwind", lit).content.decode()
    # Relational trust fell 3 points a round: 47 now, lead 57, partner 37, a wide 20-point gap.
    assert "down 3 since the previous round" in text
    assert "20 points" in text and "wide" in text
    assert 'class="spark"' in text and "12 rounds, from 80 to 47" in text


def test_lead_and_partner_see_the_same_shared_substance(world, lit, client_for):
    ada = page_of(client_for(world.ada), "northwind", lit).content.decode()
    ben = page_of(client_for(world.ben), "contoso", lit).content.decode()
    for shared in (
        "Northwind shared action",
        "Contoso shared action",
        "Northwind shared risk",
        "Contoso shared risk",
        *(f"{a.get_metric_display()}: {a.get_kind_display().lower()}" for a in lit.alerts.all()),
    ):
        assert shared in ada and shared in ben, shared
    assert "Northwind internal risk" in ada and "Northwind internal risk" not in ben
    assert "Contoso internal risk" in ben and "Contoso internal risk" not in ada
    assert "Northwind internal action" in ada and "Northwind internal action" not in ben
    assert "Contoso internal action" in ben and "Contoso internal action" not in ada


def test_the_shared_scope_holds_what_both_sides_see_and_nothing_internal(world, lit):
    today = timezone.localdate()
    lead = one_pager(scope=_scope(world.ada, world.northwind), alliance=lit, today=today)
    partner = one_pager(scope=_scope(world.ben, world.contoso), alliance=lit, today=today)
    shared = one_pager(scope=SharedScope(lit), alliance=lit, today=today)
    for page in (lead, partner, shared):
        assert [c.light.score for c in page.corners] == [c.light.score for c in shared.corners]
        assert [a.pk for a in page.alerts] == [a.pk for a in shared.alerts]
    titles = {a.title for a in shared.upcoming} | {r.title for r in shared.risks}
    assert titles and not any("internal" in title for title in titles)
    assert {a.title for a in shared.upcoming} < {a.title for a in lead.upcoming}
    assert {a.title for a in shared.upcoming} < {a.title for a in partner.upcoming}


def _scope(user, organization) -> Scope:
    return Scope(user.memberships.get(organization=organization))


def test_outsiders_get_404_on_the_one_pager_and_the_portfolio_hides_them(world, lit, client_for):
    assert page_of(client_for(world.ben), "contoso", world.litware).status_code == 404
    cy = client_for(world.cy)  # the test client, now signed in as cy
    assert page_of(cy, "fabrikam", lit).status_code == 404
    assert page_of(cy, "northwind", lit).status_code == 404
    portfolio = cy.get("/o/fabrikam/portfolio/").content.decode()
    assert lit.name not in portfolio and world.fabrikam_alliance.name in portfolio
    exported = cy.get("/o/fabrikam/portfolio.csv").content.decode()
    assert lit.name not in exported and world.fabrikam_alliance.name in exported


def test_one_pager_without_rounds_says_so(world, client_for):
    SurveyRound.objects.filter(alliance=world.litware).delete()
    text = page_of(client_for(world.ada), "northwind", world.litware).content.decode()
    assert "No pulse round has closed yet" in text


def test_acknowledging_an_alert_in_place_returns_only_its_item(world, lit, client_for):
    alert = Alert.objects.filter(alliance=lit, status=AlertStatus.OPEN).first()
    client = client_for(world.ben)
    url = f"/o/contoso/alliances/{lit.pk}/health/alerts/{alert.pk}/acknowledge/"
    response = client.post(url, HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert response.status_code == 200
    assert text.lstrip().startswith(f'<li id="alert-{alert.pk}"') and "<html" not in text
    assert "acknowledged" in text and "Acknowledge<" not in text
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_by == world.ben
    # Without htmx the same button is a plain form that goes back to the page.
    other = Alert.objects.filter(alliance=lit, status=AlertStatus.OPEN).first()
    if other is not None:
        back = client.post(
            f"/o/contoso/alliances/{lit.pk}/health/alerts/{other.pk}/acknowledge/",
            {"next": f"/o/contoso/alliances/{lit.pk}/"},
        )
        assert back.status_code == 302 and back["Location"] == f"/o/contoso/alliances/{lit.pk}/"


def test_a_viewer_sees_no_buttons_and_may_not_acknowledge(world, lit, client_for):
    alert = Alert.objects.filter(alliance=lit, status=AlertStatus.OPEN).first()
    client = client_for(world.vic)
    text = page_of(client, "northwind", lit).content.decode()
    assert "Acknowledge<" not in text and "Mark done<" not in text
    url = f"/o/northwind/alliances/{lit.pk}/health/alerts/{alert.pk}/acknowledge/"
    assert client.post(url, HTTP_HX_REQUEST="true").status_code == 403
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN


def test_completing_an_action_in_place_returns_the_one_pager_item(world, lit, client_for):
    action = ActionItem.objects.get(alliance=lit, title="Northwind shared action")
    url = f"/o/northwind/alliances/{lit.pk}/actions/{action.pk}/complete/"
    response = client_for(world.ada).post(url, {"partial": "one-pager"}, HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert text.lstrip().startswith(f'<li id="onepager-action-{action.pk}"')
    assert "is-done" in text and "Mark done" not in text
    action.refresh_from_db()
    assert action.status == ActionStatus.DONE


def test_one_pager_queries_do_not_grow_with_history_or_records(world, client_for):
    alliance = world.shared
    SurveyRound.objects.filter(alliance=alliance).delete()
    client = client_for(world.ada)
    for i in range(2):
        add_round(alliance, i, 70 - 25 * i)
        check_as_closed(alliance)
    few = queries(client, f"/o/northwind/alliances/{alliance.pk}/")
    for i in range(2, 30):
        add_round(alliance, i, 40 if i % 2 else 75)
        check_as_closed(alliance)
    _more_records(alliance)
    many = queries(client, f"/o/northwind/alliances/{alliance.pk}/")
    assert few == many
    # Served from the cache: the user, their memberships (the scope and the organisation
    # switcher) and the alliance, nothing of the page's own (the session is in the cache too).
    assert queries(client, f"/o/northwind/alliances/{alliance.pk}/", cached=True) == 3


def _more_records(alliance):
    """Thirty actions, overdue and upcoming, and twenty open alerts."""
    contact = alliance.contacts.get(side=Side.LEAD)
    today = timezone.localdate()
    latest = SurveyRound.objects.filter(alliance=alliance).order_by("-opens_at").first()
    Alert.objects.bulk_create(
        Alert(
            alliance=alliance,
            metric=Metric.VALUE,
            period_start=date(2000 + i, 1, 1),
            round=latest,
            kind=AlertKind.RED,
            to_color=Color.RED,
            reason=f"Alert {i}.",
        )
        for i in range(20)
    )
    ActionItem.objects.bulk_create(
        ActionItem(
            alliance=alliance,
            author_organization=alliance.lead_organization,
            title=f"Action {i}",
            owner=contact,
            due_on=today + timedelta(days=i - 10),
        )
        for i in range(30)
    )


# --- the portfolio ---------------------------------------------------------------------------


def bulk_portfolio(world, count: int, first: int = 0) -> list[Alliance]:
    """``count`` more alliances led by Northwind, each with a lit snapshot and an open alert
    every third one: built in a handful of INSERTs."""
    alliances = Alliance.objects.bulk_create(
        Alliance(
            lead_organization=world.northwind,
            partner_organization=world.contoso if i % 2 else None,
            partner_name="Contoso" if i % 2 else f"Prospect {i % 7}",
            name=f"Bulk alliance {first + i:04d}",
            purpose="Win together.",
            stage=1 + i % 5,
            model=list(AllianceModel.values)[i % len(AllianceModel.values)],
            strategic_importance=1 + i % 5,
            created_at=timezone.now(),
        )
        for i in range(count)
    )
    opens = timezone.now() - timedelta(days=20)
    rounds = SurveyRound.objects.bulk_create(
        SurveyRound(
            alliance=a,
            period_start=date(2026, 10, 1),
            period_end=date(2026, 10, 31),
            stage=a.stage,
            opens_at=opens,
            closes_at=opens + timedelta(days=10),
            closed_at=opens + timedelta(days=10),
        )
        for a in alliances
    )
    colors = [Color.GREEN, Color.YELLOW, Color.RED, Color.GREY]
    AllianceHealth.objects.bulk_create(
        AllianceHealth(
            alliance=a,
            round=r,
            period_start=r.period_start,
            strategic=colors[i % 4],
            operational=Color.GREEN,
            relational=colors[(i + 1) % 4],
            value=Color.GREEN,
            worst=max(colors[i % 4].rank, colors[(i + 1) % 4].rank),
            score=40 + i % 50,
            change=(i % 11) - 5,
            trend=[[f"2026-{m:02d}-01", 50 + m] for m in range(1, 11)],
            response_rate=80,
            divergence=i % 13 == 0,
        )
        for i, (a, r) in enumerate(zip(alliances, rounds, strict=True))
    )
    Alert.objects.bulk_create(
        Alert(
            alliance=a,
            metric=Metric.RELATIONAL,
            period_start=r.period_start,
            round=r,
            kind=AlertKind.RED if i % 2 else AlertKind.DECLINE,
            to_color=Color.RED,
            reason="Fell.",
        )
        for i, (a, r) in enumerate(zip(alliances, rounds, strict=True))
        if i % 3 == 0
    )
    return alliances


@pytest.mark.parametrize("url", ["/o/northwind/portfolio/", "/o/northwind/portfolio/?light=red"])
def test_portfolio_and_one_pager_queries_are_the_same_at_10_and_1000_alliances(
    world, lit, client_for, url
):
    client = client_for(world.ada)
    bulk_portfolio(world, 8)
    small = queries(client, url), queries(client, f"/o/northwind/alliances/{lit.pk}/")
    bulk_portfolio(world, 992, first=8)
    assert Alliance.objects.filter(lead_organization=world.northwind).count() >= 1000
    large = queries(client, url), queries(client, f"/o/northwind/alliances/{lit.pk}/")
    assert small == large
    page = client.get(url).content.decode()
    assert page.count("<tr data-alliance=") == PAGE_SIZE
    assert queries(client, "/o/northwind/portfolio.csv") == queries(
        client, "/o/northwind/portfolio.csv?stage=2"
    )


def test_portfolio_lists_lights_trend_importance_and_alerts(world, lit, client_for):
    text = client_for(world.ada).get("/o/northwind/portfolio/").content.decode()
    row = text[text.index(f'data-alliance="{lit.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Relational trust: Red" in row and "Strategic alignment: Green" in row
    assert "■" in row and "●" in row  # shapes, not colour alone
    open_alerts = Alert.objects.filter(alliance=lit).exclude(status=AlertStatus.RESOLVED).count()
    assert f'#alerts">{open_alerts}</a>' in row
    assert 'class="spark"' in row and "12 rounds, from 74 to 66" in row


def test_portfolio_filters_narrow_and_bad_values_are_ignored(world, lit, client_for):
    bulk_portfolio(world, 30)
    client = client_for(world.ada)

    def names(query):
        response = client.get("/o/northwind/portfolio/" + query)
        assert response.status_code == 200, query
        return {
            a.name
            for a in Alliance.objects.filter(
                pk__in=[
                    int(chunk.split('"')[0])
                    for chunk in response.content.decode().split('data-alliance="')[1:]
                ]
            )
        }

    everything = names("")
    assert names("?stage=3") == set(
        Alliance.objects.filter(name__in=everything, stage=3).values_list("name", flat=True)
    )
    assert names("?importance=5") == set(
        Alliance.objects.filter(name__in=everything, strategic_importance=5).values_list(
            "name", flat=True
        )
    )
    reds = names("?light=red")
    assert lit.name in reds
    assert reds == set(
        AllianceHealth.objects.filter(alliance__name__in=everything, worst=3).values_list(
            "alliance__name", flat=True
        )
    )
    assert names("?light=none") == set(
        Alliance.objects.filter(name__in=everything)
        .exclude(health__worst__gt=0)
        .values_list("name", flat=True)
    )
    assert names("?partner=Prospect 2") == set(
        Alliance.objects.filter(partner_name="Prospect 2", lead_organization=world.northwind)
        .filter(partner_organization__isnull=True)
        .values_list("name", flat=True)
    )
    model = AllianceModel.values[0]
    assert names(f"?model={model}") == set(
        Alliance.objects.filter(name__in=everything, model=model).values_list("name", flat=True)
    )
    for bad in (
        "?stage=9",
        "?stage=x",
        "?light=purple",
        "?importance=0",
        "?sort=drop table",
        "?page=-1",
        "?page=99999999999",
        "?partner=%00",
        "?model=<script>",
    ):
        assert names(bad) <= everything


def test_the_partner_sees_its_portfolio_with_the_lead_named(world, lit, client_for):
    text = client_for(world.ben).get("/o/contoso/portfolio/").content.decode()
    assert lit.name in text and 'Northwind <span class="muted">(lead)</span>' in text
    assert world.litware.name not in text


def test_portfolio_sorts_and_pages_with_plain_links(world, lit, client_for):
    bulk_portfolio(world, 60)
    client = client_for(world.ada)
    first = client.get("/o/northwind/portfolio/?sort=name").content.decode()
    assert 'href="?sort=name&amp;page=2"' in first or 'href="?page=2&amp;sort=name"' in first
    second = client.get("/o/northwind/portfolio/?sort=name&page=2").content.decode()
    assert "Page 2 of 2" in second
    shown = [
        chunk.split("</a>")[0].split(">")[-1]
        for chunk in first.split('<th scope="row"><a href=')[1:]
    ]
    assert shown == sorted(shown)
    importance = client.get("/o/northwind/portfolio/?sort=importance").content.decode()
    top = importance.split('data-alliance="')[1].split('"')[0]
    assert Alliance.objects.get(pk=top).strategic_importance == 5


def test_htmx_filtering_returns_only_the_results(world, lit, client_for):
    response = client_for(world.ada).get(
        "/o/northwind/portfolio/?light=red", HTTP_HX_REQUEST="true"
    )
    text = response.content.decode()
    assert text.lstrip().startswith('<div id="portfolio-results">')
    assert "<html" not in text and lit.name in text
    assert 'id="matrix-figure"' in text  # the charts follow the filters


def test_needs_attention_names_new_reds_declines_divergence_and_overdue_escalations(
    world, lit, client_for
):
    assert not Alert.objects.filter(alliance=world.litware).exists()
    now = timezone.now()
    r = SurveyRound.objects.filter(alliance=lit).order_by("-opens_at").first()
    Alert.objects.filter(alliance=lit).delete()

    def alert(metric, kind, color, month, **fields):
        Alert.objects.create(
            alliance=lit,
            metric=metric,
            period_start=date(2020, month, 1),
            round=r,
            kind=kind,
            to_color=color,
            reason="Seen.",
            **fields,
        )
        # Written here directly, not by the threshold check: say so, as the check does.
        freshness.changed(alliances=[lit.pk])

    alert(Metric.VALUE, AlertKind.RED, Color.RED, 1, raised_at=now - timedelta(days=90))
    text = client_for(world.ada).get("/o/northwind/portfolio/").content.decode()
    assert "Value realisation red" not in text  # a red from three months ago is not new
    alert(Metric.RELATIONAL, AlertKind.RED, Color.RED, 2)
    alert(Metric.OPERATIONAL, AlertKind.DECLINE, Color.YELLOW, 2)
    AllianceHealth.objects.filter(alliance=lit).update(divergence=True)
    Escalation.objects.filter(alliance=world.litware).update(due_at=now - timedelta(days=1))
    freshness.changed(alliances=[lit.pk, world.litware.pk])
    text = client_for(world.ada).get("/o/northwind/portfolio/").content.decode()
    attention = text[text.index("Needs attention") : text.index('id="portfolio-filters"')]
    assert "Relational trust red" in attention
    assert "Operational integration declining" in attention
    assert "divergence: green numbers, red relationship" in attention
    assert world.litware.name in attention and "1 overdue escalation" in attention
    # The most pressing first: the alliance with a new red comes before the escalation.
    assert attention.index(lit.name) < attention.index(world.litware.name)
    # The partner sees the shared alliance's concerns, never Litware's.
    partner = client_for(world.ben).get("/o/contoso/portfolio/").content.decode()
    assert "Relational trust red" in partner and world.litware.name not in partner


def test_the_matrix_sorts_alliances_into_quadrants():
    assert quadrant(5, 80, 70) == "invest"
    assert quadrant(4, 69.9, 70) == "fix"
    assert quadrant(3, 70, 70) == "maintain"
    assert quadrant(1, 20, 70) == "exit"
    assert quadrant(5, None, 70) is None


def test_the_matrix_splits_at_the_organisations_own_green_threshold(world, lit, client_for):
    from scorecards.models import Threshold

    Threshold.objects.create(organization=world.northwind, green_from=60, red_below=40)
    text = client_for(world.ada).get("/o/northwind/portfolio/").content.decode()
    assert "health splits at 60" in text


# --- the CSV export --------------------------------------------------------------------------


def test_portfolio_csv_holds_every_filtered_alliance_and_cannot_run_formulas(
    world, lit, client_for
):
    for prefix in "=+-@":
        AllianceFactory(
            lead_organization=world.northwind,
            partner_name=f"{prefix}cmd|' /C calc'!A0",
            name=f'{prefix}HYPERLINK("http://evil")',
        )
    response = client_for(world.ada).get("/o/northwind/portfolio.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["alliance", "url", "your side"]
    names = [row[0] for row in body]
    for prefix in "=+-@":
        assert f'\'{prefix}HYPERLINK("http://evil")' in names
    for row in body:
        for cell in row:
            assert cell[:1] not in ("=", "+", "@") and not cell.startswith("-") or _number(cell)
    ours = next(row for row in body if row[0] == lit.name)
    column = dict(zip(header, ours, strict=True))
    assert column["relational trust"] == "Red" and column["your side"] == "Lead"
    assert column["partner"] == "Contoso" and column["stage"] == Stage(lit.stage).label
    assert float(column["change since previous round"]) < 0  # a number, not a quoted text
    assert column["url"].endswith(f"/o/northwind/alliances/{lit.pk}/")
    filtered = client_for(world.ada).get("/o/northwind/portfolio.csv?light=red").content
    assert len(list(csv.reader(io.StringIO(filtered.decode())))) < len(rows)


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


# --- the snapshot the portfolio reads --------------------------------------------------------


def test_the_threshold_check_writes_the_snapshot_once_and_idempotently(world, lit):
    health = AllianceHealth.objects.get(alliance=lit)
    latest = SurveyRound.objects.filter(alliance=lit).order_by("-opens_at").first()
    assert health.round == latest and health.relational == Color.RED
    assert health.worst == Color.RED.rank and len(health.trend) == 12
    assert health.change == pytest.approx(-0.75, abs=0.1)  # relational -3, others flat: /4
    assert health.trend[-1][1] == health.score
    threshold_check(now=timezone.now(), alliance_ids=[lit.pk])
    again = AllianceHealth.objects.get(alliance=lit)
    assert (again.score, again.trend, again.worst) == (health.score, health.trend, health.worst)
    assert AllianceHealth.objects.filter(alliance=lit).count() == 1


def test_an_alliance_without_scored_rounds_has_no_snapshot(world, lit):
    SurveyRound.objects.filter(alliance=lit).delete()
    threshold_check(now=timezone.now(), alliance_ids=[lit.pk])
    assert not AllianceHealth.objects.filter(alliance=lit).exists()


def test_home_goes_to_the_portfolio(world, client_for):
    assert client_for(world.ada).get("/").url == "/o/northwind/portfolio/"


def test_portfolio_filters_build_query_strings_that_start_over_at_page_one():
    filters = PortfolioFilters.from_querydict({"stage": "2", "page": "3", "sort": "name"})
    assert filters.query(page=4) == "?stage=2&sort=name&page=4"
    assert filters.query(light="red") == "?stage=2&light=red&sort=name"
    assert PortfolioFilters().query() == "?"


def test_sparkline_skips_gaps_and_keeps_its_scale():
    spark = sparkline([50, None, 100], low=0, high=100, width=23, height=13, pad=3)
    assert spark["points"] == "3.0,6.5 20.0,3.0" and spark["count"] == 2
    assert sparkline([None, None]) is None


def test_the_matrix_points_open_their_one_pager(world, lit, client_for):
    import json

    text = client_for(world.ada).get("/o/northwind/portfolio/").content.decode()
    raw = text.split('<script id="matrix-figure" type="application/json">')[1].split("</script>")[0]
    figure = json.loads(raw)
    urls = {url for trace in figure["data"] for url in trace["customdata"]}
    assert f"/o/northwind/alliances/{lit.pk}/" in urls
    names = {name for trace in figure["data"] for name in trace["text"]}
    assert lit.name in names and world.fabrikam_alliance.name not in names


def test_acknowledging_in_place_an_alert_someone_resolved_shows_it_resolved(world, lit, client_for):
    alert = Alert.objects.filter(alliance=lit, status=AlertStatus.OPEN).first()
    Alert.objects.filter(pk=alert.pk).update(
        status=AlertStatus.RESOLVED, resolved_at=timezone.now(), resolution="Fixed upstream."
    )
    url = f"/o/northwind/alliances/{lit.pk}/health/alerts/{alert.pk}/acknowledge/"
    response = client_for(world.ada).post(url, HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert response.status_code == 200 and "resolved" in text and "Fixed upstream." in text
    assert "Acknowledge<" not in text
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED


@pytest.mark.parametrize(
    "url",
    [
        "/o/northwind/portfolio/?light=red",
        "/o/northwind/?stage=1",
        "/o/northwind/alliances/{pk}/actions/?status=all",
        "/o/northwind/alliances/{pk}/trends/?months=12",
    ],
)
def test_htmx_restoring_back_from_the_server_gets_the_whole_page(world, lit, client_for, url):
    url = url.format(pk=lit.pk)
    client = client_for(world.ada)
    partial = client.get(url, HTTP_HX_REQUEST="true")
    restored = client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" not in partial.content.decode()
    assert "<html" in restored.content.decode()
    assert "HX-Request" in partial["Vary"] and "HX-Request" in restored["Vary"]
