"""KPIs, KPI values (incl. the bulk upsert) and health reviews through the API: the pages'
rules (settings for KPI definitions, shared records for values and reviews), what each side
sees, the outsider, bad input, and query counts constant in the number of rows.

Northwind (ada admin, dan manager, vic viewer) leads ``shared`` with Contoso (ben); cy
(Fabrikam) is the outsider.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alliances.models import ContactFunction, IdempotencyKey, Side, Visibility
from governance.models import ActionItem, ActionSource
from scorecards import freshness, kpis
from scorecards import reviews as review_services
from scorecards.kpis import month_add, month_start
from scorecards.models import (
    Direction,
    HealthReview,
    Kpi,
    KpiGroup,
    KpiSource,
    KpiUnit,
    KpiValue,
    ReviewInterview,
    ReviewSynthesis,
)
from surveys.models import Corner

from .conftest import v1

TODAY = timezone.localdate()
THIS_MONTH = month_start(TODAY)
LAST_MONTH = month_add(THIS_MONTH, -1)
NEXT_MONTH = month_add(THIS_MONTH, 1)


def url(alliance, rest: str, org: str = "northwind") -> str:
    return v1(f"organizations/{org}/alliances/{alliance.pk}/{rest}")


def make_kpi(alliance, name="Joint pipeline", **fields) -> Kpi:
    fields = {
        "group": KpiGroup.VALUE,
        "unit": KpiUnit.COUNT,
        "direction": Direction.HIGHER,
        "green_from": 10,
        "red_below": 5,
        **fields,
    }
    return kpis.kpi_save(kpi=Kpi(alliance=alliance, name=name, **fields))


def count_queries(api, path) -> int:
    api.get(path)  # warm up: the token's last-used time is written once a minute
    with CaptureQueriesContext(connection) as queries:
        response = api.get(path)
    assert response.status_code == 200
    return len(queries)


# --- KPIs -----------------------------------------------------------------------------------


def test_kpis_list_with_latest_value_and_light_for_both_sides(world, api_for):
    pipeline = make_kpi(world.shared)
    kpis.kpi_value_save(kpi=pipeline, month=LAST_MONTH, value=12)
    kpis.kpi_value_save(kpi=pipeline, month=THIS_MONTH, value=7)
    idle = make_kpi(world.shared, "Innovations", group=KpiGroup.CAPABILITY)
    old = make_kpi(world.shared, "Old measure")
    kpis.kpi_archive(kpi=old)
    make_kpi(world.litware, "Not this alliance")

    for api, org in (
        (api_for(world.dan, world.northwind), "northwind"),
        (api_for(world.ben, world.contoso), "contoso"),
    ):
        body = api.get(url(world.shared, "kpis/", org)).json()
        by_name = {row["name"]: row for row in body["results"]}
        assert set(by_name) == {"Joint pipeline", "Innovations", "Old measure"}
        row = by_name["Joint pipeline"]
        assert row["latest"] == {"month": THIS_MONTH.isoformat(), "value": 7.0, "shown": "7"}
        assert row["light"]["color"] == "yellow" and "below 10" in row["light"]["reason"]
        assert row["thresholds"] == "green ≥ 10, red < 5"
        assert by_name["Innovations"]["latest"] is None
        assert by_name["Innovations"]["light"]["color"] == "grey"
        assert by_name["Old measure"]["archived"] is True

    api = api_for(world.vic, world.northwind)  # a viewer reads
    live = api.get(url(world.shared, "kpis/"), {"archived_at__isnull": "true"}).json()
    assert {row["name"] for row in live["results"]} == {"Joint pipeline", "Innovations"}
    grouped = api.get(url(world.shared, "kpis/"), {"group": "capability"}).json()
    assert [row["id"] for row in grouped["results"]] == [idle.pk]
    detail = api.get(url(world.shared, f"kpis/{pipeline.pk}/")).json()
    assert detail["latest"]["value"] == 7.0
    assert api.get(url(world.shared, "kpis/"), {"source": "nonsense"}).status_code == 400


def test_kpi_list_queries_do_not_grow_with_the_kpis(world, api_for):
    api = api_for(world.dan, world.northwind)
    path = url(world.shared, "kpis/")
    first = make_kpi(world.shared, "KPI 0")
    kpis.kpi_value_save(kpi=first, month=LAST_MONTH, value=3)
    one = count_queries(api, path)
    for n in range(1, 8):
        kpi = make_kpi(world.shared, f"KPI {n}", group=KpiGroup.values[n % 4])
        kpis.kpi_value_save(kpi=kpi, month=LAST_MONTH, value=n)
    assert count_queries(api, path) == one


def test_a_manager_adds_and_edits_kpis_through_the_service(world, api_for):
    api = api_for(world.dan, world.northwind)
    make_kpi(world.shared, "First")
    created = api.post(
        url(world.shared, "kpis/"),
        {
            "name": "Deal value",
            "group": "value",
            "unit": "currency",
            "currency": "eur",
            "green_from": 1000,
            "red_below": 500,
        },
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["currency"] == "EUR" and body["position"] == 1  # placed after "First"
    assert body["latest"] is None and body["light"]["color"] == "grey"

    # A computed KPI takes its source's unit and is measured at once, as on the page.
    computed = api.post(
        url(world.shared, "kpis/"),
        {"name": "On time", "group": "execution", "source": "actions_on_time", "unit": "count"},
    )
    assert computed.status_code == 201, computed.json()
    assert computed.json()["unit"] == "percent" and computed.json()["computed"] is True

    kpi_url = url(world.shared, f"kpis/{body['id']}/")
    edited = api.patch(kpi_url, {"green_from": 2000, "red_below": 800})
    assert edited.status_code == 200, edited.json()
    kpi = Kpi.objects.get(pk=body["id"])
    assert (kpi.green_from, kpi.red_below, kpi.name) == (2000, 800, "Deal value")

    kpis.kpi_value_save(kpi=kpi, month=LAST_MONTH, value=900)
    response = api.patch(kpi_url, {"unit": "number", "currency": ""})
    assert response.status_code == 400
    assert "already has values" in response.json()["errors"]["unit"][0]
    response = api.post(url(world.shared, "kpis/"), {"name": "deal VALUE", "group": "value"})
    assert response.status_code == 400
    assert response.json()["errors"]["name"] == ["This alliance already has a KPI with this name."]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "group": "value", "colour": "red"}, "colour"),
        ({"name": "X", "group": "nope"}, "group"),
        ({"group": "value"}, "name"),
        ({"name": "X", "group": "value", "green_from": 5, "red_below": 10}, "red_below"),
        ({"name": "X", "group": "value", "green_from": 5}, "red_below"),
        (
            {"name": "X", "group": "value", "unit": "percent", "green_from": 120, "red_below": 5},
            "green_from",
        ),
    ],
)
def test_bad_kpis_get_field_errors(world, api_for, body, field):
    response = api_for(world.dan, world.northwind).post(url(world.shared, "kpis/"), body)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Kpi.objects.filter(name="X").exists()


def test_kpi_definitions_are_settings_the_partner_viewer_and_outsider_may_not_write(world, api_for):
    kpi = make_kpi(world.shared)
    body = {"name": "Partner's", "group": "value"}
    partner = api_for(world.ben, world.contoso)
    assert partner.post(url(world.shared, "kpis/", "contoso"), body).status_code == 403
    assert partner.patch(url(world.shared, f"kpis/{kpi.pk}/", "contoso"), body).status_code == 403
    world.shared.partner_may_edit_settings = True
    world.shared.save()
    assert partner.post(url(world.shared, "kpis/", "contoso"), body).status_code == 201

    viewer = api_for(world.vic, world.northwind)
    assert viewer.post(url(world.shared, "kpis/"), body).status_code == 403
    assert viewer.post(url(world.shared, f"kpis/{kpi.pk}/archive/")).status_code == 403

    outsider = api_for(world.cy, world.fabrikam)
    for method, path in (
        ("get", "kpis/"),
        ("get", f"kpis/{kpi.pk}/"),
        ("post", "kpis/"),
        ("patch", f"kpis/{kpi.pk}/"),
        ("post", f"kpis/{kpi.pk}/archive/"),
    ):
        assert getattr(outsider, method)(url(world.shared, path, "fabrikam"), {}).status_code == 404
    # Fabrikam's own alliance does not open another alliance's KPI either.
    own = url(world.fabrikam_alliance, f"kpis/{kpi.pk}/", "fabrikam")
    assert outsider.get(own).status_code == 404
    kpi.refresh_from_db()
    assert kpi.name == "Joint pipeline" and not kpi.is_archived


def test_archive_and_restore_as_the_page_does(world, api_for):
    kpi = make_kpi(world.shared, "Conflicts", source=KpiSource.CONFLICT_COUNT)
    assert KpiValue.objects.filter(kpi=kpi).exists()
    api = api_for(world.dan, world.northwind)
    archived = api.post(url(world.shared, f"kpis/{kpi.pk}/archive/"))
    assert archived.status_code == 200 and archived.json()["archived"] is True
    kpi.refresh_from_db()
    assert kpi.is_archived and KpiValue.objects.filter(kpi=kpi).exists()  # values kept
    KpiValue.objects.filter(kpi=kpi).delete()
    restored = api.post(url(world.shared, f"kpis/{kpi.pk}/restore/"))
    assert restored.status_code == 200 and restored.json()["archived"] is False
    assert KpiValue.objects.filter(kpi=kpi).exists()  # measured again on restore
    assert restored.json()["latest"] is not None


# --- KPI values -----------------------------------------------------------------------------


def test_values_list_filters_and_is_read_by_both_sides(world, api_for):
    kpi = make_kpi(world.shared)
    other = make_kpi(world.shared, "Other")
    for months_ago in range(4):
        kpis.kpi_value_save(kpi=kpi, month=month_add(THIS_MONTH, -months_ago), value=months_ago)
    kpis.kpi_value_save(kpi=other, month=THIS_MONTH, value=20, user=world.dan)
    make_kpi(world.litware, "Elsewhere")
    kpis.kpi_value_save(kpi=Kpi.objects.get(name="Elsewhere"), month=THIS_MONTH, value=1)

    partner = api_for(world.ben, world.contoso)
    body = partner.get(url(world.shared, "kpi-values/", "contoso")).json()
    assert body["count"] == 5
    assert body["results"][0]["month"] == THIS_MONTH.isoformat()  # newest first
    row = next(r for r in body["results"] if r["kpi"] == other.pk)
    assert row["entered_by"] == str(world.dan) and row["light"]["color"] == "green"
    assert row["shown"] == "20"

    since = month_add(THIS_MONTH, -2).isoformat()
    found = partner.get(
        url(world.shared, "kpi-values/", "contoso"),
        {"kpi": kpi.pk, "month__gte": since, "month__lte": LAST_MONTH.isoformat()},
    ).json()
    assert [r["value"] for r in found["results"]] == [1.0, 2.0]
    outsider = api_for(world.cy, world.fabrikam)
    assert outsider.get(url(world.shared, "kpi-values/", "fabrikam")).status_code == 404


def test_values_list_queries_do_not_grow_with_the_values(world, api_for):
    api = api_for(world.dan, world.northwind)
    path = url(world.shared, "kpi-values/")
    first = make_kpi(world.shared, "KPI 0")
    kpis.kpi_value_save(kpi=first, month=THIS_MONTH, value=1, user=world.dan)
    one = count_queries(api, path)
    for n in range(1, 5):
        kpi = make_kpi(world.shared, f"KPI {n}")
        for months_ago in range(3):
            month = month_add(THIS_MONTH, -months_ago)
            kpis.kpi_value_save(kpi=kpi, month=month, value=n, user=world.ben)
    assert count_queries(api, path) == one


def test_bulk_upserts_values_with_the_page_s_rules_and_refreshes_the_dashboards(world, api_for):
    pipeline = make_kpi(world.shared)
    share = make_kpi(world.shared, "Share", unit=KpiUnit.PERCENT, green_from=80, red_below=60)
    api = api_for(world.dan, world.northwind)
    path = url(world.shared, "kpi-values/bulk/")
    tag = freshness.version_tag(organization_id=world.northwind.pk, alliance_id=world.shared.pk)
    response = api.post(
        path,
        {
            "values": [
                {"kpi": pipeline.pk, "month": f"{LAST_MONTH:%Y-%m}", "value": 12},
                {"kpi": pipeline.pk, "month": f"{THIS_MONTH:%Y-%m}-01", "value": "1,204"},
                {"kpi": share.pk, "month": f"{LAST_MONTH:%Y-%m}", "value": "72.5%", "note": "Q"},
            ]
        },
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["created"], body["replaced"]) == (3, 0)
    assert [v["value"] for v in body["values"]] == [12.0, 1204.0, 72.5]
    assert body["values"][2]["light"]["color"] == "yellow"
    saved = KpiValue.objects.get(kpi=share, month=LAST_MONTH)
    assert (saved.value, saved.note, saved.entered_by) == (72.5, "Q", world.dan)
    after = freshness.version_tag(organization_id=world.northwind.pk, alliance_id=world.shared.pk)
    assert after != tag  # the scorecard, one-pager and portfolio render afresh

    # The same KPI and month again: the value is replaced, never a second row.
    again = api.post(
        path, {"values": [{"kpi": pipeline.pk, "month": f"{LAST_MONTH:%Y-%m}", "value": 15}]}
    )
    assert again.status_code == 200
    assert (again.json()["created"], again.json()["replaced"]) == (0, 1)
    assert KpiValue.objects.filter(kpi=pipeline, month=LAST_MONTH).count() == 1
    assert KpiValue.objects.get(kpi=pipeline, month=LAST_MONTH).value == 15
    # ... which the database guarantees too.
    constraints = {c.name: c for c in KpiValue._meta.constraints}
    assert constraints["one_value_per_kpi_month"].fields == ("kpi", "month")

    # The latest value shows on the KPI at once.
    listed = api.get(url(world.shared, f"kpis/{pipeline.pk}/")).json()
    assert listed["latest"]["value"] == 1204.0


def test_bulk_is_all_or_nothing_with_errors_by_position(world, api_for):
    pipeline = make_kpi(world.shared)
    share = make_kpi(world.shared, "Share", unit=KpiUnit.PERCENT, green_from=80, red_below=60)
    computed = make_kpi(world.shared, "Conflicts", source=KpiSource.CONFLICT_COUNT)
    archived = kpis.kpi_archive(kpi=make_kpi(world.shared, "Old"))
    elsewhere = make_kpi(world.litware, "Elsewhere")
    before = KpiValue.objects.count()
    month = f"{LAST_MONTH:%Y-%m}"
    items = [
        {"kpi": pipeline.pk, "month": month, "value": 4},  # 0: fine
        {"kpi": pipeline.pk, "month": f"{NEXT_MONTH:%Y-%m}", "value": 4},  # 1: not begun
        {"kpi": pipeline.pk, "month": "2026-13", "value": 4},  # 2: not a month
        {"kpi": pipeline.pk, "month": f"{LAST_MONTH:%Y-%m}-15", "value": 4},  # 3: not day 1
        {"kpi": pipeline.pk, "month": month, "value": 5},  # 4: same month again
        {"kpi": pipeline.pk, "month": f"{THIS_MONTH:%Y-%m}", "value": 2.5},  # 5: not whole
        {"kpi": share.pk, "month": month, "value": "120"},  # 6: above 100
        {"kpi": share.pk, "month": f"{THIS_MONTH:%Y-%m}", "value": "12 apples"},  # 7
        {"kpi": computed.pk, "month": month, "value": 1},  # 8: computed
        {"kpi": archived.pk, "month": month, "value": 1},  # 9: archived
        {"kpi": elsewhere.pk, "month": month, "value": 1},  # 10: another alliance's
        {"kpi": pipeline.pk, "month": month, "value": True},  # 11: not a number
        {"kpi": pipeline.pk, "month": month, "value": 1, "colour": "red"},  # 12
        "not an object",  # 13
    ]
    response = api_for(world.dan, world.northwind).post(
        url(world.shared, "kpi-values/bulk/"), {"values": items}
    )
    assert response.status_code == 400
    errors = response.json()["errors"]["values"]
    assert set(errors) == {str(n) for n in range(1, 14)}
    assert "has not begun" in errors["1"]["month"][0]
    assert "is not a month" in errors["2"]["month"][0]
    assert "is not a month" in errors["3"]["month"][0]
    assert "also item 0" in errors["4"]["month"][0]
    assert "not a whole number" in errors["5"]["value"][0]
    assert "above 100" in errors["6"]["value"][0]
    assert "not a number" in errors["7"]["value"][0]
    assert "computed by Concord" in errors["8"]["value"][0]
    assert "archived" in errors["9"]["value"][0]
    assert errors["10"] == {"kpi": ["This alliance has no such KPI."]}
    assert "value" in errors["11"]
    assert errors["12"] == {"colour": ["Unknown field."]}
    assert errors["13"] == {"non_field_errors": ["Send a JSON object."]}
    assert KpiValue.objects.count() == before


def test_bulk_reads_json_types_strictly(world, api_for):
    kpi = make_kpi(world.shared)
    api = api_for(world.dan, world.northwind)
    path = url(world.shared, "kpi-values/bulk/")
    month = f"{LAST_MONTH:%Y-%m}"
    # A number too large for a float reads as infinity: a field error, not a crash.
    raw = f'{{"values": [{{"kpi": {kpi.pk}, "month": "{month}", "value": 1e999}}]}}'
    response = api.generic("POST", path, raw, content_type="application/json")
    assert response.status_code == 400
    assert "value" in response.json()["errors"]["values"]["0"]
    # An id sent as text is read as the number it is.
    response = api.post(path, {"values": [{"kpi": str(kpi.pk), "month": month, "value": 3}]})
    assert response.status_code == 200, response.json()
    assert KpiValue.objects.get(kpi=kpi).value == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"values": []}, "values"),
        ({"values": {}}, "values"),
        ({"rows": []}, "values"),
        ({"values": [], "mode": "replace"}, "mode"),
    ],
)
def test_bulk_body_shape_errors(world, api_for, body, field):
    response = api_for(world.dan, world.northwind).post(url(world.shared, "kpi-values/bulk/"), body)
    assert response.status_code == 400 and field in response.json()["errors"]


def test_bulk_is_capped_at_500_values(world, api_for):
    kpi = make_kpi(world.shared)
    items = [{"kpi": kpi.pk, "month": "2000-01", "value": 1}] * 501
    response = api_for(world.dan, world.northwind).post(
        url(world.shared, "kpi-values/bulk/"), {"values": items}
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"values": ["Send from 1 to 500 values at a time."]}


def test_bulk_idempotency_key_replays_and_refuses_a_different_body(world, api_for):
    kpi = make_kpi(world.shared)
    api = api_for(world.dan, world.northwind)
    path = url(world.shared, "kpi-values/bulk/")
    body = {"values": [{"kpi": kpi.pk, "month": f"{LAST_MONTH:%Y-%m}", "value": 8}]}
    first = api.post(path, body, HTTP_IDEMPOTENCY_KEY="kpis-2026-03")
    KpiValue.objects.filter(kpi=kpi).update(value=99)  # changed since: a replay writes nothing
    again = api.post(path, body, HTTP_IDEMPOTENCY_KEY="kpis-2026-03")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert KpiValue.objects.get(kpi=kpi).value == 99
    other = {"values": [{"kpi": kpi.pk, "month": f"{LAST_MONTH:%Y-%m}", "value": 9}]}
    conflict = api.post(path, other, HTTP_IDEMPOTENCY_KEY="kpis-2026-03")
    assert conflict.status_code == 409 and conflict.json()["code"] == "conflict"
    assert KpiValue.objects.get(kpi=kpi).value == 99
    assert IdempotencyKey.objects.filter(key="kpis-2026-03").count() == 1


def test_bulk_is_for_managers_of_either_side_only(world, api_for):
    kpi = make_kpi(world.shared)
    body = {"values": [{"kpi": kpi.pk, "month": f"{LAST_MONTH:%Y-%m}", "value": 8}]}
    viewer = api_for(world.vic, world.northwind)
    assert viewer.post(url(world.shared, "kpi-values/bulk/"), body).status_code == 403
    outsider = api_for(world.cy, world.fabrikam)
    path = url(world.shared, "kpi-values/bulk/", "fabrikam")
    assert outsider.post(path, body).status_code == 404
    assert not KpiValue.objects.filter(kpi=kpi).exists()
    partner = api_for(world.ben, world.contoso)
    response = partner.post(url(world.shared, "kpi-values/bulk/", "contoso"), body)
    assert response.status_code == 200
    assert KpiValue.objects.get(kpi=kpi).entered_by == world.ben


# --- health reviews -------------------------------------------------------------------------


def make_review(alliance, title="Annual review", **fields) -> HealthReview:
    return review_services.review_save(
        review=HealthReview(
            alliance=alliance,
            title=title,
            scope="Is the alliance still worth it?",
            started_on=fields.pop("started_on", TODAY - timedelta(days=30)),
            **fields,
        ),
        user=None,
    )


def add_interview(review, organization, visibility) -> ReviewInterview:
    return review_services.interview_save(
        interview=ReviewInterview(
            alliance=review.alliance,
            review=review,
            author_organization=organization,
            visibility=visibility,
            function=ContactFunction.SALES,
            side=Side.LEAD,
            held_on=TODAY - timedelta(days=3),
            themes="pipeline, trust",
            notes=f"{organization} {visibility} notes",
        ),
        user=None,
    )


def rate(review, ratings: dict) -> None:
    review_services.synthesis_save(
        review=review,
        syntheses=[
            ReviewSynthesis(review=review, corner=corner, rating=rating, strengths="Good")
            for corner, rating in ratings.items()
        ],
    )


@pytest.fixture
def review(world):
    review = make_review(world.shared)
    for organization in (world.northwind, world.contoso):
        for visibility in (Visibility.SHARED, Visibility.INTERNAL):
            add_interview(review, organization, visibility)
    rate(review, {Corner.STRATEGIC: "green", Corner.RELATIONAL: "red"})
    return review


def test_reviews_list_with_ratings_per_corner(world, api_for, review):
    make_review(world.litware, "Not this alliance")
    for api, org in (
        (api_for(world.vic, world.northwind), "northwind"),
        (api_for(world.ben, world.contoso), "contoso"),
    ):
        body = api.get(url(world.shared, "health-reviews/", org)).json()
        assert [row["title"] for row in body["results"]] == ["Annual review"]
        assert body["results"][0]["ratings"] == [
            {"corner": "strategic", "rating": "green"},
            {"corner": "operational", "rating": None},
            {"corner": "relational", "rating": "red"},
            {"corner": "value", "rating": None},
        ]
        assert body["results"][0]["completed"] is False
    outsider = api_for(world.cy, world.fabrikam)
    assert outsider.get(url(world.shared, "health-reviews/", "fabrikam")).status_code == 404
    assert (
        outsider.get(url(world.shared, f"health-reviews/{review.pk}/", "fabrikam")).status_code
        == 404
    )


def test_reviews_list_queries_do_not_grow_with_the_reviews(world, api_for):
    api = api_for(world.ben, world.contoso)
    path = url(world.shared, "health-reviews/", "contoso")
    rate(make_review(world.shared, "Review 0"), {Corner.VALUE: "yellow"})
    one = count_queries(api, path)
    for n in range(1, 5):
        rate(
            make_review(world.shared, f"Review {n}"),
            {Corner.VALUE: "green", Corner.RELATIONAL: "red"},
        )
    assert count_queries(api, path) == one


@pytest.mark.parametrize(
    ("user", "org", "own", "other"),
    [("dan", "northwind", "Northwind", "Contoso"), ("ben", "contoso", "Contoso", "Northwind")],
)
def test_a_review_shows_each_side_only_the_interviews_it_may_see(
    world, api_for, review, user, org, own, other
):
    api = api_for(getattr(world, user), getattr(world, org))
    body = api.get(url(world.shared, f"health-reviews/{review.pk}/", org)).json()
    notes = sorted(interview["notes"] for interview in body["interviews"])
    assert notes == sorted(
        [f"{own} shared notes", f"{own} internal notes", f"{other} shared notes"]
    )
    assert f"{other} internal notes" not in str(body)
    assert [s["corner"] for s in body["syntheses"]] == ["strategic", "relational"]
    assert body["missing_corners"] == ["Operational integration", "Value realisation"]


def test_a_manager_starts_and_edits_a_review_through_the_service(world, api_for):
    api = api_for(world.dan, world.northwind)
    created = api.post(
        url(world.shared, "health-reviews/"),
        {
            "title": "After the merger",
            "kind": "major_event",
            "scope": "What changed",
            "started_on": (TODAY - timedelta(days=2)).isoformat(),
        },
    )
    assert created.status_code == 201, created.json()
    review = HealthReview.objects.get(pk=created.json()["id"])
    assert review.led_by == world.dan and created.json()["led_by"] == str(world.dan)
    assert created.json()["interviews"] == [] and len(created.json()["missing_corners"]) == 4

    edited = api.patch(url(world.shared, f"health-reviews/{review.pk}/"), {"title": "Merger"})
    assert edited.status_code == 200
    review.refresh_from_db()
    assert (review.title, review.kind) == ("Merger", "major_event")

    partner = api_for(world.ben, world.contoso)  # both sides' managers write reviews
    response = partner.post(
        url(world.shared, "health-reviews/", "contoso"),
        {"title": "Ours too", "scope": "x", "started_on": TODAY.isoformat()},
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scope": "x", "started_on": "2026-01-01"}, "title"),
        ({"title": "T", "scope": "x", "started_on": "soon"}, "started_on"),
        ({"title": "T", "scope": "x", "started_on": "2026-01-01", "kind": "yearly"}, "kind"),
        ({"title": "T", "scope": "x", "started_on": "2026-01-01", "led_by": 1}, "led_by"),
    ],
)
def test_bad_reviews_get_field_errors(world, api_for, body, field):
    response = api_for(world.dan, world.northwind).post(url(world.shared, "health-reviews/"), body)
    assert response.status_code == 400 and field in response.json()["errors"]
    assert not HealthReview.objects.exists()


def test_viewers_and_outsiders_write_no_reviews(world, api_for, review):
    body = {"title": "T", "scope": "x", "started_on": TODAY.isoformat()}
    viewer = api_for(world.vic, world.northwind)
    assert viewer.post(url(world.shared, "health-reviews/"), body).status_code == 403
    detail = f"health-reviews/{review.pk}/"
    assert viewer.patch(url(world.shared, detail), {"title": "x"}).status_code == 403
    assert viewer.post(url(world.shared, detail + "complete/")).status_code == 403
    outsider = api_for(world.cy, world.fabrikam)
    assert outsider.post(url(world.shared, "health-reviews/", "fabrikam"), body).status_code == 404
    path = url(world.shared, detail + "interviews/", "fabrikam")
    assert outsider.post(path, {}).status_code == 404
    assert HealthReview.objects.count() == 1


def test_interviews_are_kept_by_the_side_that_took_them(world, api_for, review):
    api = api_for(world.dan, world.northwind)
    path = url(world.shared, f"health-reviews/{review.pk}/interviews/")
    body = {
        "function": "marketing",
        "side": "partner",
        "held_on": TODAY.isoformat(),
        "notes": "Their CMO doubts us",
        "visibility": "internal",
    }
    response = api.post(path, body)
    assert response.status_code == 201, response.json()
    interview = ReviewInterview.objects.get(notes="Their CMO doubts us")
    assert interview.author_organization == world.northwind and interview.created_by == world.dan
    partner = api_for(world.ben, world.contoso)
    seen = partner.get(url(world.shared, f"health-reviews/{review.pk}/", "contoso")).json()
    assert "Their CMO doubts us" not in str(seen)

    ahead = api.post(path, {**body, "held_on": (TODAY + timedelta(days=1)).isoformat()})
    assert ahead.status_code == 400 and "held_on" in ahead.json()["errors"]
    assert api.post(path, {**body, "side": "both"}).status_code == 400
    assert api.post(path, {**body, "mood": "grim"}).json()["errors"] == {"mood": ["Unknown field."]}


def test_rate_the_corners_and_complete_the_review(world, api_for, review):
    api = api_for(world.ben, world.contoso)
    detail = url(world.shared, f"health-reviews/{review.pk}/", "contoso")
    complete = api.post(detail + "complete/")
    assert complete.status_code == 400 and "Not rated yet" in str(complete.json()["errors"])

    bad = api.post(
        detail + "synthesis/",
        {"corners": [{"corner": "value", "rating": "purple"}, {"corner": "value"}]},
    )
    assert bad.status_code == 400
    rated = api.post(
        detail + "synthesis/",
        {
            "corners": [
                {"corner": "operational", "rating": "yellow", "concerns": "Slow"},
                {"corner": "value", "rating": "green"},
                {"corner": "relational", "rating": "yellow"},
            ]
        },
    )
    assert rated.status_code == 200, rated.json()
    relational = ReviewSynthesis.objects.get(review=review, corner=Corner.RELATIONAL)
    assert (relational.rating, relational.strengths) == ("yellow", "Good")  # kept
    duplicate = api.post(
        detail + "synthesis/", {"corners": [{"corner": "value"}, {"corner": "value"}]}
    )
    assert duplicate.status_code == 400
    assert duplicate.json()["errors"]["corners"]["1"]["corner"]

    done = api.post(detail + "complete/")
    assert done.status_code == 200 and done.json()["completed_on"] == TODAY.isoformat()
    review.refresh_from_db()
    assert review.is_completed
    assert api.post(detail + "complete/").status_code == 400  # only once


def test_recommendations_become_shared_action_items(world, api_for, review):
    api = api_for(world.dan, world.northwind)
    path = url(world.shared, f"health-reviews/{review.pk}/recommendations/")
    own = world.shared.contacts.get(side=Side.LEAD, name__endswith="Sponsor")
    theirs = world.shared.contacts.get(side=Side.PARTNER, name__endswith="Sponsor")
    due = (TODAY + timedelta(days=30)).isoformat()
    response = api.post(path, {"title": "Joint QBR", "owner": own.pk, "due_on": due})
    assert response.status_code == 201, response.json()
    action = ActionItem.objects.get(title="Joint QBR")
    assert action.source == ActionSource.HEALTH_REVIEW and action.visibility == Visibility.SHARED
    shown = response.json()["recommendations"][0]["action"]
    assert shown["title"] == "Joint QBR" and shown["owner_side"] == "lead"

    response = api.post(path, {"title": "Theirs", "owner": theirs.pk, "due_on": due})
    assert response.status_code == 400 and "owner" in response.json()["errors"]
    past = (TODAY - timedelta(days=1)).isoformat()
    response = api.post(path, {"title": "Late", "owner": own.pk, "due_on": past})
    assert response.status_code == 400 and "due_on" in response.json()["errors"]

    # Made internal by Northwind later: Contoso sees that a recommendation exists, not what.
    ActionItem.objects.filter(pk=action.pk).update(visibility=Visibility.INTERNAL)
    partner = api_for(world.ben, world.contoso)
    body = partner.get(url(world.shared, f"health-reviews/{review.pk}/", "contoso")).json()
    assert body["recommendations"][0]["action"] is None
    assert "Joint QBR" not in str(body)
