"""Dashboards served from the cache: fresh after every kind of change they show, never shared
between viewers who may see different things, replaced only once a change commits, and never
a failure when the cache is down."""

from datetime import timedelta

import pytest
from django.core.cache import caches
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alliances.models import Side, Stage, Visibility
from governance import services as gov
from governance.models import ActionItem, Risk, RiskCategory
from scorecards import freshness
from scorecards.alerts import threshold_check
from scorecards.kpis import kpi_defaults_seed, kpi_value_save
from scorecards.lights import Color
from scorecards.models import Alert, AlertKind, AlertStatus, Kpi, Metric
from surveys.models import SurveyRound
from tests.test_dashboards import check_as_closed
from tests.test_health_alerts import CORNERS, add_round


@pytest.fixture
def lit(world):
    alliance = world.shared
    SurveyRound.objects.filter(alliance=alliance).delete()
    for i in range(4):
        survey_round = add_round(
            alliance, i, {**dict.fromkeys(CORNERS, 70), "relational": 70 - 8 * i}
        )
        check_as_closed(alliance)
    Alert.objects.create(
        alliance=alliance,
        metric=Metric.RELATIONAL,
        period_start=survey_round.period_start,
        round=survey_round,
        kind=AlertKind.DECLINE,
        to_color=Color.YELLOW,
        reason="Relational trust keeps falling.",
    )
    return alliance


def article(page: str) -> str:
    """The page's own content, without the frame (whose CSRF header differs per request)."""
    return page[page.index('<article class="onepager"') : page.rindex("</article>")]


def one_pager(client, org, alliance) -> str:
    response = client.get(f"/o/{org}/alliances/{alliance.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def count(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_a_second_view_is_served_from_the_cache(world, lit, client_for):
    client = client_for(world.ada)
    url = f"/o/northwind/alliances/{lit.pk}/"
    client.get(url)  # sets the CSRF cookie the cached page is keyed on
    first = client.get(url).content.decode()
    assert count(client, url) == 3  # the user, their memberships, the alliance
    assert article(client.get(url).content.decode()) == article(first)
    portfolio = "/o/northwind/portfolio/"
    client.get(portfolio)
    caches["dashboards"].clear()
    rendered = count(client, portfolio)
    assert count(client, portfolio) < rendered


def test_acknowledging_an_alert_shows_at_once(world, lit, client_for):
    client = client_for(world.ada)
    alert = Alert.objects.filter(alliance=lit, status=AlertStatus.OPEN).first()
    assert "Acknowledge<" in one_pager(client, "northwind", lit)
    client.post(
        f"/o/northwind/alliances/{lit.pk}/health/alerts/{alert.pk}/acknowledge/",
        HTTP_HX_REQUEST="true",
    )
    page = one_pager(client, "northwind", lit)
    item = page[page.index(f'id="alert-{alert.pk}"') :]
    assert "acknowledged" in item[: item.index("</li>")]


def test_each_kind_of_change_reaches_the_cached_page(world, lit, client_for):
    client = client_for(world.ada)
    assert "Brand-new shared risk" not in one_pager(client, "northwind", lit)

    contact = lit.contacts.get(side=Side.LEAD)
    gov.risk_save(
        risk=Risk(
            alliance=lit,
            author_organization=world.northwind,
            title="Brand-new shared risk",
            category=RiskCategory.DEPENDENCY,
            likelihood=5,
            impact=5,
            owner=contact,
        ),
        user=world.ada,
        organization=world.northwind,
    )
    assert "Brand-new shared risk" in one_pager(client, "northwind", lit)

    action = ActionItem.objects.get(alliance=lit, title="Northwind shared action")
    action.status = "done"
    gov.action_save(action=action, user=world.ada)
    assert "Northwind shared action" not in one_pager(client, "northwind", lit)

    contact.name = "Renamed Owner"
    contact.save()
    assert "Renamed Owner" in one_pager(client, "northwind", lit)

    lit.stage = Stage.EXECUTION
    lit.save()
    assert "Stage 3 of 5: Execution" in one_pager(client, "northwind", lit)

    world.contoso.name = "Contoso Renamed"
    world.contoso.save()
    assert "Contoso Renamed" in one_pager(client, "northwind", lit)

    kpi_defaults_seed(alliance=lit)
    kpi = next(
        k for k in Kpi.objects.filter(alliance=lit) if not k.is_computed and k.has_thresholds
    )
    page = one_pager(client, "northwind", lit)
    assert kpi.name in page
    kpi_value_save(
        kpi=kpi,
        month=timezone.localdate().replace(day=1),
        value=kpi.green_from,
        user=world.ada,
        today=timezone.localdate(),
    )
    assert "No light" not in one_pager(client, "northwind", lit).split(kpi.name)[0][-200:]

    before = one_pager(client, "northwind", lit)
    add_round(lit, 4, 20)
    threshold_check(now=timezone.now(), alliance_ids=[lit.pk])
    after = one_pager(client, "northwind", lit)
    assert article(after) != article(before) and 'light-score">20<' in after


def test_tomorrow_is_a_new_page(world, lit, client_for, monkeypatch):
    client = client_for(world.ada)
    today = timezone.localdate()
    assert today.strftime("%-d %B %Y") in one_pager(client, "northwind", lit)
    tomorrow = today + timedelta(days=1)
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: tomorrow)
    assert tomorrow.strftime("%-d %B %Y") in one_pager(client, "northwind", lit)


def test_viewers_never_share_a_cached_page(world, lit, client_for):
    ada = one_pager(client_for(world.ada), "northwind", lit)
    assert "Northwind internal risk" in ada and "Acknowledge<" in ada
    ben = one_pager(client_for(world.ben), "contoso", lit)
    assert "Northwind internal risk" not in ben and "Contoso internal risk" in ben
    vic = one_pager(client_for(world.vic), "northwind", lit)
    assert "Northwind internal risk" in vic and "Acknowledge<" not in vic
    dan_client = client_for(world.dan)
    dan = one_pager(dan_client, "northwind", lit)
    # Dan's forms carry Dan's CSRF token, not Ada's: acknowledging works for him.
    alert = Alert.objects.filter(alliance=lit, status=AlertStatus.OPEN).first()
    token = dan.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    dan_client.handler.enforce_csrf_checks = True
    response = dan_client.post(
        f"/o/northwind/alliances/{lit.pk}/health/alerts/{alert.pk}/acknowledge/",
        {"csrfmiddlewaretoken": token, "next": f"/o/northwind/alliances/{lit.pk}/"},
    )
    assert response.status_code == 302


def test_a_portfolio_shows_a_new_alliance_and_a_new_alert(world, lit, client_for):
    from tests.factories import AllianceFactory

    client = client_for(world.ada)
    page = client.get("/o/northwind/portfolio/").content.decode()
    assert "A freshly made alliance" not in page
    AllianceFactory(lead_organization=world.northwind, name="A freshly made alliance")
    page = client.get("/o/northwind/portfolio/").content.decode()
    assert "A freshly made alliance" in page
    partial = client.get("/o/northwind/portfolio/", HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<div id="portfolio-results">')
    assert client.get("/o/northwind/portfolio/").content.decode().startswith("<!doctype html>")


def test_the_cache_down_is_no_error(world, lit, client_for, monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("the cache is down")

    dashboards = caches["dashboards"]
    monkeypatch.setattr(dashboards, "get", down)
    monkeypatch.setattr(dashboards, "set", down)
    page = one_pager(client_for(world.ada), "northwind", lit)
    assert "Relational trust" in page


@pytest.mark.django_db(transaction=True)
def test_tokens_are_replaced_only_when_the_change_commits(world, monkeypatch):
    """The real way: a page rendered from the old rows while a change is being written is
    cached under the old token, never under the new one."""
    monkeypatch.setattr(freshness, "after_commit", lambda flush: transaction.on_commit(flush))
    alliance = world.shared
    key = freshness._token_key("alliance", alliance.pk)
    before = freshness._tokens([key])[0]

    def new_risk(title):
        Risk.objects.create(
            alliance=alliance,
            author_organization=world.northwind,
            visibility=Visibility.SHARED,
            title=title,
            category=RiskCategory.DEPENDENCY,
            likelihood=1,
            impact=1,
        )

    with transaction.atomic():
        new_risk("Written, not yet committed")
        assert freshness._tokens([key])[0] == before
    after = freshness._tokens([key])[0]
    assert after != before
    org_key = freshness._token_key("organization", world.contoso.pk)
    partner_before = freshness._tokens([org_key])[0]
    with pytest.raises(RuntimeError), transaction.atomic():
        new_risk("Rolled back")
        raise RuntimeError
    assert freshness._tokens([key])[0] == after  # nothing committed, nothing replaced
    new_risk("Committed on its own")
    assert freshness._tokens([key])[0] != after
    assert freshness._tokens([org_key])[0] != partner_before  # the partner's portfolio too


def test_a_new_release_renders_afresh(world, lit, client_for, monkeypatch):
    """Pages cached by the code before are never served by the code after (their HTML and the
    static files they name belong to the old release)."""
    client = client_for(world.ada)
    url = f"/o/northwind/alliances/{lit.pk}/"
    client.get(url)
    client.get(url)
    assert count(client, url) == 3  # cached
    monkeypatch.setattr(freshness, "code_version", lambda: "the next release")
    assert count(client, url) > 3  # rendered again
    assert count(client, url) == 3


def test_a_request_without_a_csrf_cookie_is_rendered_not_cached(world, lit, client_for):
    """Its forms would carry a token for a secret the viewer gets only with this response."""
    client = client_for(world.ada)
    url = f"/o/northwind/alliances/{lit.pk}/"
    client.cookies.pop("csrftoken", None)
    assert count(client, url) > 3  # no cookie: rendered, and not kept
    assert "csrftoken" in client.cookies
    assert count(client, url) > 3  # the first view with the cookie: rendered and kept
    assert count(client, url) == 3
