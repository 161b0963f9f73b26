"""The health pages: an alliance's Health tab, its thresholds and its organisation's, the
alerts inbox, and acknowledging and resolving alerts — for the lead (ada), the partner (ben),
a viewer (vic) and an outsider (cy)."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alliances.models import Stage
from governance.models import ActionItem, Escalation
from scorecards import services
from scorecards.alerts import threshold_check
from scorecards.lights import Color
from scorecards.models import Alert, AlertKind, AlertStatus, Light, Metric, Threshold, View
from surveys.models import SurveyRound
from tests.test_health_alerts import CORNERS, add_round


def check(alliance, round_ids=()):
    return threshold_check(now=timezone.now(), alliance_ids=[alliance.pk], round_ids=round_ids)


def url(alliance, suffix: str = "", org: str = "northwind") -> str:
    return f"/o/{org}/alliances/{alliance.pk}/health/{suffix}"


def org_url(suffix: str, org: str = "northwind") -> str:
    return f"/o/{org}/{suffix}"


@pytest.fixture
def red_trust(alliance):
    """Three healthy rounds, then relational trust red: one red alert (with its review
    action) on the alliance."""
    for i in range(3):
        add_round(alliance, i, 80)
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


# --- the Health tab ---------------------------------------------------------------------------


def test_the_lead_sees_lights_with_symbol_word_score_and_reasons(red_trust, world, client_for):
    alliance = world.shared
    page = client_for(world.ada).get(url(alliance))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Relational trust" in text
    assert '<span aria-hidden="true">■</span> Red <span class="light-score">30</span>' in text
    assert '<span aria-hidden="true">●</span> Green <span class="light-score">80</span>' in text
    assert "Relational trust scored 30, below 50, where red begins." in text
    assert "20 points" in text  # the gap between the lead's 40 and the partner's 20
    assert "Trust anchor" in text and "Response rate" in text
    assert "green from <strong>70</strong>, red below <strong>50</strong>" in text
    assert "Concord&#x27;s built-in default" in text
    assert "Relational trust turned red." in text
    assert "Review action" in text
    assert f"/alerts/{red_alert(alliance).pk}/acknowledge/" in text


def test_the_partner_sees_the_same_lights_and_alerts(red_trust, world, client_for):
    page = client_for(world.ben).get(url(world.shared, org="contoso"))
    assert page.status_code == 200
    text = page.content.decode()
    assert '<span aria-hidden="true">■</span> Red <span class="light-score">30</span>' in text
    assert "Relational trust turned red." in text
    assert f"/alerts/{red_alert(world.shared).pk}/acknowledge/" in text


def test_a_viewer_reads_but_gets_no_buttons(red_trust, world, client_for):
    page = client_for(world.vic).get(url(world.shared))
    assert page.status_code == 200
    assert "Relational trust turned red." in page.content.decode()
    assert "/acknowledge/" not in page.content.decode()


def test_the_history_shows_each_rounds_lights(alliance, client_for, world):
    rounds = [add_round(alliance, i, 80 - 10 * i) for i in range(4)]
    check(alliance, round_ids=[r.pk for r in rounds])
    text = client_for(world.ada).get(url(alliance)).content.decode()
    assert "The last 4 rounds" in text
    for score in (80, 70, 60, 50):
        assert f'<span class="light-score">{score}</span>' in text


def test_the_latest_review_ratings_sit_beside_the_lights(red_trust, world, client_for):
    from scorecards.models import HealthReview, ReviewSynthesis

    review = HealthReview.objects.create(
        alliance=world.shared,
        title="Annual",
        scope="All",
        started_on=date(2026, 1, 5),
        completed_on=date(2026, 2, 1),
    )
    ReviewSynthesis.objects.create(review=review, corner=Metric.RELATIONAL, rating=Color.YELLOW)
    text = client_for(world.ada).get(url(world.shared)).content.decode()
    assert "Latest health review" in text
    assert '<span aria-hidden="true">▲</span> Yellow' in text


def test_an_alliance_without_rounds_says_so(alliance, world, client_for):
    page = client_for(world.ada).get(url(alliance))
    assert page.status_code == 200
    assert "No closed pulse round yet" in page.content.decode()


@pytest.mark.parametrize(
    ("user", "org"), [("cy", "fabrikam"), ("cy", "northwind"), ("ben", "northwind")]
)
def test_outsiders_get_404(red_trust, world, client_for, user, org):
    client = client_for(getattr(world, user))
    alert = red_alert(world.shared)
    assert client.get(url(world.shared, org=org)).status_code == 404
    assert client.get(url(world.shared, "thresholds/", org=org)).status_code == 404
    assert client.post(url(world.shared, f"alerts/{alert.pk}/acknowledge/", org)).status_code == 404
    assert client.get(url(world.shared, f"alerts/{alert.pk}/resolve/", org)).status_code == 404
    assert red_alert(world.shared).status == AlertStatus.OPEN


def test_another_alliances_alert_is_404_under_this_one(red_trust, world, client_for):
    alert = red_alert(world.shared)
    other = f"/o/northwind/alliances/{world.litware.pk}/health/alerts/{alert.pk}/acknowledge/"
    assert client_for(world.ada).post(other).status_code == 404


def test_the_health_tab_follows_the_one_pager_and_the_profile(alliance, world, client_for):
    text = client_for(world.ada).get(url(alliance)).content.decode()
    nav = text[text.index('class="subnav"') :]
    assert nav.index(">One-pager<") < nav.index(">Profile<") < nav.index(">Health<")
    assert nav.index(">Health<") < nav.index(">Trends<") < nav.index(">Contacts<")
    assert f'href="/o/northwind/alliances/{alliance.pk}/health/" aria-current="page"' in nav


# --- acknowledging and resolving ---------------------------------------------------------------


def test_acknowledge_then_resolve(red_trust, world, client_for):
    alliance = world.shared
    alert = red_alert(alliance)
    ada = client_for(world.ada)
    response = ada.post(url(alliance, f"alerts/{alert.pk}/acknowledge/"))
    assert response.status_code == 302 and response["Location"] == url(alliance)
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_by == world.ada

    again = ada.post(url(alliance, f"alerts/{alert.pk}/acknowledge/"), follow=True)
    assert "already acknowledged by Ada" in again.content.decode()

    ben = client_for(world.ben)
    partner_url = url(alliance, f"alerts/{alert.pk}/resolve/", org="contoso")
    assert ben.get(partner_url).status_code == 200
    empty = ben.post(partner_url, {"note": "  "})
    assert empty.status_code == 400
    assert red_alert(alliance).status == AlertStatus.ACKNOWLEDGED
    done = ben.post(partner_url, {"note": "Talked it through at the council."})
    assert done.status_code == 302
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    assert alert.resolved_by == world.ben
    assert alert.resolution == "Talked it through at the council."

    twice = ben.post(partner_url, {"note": "Again."})
    assert twice.status_code == 400
    assert "already resolved by Ben" in twice.content.decode()
    alert.refresh_from_db()
    assert alert.resolution == "Talked it through at the council."

    ada = client_for(world.ada)
    late = ada.post(url(alliance, f"alerts/{alert.pk}/acknowledge/"), follow=True)
    assert "nothing left to acknowledge" in late.content.decode()
    assert red_alert(alliance).status == AlertStatus.RESOLVED


def test_the_services_refuse_a_second_resolve_and_a_late_acknowledge(red_trust, world):
    alert = red_alert(world.shared)
    now = timezone.now()
    services.alert_resolve(alert=alert, user=world.ada, note="Fixed.", now=now)
    with pytest.raises(ValidationError, match="already resolved"):
        services.alert_resolve(alert=alert, user=world.ben, note="Fixed again.", now=now)
    with pytest.raises(ValidationError, match="nothing left to acknowledge"):
        services.alert_acknowledge(alert=alert, user=world.ada, now=now)
    with pytest.raises(ValidationError) as error:
        services.alert_resolve(alert=alert, user=world.ada, note="", now=now)
    assert "note" in error.value.message_dict


def test_a_viewer_cannot_act_on_alerts(red_trust, world, client_for):
    vic = client_for(world.vic)
    alert = red_alert(world.shared)
    assert vic.post(url(world.shared, f"alerts/{alert.pk}/acknowledge/")).status_code == 403
    assert (
        vic.post(url(world.shared, f"alerts/{alert.pk}/resolve/"), {"note": "x"}).status_code == 403
    )
    assert red_alert(world.shared).status == AlertStatus.OPEN


def test_next_only_goes_to_our_own_pages(red_trust, world, client_for):
    alert = red_alert(world.shared)
    response = client_for(world.ada).post(
        url(world.shared, f"alerts/{alert.pk}/acknowledge/"), {"next": "https://evil.example/"}
    )
    assert response["Location"] == url(world.shared)


# --- thresholds -------------------------------------------------------------------------------


def relational(alliance) -> Light:
    latest = SurveyRound.objects.filter(alliance=alliance).order_by("-opens_at").first()
    return Light.objects.get(round=latest, metric=Metric.RELATIONAL, view=View.ALL)


def test_a_threshold_change_recolours_the_latest_light_at_once(alliance, world, client_for):
    add_round(alliance, 0, 65)
    check(alliance)
    assert relational(alliance).color == Color.YELLOW
    response = client_for(world.ada).post(
        url(alliance, "thresholds/"), {"green_from_all": "60", "red_below_all": "40"}
    )
    assert response.status_code == 302
    assert relational(alliance).color == Color.GREEN
    # A stage override wins over the alliance's own; emptying it falls back again.
    client_for(world.ada).post(
        url(alliance, "thresholds/"),
        {"green_from_all": "60", "red_below_all": "40", "green_from_3": "90", "red_below_3": "70"},
    )
    assert relational(alliance).color == Color.RED
    assert Threshold.objects.get(alliance=alliance, stage=Stage.EXECUTION).organization == (
        world.northwind
    )
    client_for(world.ada).post(
        url(alliance, "thresholds/"), {"green_from_all": "60", "red_below_all": "40"}
    )
    assert relational(alliance).color == Color.GREEN
    assert not Threshold.objects.filter(alliance=alliance, stage__isnull=False).exists()
    text = client_for(world.ada).get(url(alliance)).content.decode()
    assert "this alliance&#x27;s own" in text


def test_organisation_defaults_recolour_the_alliances_it_leads(alliance, world, client_for):
    add_round(alliance, 0, 65)
    check(alliance)
    response = client_for(world.ada).post(
        org_url("settings/thresholds/"), {"green_from_3": "60", "red_below_3": "40"}
    )
    assert response.status_code == 302
    assert relational(alliance).color == Color.GREEN
    text = client_for(world.ben).get(url(alliance, org="contoso")).content.decode()
    assert "Northwind&#x27;s for the execution stage" in text


def test_the_services_upsert_and_delete_one_level(alliance, world):
    add_round(alliance, 0, 65)
    check(alliance)
    services.threshold_save(
        organization=world.northwind, green_from=60, red_below=40, user=world.ada
    )
    services.threshold_save(
        organization=world.northwind, green_from=62, red_below=41, user=world.ada
    )
    assert Threshold.objects.get(organization=world.northwind, alliance=None).green_from == 62
    assert relational(alliance).color == Color.GREEN
    services.threshold_delete(organization=world.northwind)
    assert not Threshold.objects.filter(organization=world.northwind).exists()
    assert relational(alliance).color == Color.YELLOW


def test_only_the_lead_sets_an_alliances_thresholds_unless_it_allows_the_partner(
    alliance, world, client_for
):
    with pytest.raises(ValidationError, match="Only Northwind"):
        services.threshold_save(
            organization=world.contoso, alliance=alliance, green_from=60, red_below=40, user=None
        )
    ben = client_for(world.ben)
    body = {"green_from_all": "60", "red_below_all": "40"}
    assert ben.get(url(alliance, "thresholds/", org="contoso")).status_code == 200
    assert ben.post(url(alliance, "thresholds/", org="contoso"), body).status_code == 403
    alliance.partner_may_edit_settings = True
    alliance.save()
    assert ben.post(url(alliance, "thresholds/", org="contoso"), body).status_code == 302
    assert Threshold.objects.get(alliance=alliance).organization == world.northwind


def test_writes_need_the_right_role(alliance, world, client_for):
    body = {"green_from_all": "60", "red_below_all": "40"}
    vic = client_for(world.vic)
    assert vic.get(url(alliance, "thresholds/")).status_code == 200
    assert vic.post(url(alliance, "thresholds/"), body).status_code == 403
    assert vic.get(org_url("settings/thresholds/")).status_code == 200
    assert vic.post(org_url("settings/thresholds/"), body).status_code == 403
    dan = client_for(world.dan)  # a manager, not an admin
    assert dan.post(org_url("settings/thresholds/"), body).status_code == 403
    assert not Threshold.objects.exists()


BAD_INPUT = [
    pytest.param({"green_from_all": "40", "red_below_all": "60"}, "red_below_all", id="inverted"),
    pytest.param({"green_from_all": "120", "red_below_all": "50"}, "green_from_all", id="above"),
    pytest.param({"green_from_all": "70", "red_below_all": "-5"}, "red_below_all", id="below"),
    pytest.param({"green_from_all": "seventy", "red_below_all": "50"}, "green_from_all", id="text"),
    pytest.param({"green_from_all": "nan", "red_below_all": "50"}, "green_from_all", id="nan"),
    pytest.param({"green_from_all": "70"}, "red_below_all", id="half"),
    pytest.param(
        {"green_from_all": "70", "red_below_all": "50", "green_from_2": "30", "red_below_2": "60"},
        "red_below_2",
        id="one-bad-row-saves-nothing",
    ),
]


@pytest.mark.parametrize(("body", "field"), BAD_INPUT)
@pytest.mark.parametrize("level", ["alliance", "organisation"])
def test_bad_thresholds_are_400_and_save_nothing(alliance, world, client_for, body, field, level):
    target = (
        url(alliance, "thresholds/") if level == "alliance" else org_url("settings/thresholds/")
    )
    response = client_for(world.ada).post(target, body)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not Threshold.objects.exists()


def test_the_service_says_what_is_wrong_per_field(world):
    with pytest.raises(ValidationError) as error:
        services.threshold_save(
            organization=world.northwind, green_from=40, red_below=60, user=None
        )
    assert "no room for yellow" in error.value.message_dict["red_below"][0]
    with pytest.raises(ValidationError) as error:
        services.threshold_save(
            organization=world.northwind, green_from=101, red_below=-1, user=None
        )
    assert set(error.value.message_dict) == {"green_from", "red_below"}
    with pytest.raises(ValidationError):
        services.threshold_save(
            organization=world.northwind, stage=9, green_from=70, red_below=50, user=None
        )
    assert not Threshold.objects.exists()


def test_the_thresholds_page_shows_what_is_inherited(alliance, world, client_for):
    services.threshold_save(
        organization=world.northwind, stage=Stage.FORMATION, green_from=55, red_below=35, user=None
    )
    text = client_for(world.ada).get(url(alliance, "thresholds/")).content.decode()
    assert "green from 55, red below 35" in text
    assert "Northwind’s default" in text or "Northwind&#x27;s for the formation stage" in text


# --- the alerts inbox ---------------------------------------------------------------------------


def make_alert(
    alliance, metric=Metric.RELATIONAL, kind=AlertKind.RED, status=AlertStatus.OPEN, n=0
):
    return Alert.objects.create(
        alliance=alliance,
        metric=metric,
        period_start=date(2025, 1 + n % 12, 1).replace(year=2020 + n // 12),
        kind=kind,
        status=status,
        to_color=Color.RED,
        reason=f"{alliance} {metric} {kind} {status} #{n}",
        action=ActionItem.objects.filter(alliance=alliance, visibility="shared").first(),
        escalation=Escalation.objects.filter(alliance=alliance).first(),
    )


@pytest.fixture
def inbox(world):
    return {
        "shared_red": make_alert(world.shared, n=1),
        "shared_ack": make_alert(
            world.shared, Metric.VALUE, AlertKind.DECLINE, AlertStatus.ACKNOWLEDGED, n=2
        ),
        "shared_done": make_alert(world.shared, status=AlertStatus.RESOLVED, n=3),
        "litware_red": make_alert(world.litware, Metric.STRATEGIC, n=4),
        "fabrikam": make_alert(world.fabrikam_alliance, n=5),
    }


def shown(response, alerts) -> set[str]:
    text = response.content.decode()
    return {name for name, alert in alerts.items() if f'id="alert-{alert.pk}"' in text}


def test_the_inbox_lists_open_and_acknowledged_by_default(inbox, world, client_for):
    ada = client_for(world.ada)
    assert shown(ada.get(org_url("alerts/")), inbox) == {"shared_red", "shared_ack", "litware_red"}
    assert shown(ada.get(org_url("alerts/?status=resolved")), inbox) == {"shared_done"}
    assert shown(ada.get(org_url("alerts/?status=all")), inbox) == {
        "shared_red",
        "shared_ack",
        "shared_done",
        "litware_red",
    }
    assert shown(ada.get(org_url("alerts/?status=open")), inbox) == {"shared_red", "litware_red"}


def test_the_inbox_filters(inbox, world, client_for):
    ada = client_for(world.ada)
    by_alliance = ada.get(org_url(f"alerts/?alliance={world.litware.pk}"))
    assert shown(by_alliance, inbox) == {"litware_red"}
    assert shown(ada.get(org_url("alerts/?metric=value")), inbox) == {"shared_ack"}
    assert shown(ada.get(org_url("alerts/?kind=decline")), inbox) == {"shared_ack"}
    both = ada.get(org_url(f"alerts/?status=all&alliance={world.shared.pk}&metric=relational"))
    assert shown(both, inbox) == {"shared_red", "shared_done"}
    # Ids and values that are not ours or not real are ignored, not an error.
    foreign = ada.get(org_url(f"alerts/?alliance={world.fabrikam_alliance.pk}&metric=nope"))
    assert foreign.status_code == 200
    assert shown(foreign, inbox) == {"shared_red", "shared_ack", "litware_red"}
    # The status links keep the other filters.
    assert (
        "?metric=value&amp;status=resolved"
        in ada.get(org_url("alerts/?metric=value")).content.decode()
    )


def test_the_partner_and_the_outsider_see_only_their_own(inbox, world, client_for):
    assert shown(client_for(world.ben).get(org_url("alerts/", "contoso")), inbox) == {
        "shared_red",
        "shared_ack",
    }
    cy = client_for(world.cy)
    assert cy.get(org_url("alerts/")).status_code == 404
    assert shown(cy.get(org_url("alerts/", "fabrikam")), inbox) == {"fabrikam"}


def test_acting_from_the_inbox_comes_back_with_the_filters(inbox, world, client_for):
    ada = client_for(world.ada)
    here = org_url(f"alerts/?alliance={world.shared.pk}&kind=red")
    page = ada.get(here)
    assert "Acknowledge" in page.content.decode()
    alert = inbox["shared_red"]
    response = ada.post(
        url(world.shared, f"alerts/{alert.pk}/acknowledge/"),
        {"next": page.request["PATH_INFO"] + "?" + page.request["QUERY_STRING"]},
    )
    assert response.status_code == 302
    assert response["Location"] == here
    response = ada.post(
        url(world.shared, f"alerts/{alert.pk}/resolve/"), {"note": "Sorted.", "next": here}
    )
    assert response["Location"] == here
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.RESOLVED


def test_a_viewer_gets_no_buttons_in_the_inbox(inbox, world, client_for):
    text = client_for(world.vic).get(org_url("alerts/")).content.decode()
    assert f'id="alert-{inbox["shared_red"].pk}"' in text
    assert "/acknowledge/" not in text


def test_the_org_nav_links_the_inbox(world, client_for):
    text = client_for(world.ada).get(org_url("alerts/")).content.decode()
    assert 'href="/o/northwind/alerts/" aria-current="page">Alerts</a>' in text


# --- query counts -------------------------------------------------------------------------------


def count_queries(client, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def test_the_health_tab_reads_a_fixed_number_of_queries(
    alliance, world, client_for, django_assert_num_queries
):
    ada = client_for(world.ada)
    rounds = [add_round(alliance, i, 80) for i in range(2)]
    check(alliance, round_ids=[r.pk for r in rounds])
    make_alert(alliance)
    ada.get(url(alliance))  # warm the session
    few = count_queries(ada, url(alliance))
    rounds += [add_round(alliance, i, 30 + i) for i in range(2, 16)]
    check(alliance, round_ids=[r.pk for r in rounds])
    for n in range(6, 12):
        make_alert(alliance, Metric.VALUE, n=n)
    with django_assert_num_queries(few):
        page = ada.get(url(alliance))
    assert "The last 12 rounds" in page.content.decode()


def test_the_inbox_reads_a_fixed_number_of_queries(world, client_for, django_assert_num_queries):
    ada = client_for(world.ada)
    make_alert(world.shared, n=0)
    ada.get(org_url("alerts/"))
    few = count_queries(ada, org_url("alerts/"))
    for n in range(1, 25):
        make_alert(world.shared if n % 2 else world.litware, Metric.VALUE, n=n)
    with django_assert_num_queries(few):
        page = ada.get(org_url("alerts/"))
    assert page.content.decode().count('id="alert-') == 25


def test_every_bad_row_is_named_at_once(alliance, world, client_for):
    response = client_for(world.ada).post(
        url(alliance, "thresholds/"),
        {"green_from_all": "40", "red_below_all": "60", "green_from_2": "x", "red_below_2": "1"},
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "no room for yellow" in errors["red_below_all"][0]
    assert errors["green_from_2"] == ["Enter a number from 0 to 100."]
    assert not Threshold.objects.exists()
