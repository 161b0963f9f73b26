"""The API's survey, score and alert resources: survey settings and rounds (counts, never
answers), scores and lights per round and side under the anonymity rules, the latest lights,
the portfolio's health with ETags and 304s, and alerts acknowledged and resolved — for the
lead (ada, dan), the partner (ben), a viewer (vic) and an outsider (cy)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from scorecards.alerts import threshold_check
from scorecards.jobs import score_closed_rounds
from scorecards.lights import Color
from scorecards.models import Alert, AlertKind, AlertStatus, CornerScore, Metric, View
from surveys.models import RoundKind, SurveyInvitation, SurveyRound, SurveySettings
from tests.test_dashboards import bulk_portfolio
from tests.test_health_alerts import CORNERS, add_round

from .conftest import v1


def url(alliance, rest: str = "", org: str = "northwind") -> str:
    return v1(f"organizations/{org}/alliances/{alliance.pk}/{rest}")


def org_url(rest: str, org: str = "northwind") -> str:
    return v1(f"organizations/{org}/{rest}")


def count_queries(api, path: str, **params) -> int:
    """The queries of one GET, after a first one has warmed per-token writes (last used)."""
    assert api.get(path, params).status_code == 200, path
    with CaptureQueriesContext(connection) as captured:
        response = api.get(path, params)
    assert response.status_code == 200, path
    return len(captured)


def check(alliance):
    threshold_check(now=timezone.now(), alliance_ids=[alliance.pk])


@pytest.fixture
def scored(alliance):
    """The shared alliance with four scored, lit rounds: healthy, then relational trust red
    (one red alert), the two sides 20 points apart on it."""
    for i in range(3):
        add_round(alliance, i, 80, lead={"relational": 82}, partner={"relational": 78})
        check(alliance)
    latest = add_round(
        alliance,
        3,
        {**dict.fromkeys(CORNERS, 80), Metric.RELATIONAL: 30, Metric.TRUST: 75},
        lead={Metric.RELATIONAL: 40},
        partner={Metric.RELATIONAL: 20},
    )
    check(alliance)
    return latest


def red_alert(alliance) -> Alert:
    return Alert.objects.get(alliance=alliance, metric=Metric.RELATIONAL, kind=AlertKind.RED)


# --- survey settings ------------------------------------------------------------------------


def test_both_sides_read_the_schedule_and_only_the_lead_may_edit(world, api_for):
    lead = api_for(world.ada, world.northwind).get(url(world.shared, "survey-settings/"))
    assert lead.status_code == 200
    body = lead.json()
    assert body["effective"] == {
        "cadence": "monthly",
        "open_day": 1,
        "window_days": 10,
        "reminder_days": [3, 7],
    }
    assert body["follows_defaults"] is True and body["paused"] is False
    assert body["own"] == {
        "cadence": None,
        "open_day": None,
        "window_days": None,
        "reminder_days": None,
    }
    assert body["next_round"]["period_start"] and body["may_edit"] is True
    assert body["defaults"] == body["effective"]

    partner = api_for(world.ben, world.contoso).get(
        url(world.shared, "survey-settings/", "contoso")
    )
    assert partner.status_code == 200
    assert partner.json()["effective"] == body["effective"]
    assert partner.json()["may_edit"] is False
    assert partner.json()["defaults"] is None  # the lead's own defaults, as on the page

    outsider = api_for(world.cy, world.fabrikam)
    assert outsider.get(url(world.shared, "survey-settings/", "fabrikam")).status_code == 404
    assert (
        outsider.patch(
            url(world.shared, "survey-settings/", "fabrikam"), {"paused": True}
        ).status_code
        == 404
    )


def test_a_manager_changes_the_schedule_through_the_page_s_form_and_service(world, api_for):
    api = api_for(world.dan, world.northwind)
    path = url(world.shared, "survey-settings/")
    response = api.patch(path, {"cadence": "quarterly", "reminder_days": [5, 2]})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["effective"]["cadence"] == "quarterly"
    assert body["effective"]["reminder_days"] == [2, 5]
    assert body["own"]["open_day"] is None and body["follows_defaults"] is False
    saved = SurveySettings.objects.get(alliance=world.shared)
    assert saved.updated_by == world.dan and saved.reminder_days == [2, 5]

    # What is not sent stays; null follows the default again; [] is "no reminders".
    response = api.patch(path, {"open_day": 5, "paused": True})
    assert response.status_code == 200
    saved.refresh_from_db()
    assert (saved.cadence, saved.open_day, saved.reminder_days, saved.paused) == (
        "quarterly",
        5,
        [2, 5],
        True,
    )
    assert response.json()["next_round"] is None  # paused
    api.patch(path, {"reminder_days": []})
    saved.refresh_from_db()
    assert saved.reminder_days == []
    api.patch(path, {"reminder_days": None, "cadence": None})
    saved.refresh_from_db()
    assert saved.reminder_days is None and saved.cadence == ""
    assert api.get(path).json()["effective"]["cadence"] == "monthly"


def test_the_partner_and_a_viewer_may_not_change_the_schedule(world, api_for):
    partner = api_for(world.ben, world.contoso)
    path = url(world.shared, "survey-settings/", "contoso")
    response = partner.patch(path, {"paused": True})
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    viewer = api_for(world.vic, world.northwind)
    assert viewer.patch(url(world.shared, "survey-settings/"), {"paused": True}).status_code == 403
    assert not SurveySettings.objects.filter(alliance=world.shared).exists()

    world.shared.partner_may_edit_settings = True
    world.shared.save()
    assert partner.patch(path, {"paused": True}).status_code == 200
    assert SurveySettings.objects.get(alliance=world.shared).paused is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"open_day": 40}, "open_day"),
        ({"window_days": 1}, "window_days"),
        ({"cadence": "weekly"}, "cadence"),
        ({"window_days": 4, "reminder_days": [6]}, "reminder_days"),
        ({"window_days": 5}, "reminder_days"),  # the default reminders (3, 7) do not fit
        ({"reminder_days": "3, 7"}, "reminder_days"),
        ({"paused": "maybe"}, "paused"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_schedules_are_field_errors(world, api_for, body, field):
    response = api_for(world.ada, world.northwind).patch(
        url(world.shared, "survey-settings/"), body
    )
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert not SurveySettings.objects.filter(alliance=world.shared).exists()


# --- rounds ---------------------------------------------------------------------------------


def test_rounds_give_counts_and_rates_to_both_sides_and_never_answers(world, api_for):
    lead = api_for(world.ada, world.northwind).get(url(world.shared, "rounds/"))
    partner = api_for(world.ben, world.contoso).get(url(world.shared, "rounds/", "contoso"))
    assert lead.status_code == partner.status_code == 200
    assert lead.json()["results"] == partner.json()["results"]
    (row,) = lead.json()["results"]
    assert row["status"] == "closed" and row["kind"] == "scheduled"
    assert (row["invited"], row["responded"], row["response_rate"]) == (2, 2, 100)
    assert row["meets_benchmark"] is True
    assert row["by_side"] == [
        {"side": "lead", "name": "Northwind", "invited": 1, "responded": 1, "response_rate": 100},
        {"side": "partner", "name": "Contoso", "invited": 1, "responded": 1, "response_rate": 100},
    ]
    text = lead.content.decode()
    assert "Solid month." not in text  # the comment
    for word in ("answers", "comment", "email", "contact"):
        assert word not in row
    detail = api_for(world.ada, world.northwind).get(url(world.shared, f"rounds/{row['id']}/"))
    assert detail.json() == row


def test_rounds_of_another_tenant_are_404(world, api_for):
    api = api_for(world.ada, world.northwind)
    theirs = SurveyRound.objects.get(alliance=world.fabrikam_alliance)
    assert api.get(url(world.shared, f"rounds/{theirs.pk}/")).status_code == 404
    outsider = api_for(world.cy, world.fabrikam)
    assert outsider.get(url(world.shared, "rounds/", "fabrikam")).status_code == 404


def test_rounds_filter_and_order(world, api_for):
    api = api_for(world.ada, world.northwind)
    path = url(world.shared, "rounds/")
    assert api.get(path, {"closed_at__isnull": "true"}).json()["count"] == 0
    assert api.get(path, {"kind": "scheduled"}).json()["count"] == 1
    assert api.get(path, {"kind": "weekly"}).status_code == 400


def test_an_off_cycle_round_opens_like_the_page_opens_it(world, api_for):
    api = api_for(world.dan, world.northwind)
    path = url(world.shared, "rounds/")
    response = api.post(path, {"reason": "After the reorganisation"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["kind"] == RoundKind.OFF_CYCLE and body["status"] == "open"
    assert body["reason"] == "After the reorganisation" and body["invited"] == 2
    survey_round = SurveyRound.objects.get(pk=body["id"])
    assert survey_round.opened_by == world.dan
    assert SurveyInvitation.objects.filter(round=survey_round).count() == 2  # the service ran

    again = api.post(path, {"reason": "Once more"})
    assert again.status_code == 400
    assert "already open" in str(again.json()["errors"])


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "reason"), ({"reason": "   "}, "reason"), ({"reason": "x", "why": "y"}, "why")],
)
def test_off_cycle_round_field_errors(world, api_for, body, field):
    response = api_for(world.ada, world.northwind).post(url(world.shared, "rounds/"), body)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not SurveyRound.objects.filter(alliance=world.shared, kind=RoundKind.OFF_CYCLE).exists()


def test_only_who_may_edit_settings_opens_an_off_cycle_round(world, api_for):
    body = {"reason": "Pricing dispute"}
    viewer = api_for(world.vic, world.northwind)
    assert viewer.post(url(world.shared, "rounds/"), body).status_code == 403
    partner = api_for(world.ben, world.contoso)
    assert partner.post(url(world.shared, "rounds/", "contoso"), body).status_code == 403
    outsider = api_for(world.cy, world.fabrikam)
    assert outsider.post(url(world.shared, "rounds/", "fabrikam"), body).status_code == 404
    assert not SurveyRound.objects.filter(kind=RoundKind.OFF_CYCLE).exists()


def test_rounds_list_queries_do_not_grow_with_rounds(world, api_for):
    api = api_for(world.ada, world.northwind)
    path = url(world.shared, "rounds/")
    one = count_queries(api, path)
    opens = timezone.now() - timedelta(days=400)
    for i in range(12):
        start = (opens + timedelta(days=31 * i)).date()
        SurveyRound.objects.create(
            alliance=world.shared,
            kind=RoundKind.OFF_CYCLE,
            period_start=start,
            period_end=start,
            stage=world.shared.stage,
            opens_at=opens + timedelta(days=31 * i),
            closes_at=opens + timedelta(days=31 * i + 10),
            closed_at=opens + timedelta(days=31 * i + 10),
        )
    assert api.get(path).json()["count"] == 13
    assert count_queries(api, path) == one


# --- scores and lights ----------------------------------------------------------------------


def test_scores_per_round_and_side_for_both_parties(world, scored, api_for):
    lead = api_for(world.ada, world.northwind).get(url(world.shared, "scores/"))
    partner = api_for(world.ben, world.contoso).get(url(world.shared, "scores/", "contoso"))
    assert lead.status_code == partner.status_code == 200
    assert lead.json()["results"] == partner.json()["results"]
    rounds = lead.json()["results"]
    assert [r["round"] for r in rounds][0] == scored.pk and len(rounds) == 4
    latest = rounds[0]
    assert latest["thresholds"] == {"green_from": 70.0, "red_below": 50.0}
    cells = {(c["metric"], c["view"]): c for c in latest["scores"]}
    relational = cells[("relational", "all")]
    assert relational["score"] == 30.0 and relational["color"] == Color.RED
    assert relational["responses"] == 8
    assert any("below 50" in reason for reason in relational["reasons"])
    assert cells[("relational", "lead")]["score"] == 40.0
    assert cells[("relational", "partner")]["score"] == 20.0
    assert cells[("strategic", "all")]["color"] == Color.GREEN
    assert cells[("response_rate", "all")]["score"] == pytest.approx(88.9, abs=0.1)


def test_scores_filter_by_metric_view_and_period(world, scored, api_for):
    api = api_for(world.ada, world.northwind)
    path = url(world.shared, "scores/")
    body = api.get(path, {"metric": ["relational", "trust"], "view": "lead"}).json()
    for row in body["results"]:
        assert {(c["metric"], c["view"]) for c in row["scores"]} <= {
            ("relational", "lead"),
            ("trust", "lead"),
        }
    cells = {c["metric"]: c for c in body["results"][0]["scores"]}
    assert cells["relational"]["score"] == 40.0 and cells["relational"]["responses"] == 4
    assert cells["trust"]["score"] is None  # the lead's trust was not stored: no score
    since = api.get(path, {"period_start__gte": scored.period_start.isoformat()}).json()
    assert [r["round"] for r in since["results"]] == [scored.pk]
    wrong = api.get(path, {"view": "function"})
    assert wrong.status_code == 400 and "view" in wrong.json()["errors"]
    assert api.get(path, {"metric": "mood"}).status_code == 400
    row = scored.health.pk
    one = api.get(url(world.shared, f"scores/{row}/"), {"metric": "relational"})
    assert one.status_code == 200 and one.json()["round"] == scored.pk
    assert {c["metric"] for c in one.json()["scores"]} == {"relational"}


def test_scores_respect_the_anonymity_rules(world, api_for):
    """The world's real round: one person per side answered. Their scores are stored, but
    too few to show: null, as the pages leave them blank, and the lights are grey."""
    score_closed_rounds(now=timezone.now())
    assert CornerScore.objects.filter(alliance=world.shared, view=View.LEAD).exists()
    body = api_for(world.ada, world.northwind).get(url(world.shared, "scores/")).json()
    (row,) = body["results"]
    scored_cells = [c for c in row["scores"] if c["metric"] != "response_rate"]
    assert scored_cells
    for cell in scored_cells:
        assert cell["score"] is None and cell["responses"] is None
    assert {c["color"] for c in scored_cells if c["view"] == "all"} <= {Color.GREY, None}
    latest = api_for(world.ada, world.northwind).get(url(world.shared, "scores/latest/")).json()
    for card in latest["corners"]:
        assert card["score"] is None
        for side in ("lead", "partner"):
            assert card[side] is None or card[side]["score"] is None


def test_scores_answer_304_until_a_new_score_changes_the_etag(world, scored, api_for):
    api = api_for(world.ada, world.northwind)
    path = url(world.shared, "scores/")
    first = api.get(path)
    etag = first["ETag"]
    assert first.status_code == 200 and etag.startswith('"')

    api.get(path, HTTP_IF_NONE_MATCH=etag)  # warm the token's last-used write
    with CaptureQueriesContext(connection) as captured:
        cached = api.get(path, HTTP_IF_NONE_MATCH=etag)
    assert cached.status_code == 304 and cached["ETag"] == etag and not cached.content
    body_tables = ("scorecards_roundhealth", "scorecards_cornerscore", "scorecards_light")
    assert not [q for q in captured.captured_queries if any(t in q["sql"] for t in body_tables)]

    assert api.get(path, {"view": "lead"})["ETag"] != etag  # another body, another tag
    assert api.get(path, {"page_size": 1}, HTTP_IF_NONE_MATCH=etag).status_code == 200

    add_round(world.shared, 4, 85)  # a new score
    check(world.shared)  # and its lights
    fresh = api.get(path, HTTP_IF_NONE_MATCH=etag)
    assert fresh.status_code == 200 and fresh["ETag"] != etag
    assert fresh.json()["count"] == 5


def test_latest_lights_as_the_one_pager_shows_them(world, scored, api_for):
    api = api_for(world.ben, world.contoso)
    response = api.get(url(world.shared, "scores/latest/", "contoso"))
    assert response.status_code == 200
    body = response.json()
    assert body["round"]["round"] == scored.pk and body["round"]["label"] == scored.label
    assert [c["metric"] for c in body["corners"]] == CORNERS
    relational = body["corners"][2]
    assert relational["color"] == Color.RED and relational["score"] == 30.0
    assert relational["trend"] == "down" and relational["change"] == -50.0
    assert relational["lead"]["score"] == 40.0 and relational["partner"]["score"] == 20.0
    assert relational["gap"] == 20.0 and relational["gap_wide"] is True
    assert body["corners"][0]["color"] == Color.GREEN
    assert body["trust"]["metric"] == "trust" and body["trust"]["score"] == 75.0
    assert body["response_rate"]["metric"] == "response_rate"
    assert body["thresholds"] == {"green_from": 70.0, "red_below": 50.0}

    etag = response["ETag"]
    again = api.get(url(world.shared, "scores/latest/", "contoso"), HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304


def test_latest_lights_before_any_round_is_scored(world, api_for):
    body = api_for(world.ada, world.northwind).get(url(world.shared, "scores/latest/")).json()
    assert body["round"] is None and body["response_rate"] is None
    assert [c["color"] for c in body["corners"]] == [None] * 4


def test_scores_are_read_only_and_other_tenants_get_404(world, scored, api_for):
    outsider = api_for(world.cy, world.fabrikam)
    for rest in ("scores/", "scores/latest/", f"scores/{scored.health.pk}/"):
        assert outsider.get(url(world.shared, rest, "fabrikam")).status_code == 404
    api = api_for(world.ada, world.northwind)
    assert api.post(url(world.shared, "scores/"), {}).status_code == 405
    add_round(world.fabrikam_alliance, 0, 80)
    theirs = world.fabrikam_alliance.round_health.get()
    assert api.get(url(world.shared, f"scores/{theirs.pk}/")).status_code == 404


def test_scores_list_queries_do_not_grow_with_rounds(world, alliance, api_for):
    api = api_for(world.ada, world.northwind)
    path = url(alliance, "scores/")
    add_round(alliance, 0, 80, lead={"relational": 80}, partner={"relational": 75})
    check(alliance)
    one = count_queries(api, path)
    for i in range(1, 13):
        add_round(alliance, i, 70 + i, lead={"relational": 80}, partner={"relational": 75})
        check(alliance)
    assert api.get(path).json()["count"] == 13
    assert count_queries(api, path) == one


# --- the portfolio's health -----------------------------------------------------------------


def test_portfolio_health_lists_each_party_s_latest_snapshot(world, scored, api_for):
    lead = api_for(world.ada, world.northwind).get(org_url("health/"))
    assert lead.status_code == 200
    (row,) = [r for r in lead.json()["results"] if r["alliance"] == world.shared.pk]
    assert row["relational"] == Color.RED and row["strategic"] == Color.GREEN
    assert row["worst"] == 3 and row["worst_color"] == Color.RED
    assert row["your_side"] == "lead" and row["counterparty"] == "Contoso"
    assert row["round"] == scored.pk and row["open_alerts"] == 1
    assert row["change"] is not None and row["score"] is not None

    partner = api_for(world.ben, world.contoso).get(org_url("health/", "contoso")).json()
    (theirs,) = partner["results"]
    assert theirs["your_side"] == "partner" and theirs["counterparty"] == "Northwind"
    assert theirs["relational"] == row["relational"]

    outsider = api_for(world.cy, world.fabrikam)
    assert world.shared.pk not in [
        r["alliance"] for r in outsider.get(org_url("health/", "fabrikam")).json()["results"]
    ]
    assert outsider.get(org_url(f"health/{world.shared.pk}/", "fabrikam")).status_code == 404
    assert outsider.get(org_url("health/")).status_code == 404


def test_portfolio_health_filters_and_etag(world, scored, api_for):
    api = api_for(world.ada, world.northwind)
    path = org_url("health/")
    assert [r["alliance"] for r in api.get(path, {"light": "red"}).json()["results"]] == [
        world.shared.pk
    ]
    assert api.get(path, {"light": "green"}).json()["count"] == 0
    assert api.get(path, {"stage": world.shared.stage}).json()["count"] == 1
    assert api.get(path, {"stage": 1 if world.shared.stage != 1 else 2}).json()["count"] == 0
    assert api.get(path, {"model": world.shared.model}).json()["count"] == 1
    assert api.get(path, {"light": "purple"}).status_code == 400

    first = api.get(path)
    assert api.get(path, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    one = api.get(org_url(f"health/{world.shared.pk}/"))
    assert one.status_code == 200 and one.json()["alliance"] == world.shared.pk
    assert (
        api.get(org_url(f"health/{world.shared.pk}/"), HTTP_IF_NONE_MATCH=one["ETag"]).status_code
        == 304
    )

    add_round(world.shared, 4, 85)
    check(world.shared)
    assert api.get(path, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200


def test_portfolio_health_queries_do_not_grow_with_alliances(world, api_for):
    api = api_for(world.ada, world.northwind)
    path = org_url("health/")
    bulk_portfolio(world, 2)
    small = count_queries(api, path)
    bulk_portfolio(world, 60, first=2)
    assert api.get(path).json()["count"] == 62
    assert count_queries(api, path) == small


# --- alerts ---------------------------------------------------------------------------------


def test_both_sides_list_the_alliance_s_alerts_with_filters(world, scored, api_for):
    alert = red_alert(world.shared)
    lead = api_for(world.ada, world.northwind).get(url(world.shared, "alerts/"))
    partner = api_for(world.ben, world.contoso).get(url(world.shared, "alerts/", "contoso"))
    assert lead.json()["results"] == partner.json()["results"]
    (row,) = [r for r in lead.json()["results"] if r["id"] == alert.pk]
    assert row["metric"] == "relational" and row["kind"] == "red" and row["status"] == "open"
    assert row["to_color"] == Color.RED and row["reason"] and row["action"] == alert.action_id

    api = api_for(world.ada, world.northwind)
    path = url(world.shared, "alerts/")
    assert api.get(path, {"status": "resolved"}).json()["count"] == 0
    assert api.get(path, {"status__in": "open,acknowledged"}).json()["count"] >= 1
    assert api.get(path, {"metric": "relational", "kind": "red"}).json()["count"] == 1
    after = (alert.raised_at + timedelta(minutes=1)).isoformat()
    assert api.get(path, {"raised_at__gte": after}).json()["count"] == 0
    assert api.get(path, {"status": "sleeping"}).status_code == 400
    assert api.get(url(world.shared, f"alerts/{alert.pk}/")).json()["id"] == alert.pk


def test_the_portfolio_alerts_inbox_holds_only_the_organisation_s_alliances(world, scored, api_for):
    alert = red_alert(world.shared)
    Alert.objects.create(
        alliance=world.fabrikam_alliance,
        metric=Metric.VALUE,
        period_start=alert.period_start,
        kind=AlertKind.RED,
        to_color=Color.RED,
        reason="Theirs.",
    )
    mine = api_for(world.ben, world.contoso).get(org_url("alerts/", "contoso")).json()
    assert {r["alliance"] for r in mine["results"]} == {world.shared.pk}
    theirs = api_for(world.cy, world.fabrikam).get(org_url("alerts/", "fabrikam")).json()
    assert {r["alliance"] for r in theirs["results"]} == {world.fabrikam_alliance.pk}
    outsider = api_for(world.cy, world.fabrikam)
    assert outsider.get(org_url(f"alerts/{alert.pk}/", "fabrikam")).status_code == 404
    assert outsider.get(url(world.shared, f"alerts/{alert.pk}/", "fabrikam")).status_code == 404
    api = api_for(world.ada, world.northwind)
    assert api.get(org_url("alerts/"), {"alliance": world.shared.pk}).json()["count"] >= 1
    for alliance_id in (world.fabrikam_alliance.pk, 999_999):  # not ours, not there: alike
        assert api.get(org_url("alerts/"), {"alliance": alliance_id}).json()["count"] == 0
    assert api.post(org_url("alerts/"), {}).status_code == 405


def test_acknowledge_then_resolve_through_the_services(world, scored, api_for):
    alert = red_alert(world.shared)
    api = api_for(world.dan, world.northwind)
    base = url(world.shared, f"alerts/{alert.pk}/")
    response = api.post(base + "acknowledge/")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "acknowledged"
    assert response.json()["acknowledged_by"] == "Dan"
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_by == world.dan

    twice = api.post(base + "acknowledge/")
    assert twice.status_code == 409 and twice.json()["code"] == "conflict"
    assert "already acknowledged" in twice.json()["detail"]

    response = api.post(base + "resolve/", {"note": "Discussed at the council"})
    assert response.status_code == 200
    assert response.json()["status"] == "resolved"
    assert response.json()["resolution"] == "Discussed at the council"
    alert.refresh_from_db()
    assert alert.resolved_by == world.dan and alert.resolved_at is not None

    again = api.post(base + "resolve/", {"note": "Again"})
    assert again.status_code == 409 and "already resolved" in again.json()["detail"]
    late = api.post(base + "acknowledge/")
    assert late.status_code == 409 and "resolved" in late.json()["detail"]
    alert.refresh_from_db()
    assert alert.resolution == "Discussed at the council"


def test_the_partner_acts_on_alerts_too_and_a_new_etag_follows(world, scored, api_for):
    alert = red_alert(world.shared)
    partner = api_for(world.ben, world.contoso)
    before = partner.get(url(world.shared, "scores/latest/", "contoso"))["ETag"]
    response = partner.post(url(world.shared, f"alerts/{alert.pk}/acknowledge/", "contoso"))
    assert response.status_code == 200 and response.json()["acknowledged_by"] == "Ben"
    after = partner.get(url(world.shared, "scores/latest/", "contoso"))["ETag"]
    assert after != before


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "note"), ({"note": "   "}, "note"), ({"note": "x" * 301}, "note"), ({"n": "x"}, "n")],
)
def test_resolving_needs_a_note(world, scored, api_for, body, field):
    alert = red_alert(world.shared)
    response = api_for(world.ada, world.northwind).post(
        url(world.shared, f"alerts/{alert.pk}/resolve/"), body
    )
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN


def test_a_viewer_and_an_outsider_may_not_act_on_alerts(world, scored, api_for):
    alert = red_alert(world.shared)
    viewer = api_for(world.vic, world.northwind)
    assert viewer.get(url(world.shared, "alerts/")).status_code == 200
    assert viewer.post(url(world.shared, f"alerts/{alert.pk}/acknowledge/")).status_code == 403
    assert (
        viewer.post(url(world.shared, f"alerts/{alert.pk}/resolve/"), {"note": "x"}).status_code
        == 403
    )
    outsider = api_for(world.cy, world.fabrikam)
    path = url(world.shared, f"alerts/{alert.pk}/acknowledge/", "fabrikam")
    assert outsider.post(path).status_code == 404
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN

    # Another alliance's alert under this alliance's URL is not found either.
    other = Alert.objects.create(
        alliance=world.litware,
        metric=Metric.VALUE,
        period_start=alert.period_start,
        kind=AlertKind.RED,
        to_color=Color.RED,
        reason="Litware's.",
    )
    api = api_for(world.ada, world.northwind)
    assert api.post(url(world.shared, f"alerts/{other.pk}/acknowledge/")).status_code == 404


def test_an_archived_alliance_s_alerts_and_schedule_are_read_only(world, scored, api_for):
    alert = red_alert(world.shared)
    world.shared.archived_at = timezone.now()
    world.shared.save()
    api = api_for(world.ada, world.northwind)
    response = api.post(url(world.shared, f"alerts/{alert.pk}/acknowledge/"))
    assert response.status_code == 403 and "archived" in response.json()["detail"]
    assert api.patch(url(world.shared, "survey-settings/"), {"paused": True}).status_code == 403
    assert api.post(url(world.shared, "rounds/"), {"reason": "x"}).status_code == 403
    assert api.get(url(world.shared, "survey-settings/")).json()["running"] is False
    assert world.shared.pk not in [
        r["alliance"] for r in api.get(org_url("health/")).json()["results"]
    ]


def test_alert_lists_queries_do_not_grow_with_alerts(world, scored, api_for):
    api = api_for(world.ada, world.northwind)
    Alert.objects.filter(pk=red_alert(world.shared).pk).update(
        status=AlertStatus.RESOLVED, acknowledged_by=world.dan, resolved_by=world.ada
    )
    paths = [url(world.shared, "alerts/"), org_url("alerts/")]
    small = [count_queries(api, path) for path in paths]
    members = [world.ada, world.dan]
    for i in range(30):
        Alert.objects.create(
            alliance=world.shared if i % 2 else world.litware,
            metric=Metric.VALUE,
            period_start=(timezone.now() - timedelta(days=31 * i)).date(),
            kind=AlertKind.DECLINE,
            to_color=Color.YELLOW,
            reason=f"Alert {i}",
            status=AlertStatus.RESOLVED,
            acknowledged_by=members[i % 2],
            resolved_by=members[(i + 1) % 2],
        )
    assert api.get(org_url("alerts/")).json()["count"] > 30
    assert [count_queries(api, path) for path in paths] == small


def test_the_schema_documents_the_304_and_the_409(world, api_for):
    response = api_for(world.ada, world.northwind).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    base = "/api/v1/organizations/{org}/alliances/{alliance}"
    assert "304" in paths[f"{base}/scores/"]["get"]["responses"]
    assert "304" in paths[f"{base}/scores/latest/"]["get"]["responses"]
    assert "304" in paths["/api/v1/organizations/{org}/health/"]["get"]["responses"]
    assert "409" in paths[f"{base}/alerts/{{id}}/acknowledge/"]["post"]["responses"]
    assert "patch" in paths[f"{base}/survey-settings/"]
