"""Balanced-scorecard KPIs: lights in both directions, thresholds, values and their CSV
import, the KPIs Concord computes itself, and the scorecard pages."""

from datetime import date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alliances import services as alliance_services
from alliances.models import Side, Stage, Visibility
from governance import services as gov
from governance.models import ActionItem, ActionStatus, Escalation, GovernanceBody, Meeting, Tier
from scorecards import kpis
from scorecards.kpis import month_add, month_start
from scorecards.lights import Color
from scorecards.models import (
    SOURCE_DIRECTIONS,
    SOURCE_UNITS,
    CornerScore,
    Direction,
    Kpi,
    KpiGroup,
    KpiSource,
    KpiUnit,
    KpiValue,
    Metric,
    RoundHealth,
    View,
)
from surveys.models import SurveyRound
from tests.factories import ContactFactory


def url(alliance, suffix: str = "", org: str = "northwind") -> str:
    return f"/o/{org}/alliances/{alliance.pk}/scorecard/{suffix}"


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


def this_month() -> date:
    return month_start(timezone.localdate())


def last_month() -> date:
    return month_add(this_month(), -1)


# --- lights ---------------------------------------------------------------------------------


HIGHER = Kpi(name="Milestones hit", unit=KpiUnit.PERCENT, green_from=80, red_below=60)
LOWER = Kpi(
    name="Days to resolve",
    unit=KpiUnit.DAYS,
    direction=Direction.LOWER,
    green_from=14,
    red_below=30,
)


@pytest.mark.parametrize(
    ("value", "color", "words"),
    [
        (100, Color.GREEN, "at or above 80%"),
        (80, Color.GREEN, "at or above 80%"),  # the boundary is green
        (79.9, Color.YELLOW, "below 80%"),
        (60, Color.YELLOW, "not below 60%"),  # red begins below 60
        (59.9, Color.RED, "below 60%, where red begins"),
        (0, Color.RED, "below 60%"),
    ],
)
def test_higher_is_better_lights(value, color, words):
    light, reason = kpis.kpi_light(HIGHER, value)
    assert light == color
    assert words in reason


@pytest.mark.parametrize(
    ("value", "color", "words"),
    [
        (0, Color.GREEN, "at or below 14 days"),
        (14, Color.GREEN, "at or below 14 days"),  # the boundary is green
        (14.5, Color.YELLOW, "above 14 days"),
        (30, Color.YELLOW, "not above 30 days"),  # red begins above 30
        (30.5, Color.RED, "above 30 days, where red begins"),
        (90, Color.RED, "lower is better"),
    ],
)
def test_lower_is_better_lights(value, color, words):
    light, reason = kpis.kpi_light(LOWER, value)
    assert light == color
    assert words in reason


def test_no_value_or_no_thresholds_is_grey_with_a_reason():
    assert kpis.kpi_light(HIGHER, None) == (Color.GREY, "No value yet.")
    untracked = Kpi(name="Headcount", unit=KpiUnit.COUNT)
    assert kpis.kpi_light(untracked, 12) == (Color.GREY, "No thresholds set, so no light.")


def test_equal_thresholds_leave_no_yellow_band():
    kpi = Kpi(name="Ready", unit=KpiUnit.PERCENT, green_from=50, red_below=50)
    assert kpis.kpi_light(kpi, 50)[0] == Color.GREEN
    assert kpis.kpi_light(kpi, 49)[0] == Color.RED
    kpi.direction = Direction.LOWER
    assert kpis.kpi_light(kpi, 50)[0] == Color.GREEN
    assert kpis.kpi_light(kpi, 51)[0] == Color.RED


# --- definitions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "green", "red", "field", "words"),
    [
        (Direction.HIGHER, 60, 80, "red_below", "Higher is better, so red must begin below"),
        (Direction.LOWER, 30, 14, "red_below", "Lower is better, so red must begin above"),
        (Direction.HIGHER, 80, None, "red_below", "both thresholds, or neither"),
        (Direction.LOWER, None, 30, "green_from", "both thresholds, or neither"),
    ],
)
def test_thresholds_must_follow_the_direction(world, direction, green, red, field, words):
    kpi = Kpi(
        alliance=world.shared,
        group=KpiGroup.EXECUTION,
        name="Milestones",
        unit=KpiUnit.NUMBER,
        direction=direction,
        green_from=green,
        red_below=red,
    )
    with pytest.raises(ValidationError) as caught:
        kpis.kpi_save(kpi=kpi)
    assert words in " ".join(caught.value.message_dict[field])
    assert not Kpi.objects.filter(alliance=world.shared).exists()


@pytest.mark.parametrize(
    ("unit", "green", "red", "words"),
    [
        (KpiUnit.PERCENT, 120, 60, "goes from 0 to 100"),
        (KpiUnit.SCORE, 70, -5, "goes from 0 to 100"),
        (KpiUnit.DAYS, 10, -1, "cannot be negative"),
        (KpiUnit.COUNT, -2, -5, "cannot be negative"),
    ],
)
def test_thresholds_must_fit_the_unit(world, unit, green, red, words):
    with pytest.raises(ValidationError, match=words):
        make_kpi(world.shared, unit=unit, green_from=green, red_below=red)


@pytest.mark.parametrize(
    ("direction", "green", "red"), [(Direction.HIGHER, 60, 80), (Direction.LOWER, 30, 14)]
)
def test_the_database_refuses_inverted_thresholds(world, direction, green, red):
    with pytest.raises(IntegrityError), transaction.atomic():
        Kpi.objects.create(
            alliance=world.shared,
            group=KpiGroup.VALUE,
            name="Raw",
            direction=direction,
            green_from=green,
            red_below=red,
        )


def test_money_needs_a_currency_and_names_are_unique(world):
    with pytest.raises(ValidationError, match="three-letter currency code"):
        make_kpi(world.shared, name="Revenue", unit=KpiUnit.CURRENCY, green_from=10, red_below=5)
    kpi = make_kpi(world.shared, name="Revenue", unit=KpiUnit.CURRENCY, currency="eur")
    assert kpi.currency == "EUR"
    with pytest.raises(ValidationError) as caught:
        make_kpi(world.shared, name="revenue")
    assert "already has a KPI with this name" in caught.value.message_dict["name"][0]


def test_a_computed_kpi_takes_its_sources_unit_and_exists_once(world):
    kpi = make_kpi(
        world.shared,
        name="Trust",
        group=KpiGroup.RELATIONSHIP,
        source=KpiSource.TRUST_PULSE,
        unit=KpiUnit.CURRENCY,
        currency="EUR",
        green_from=70,
        red_below=50,
    )
    assert (kpi.unit, kpi.currency) == (KpiUnit.SCORE, "")
    with pytest.raises(ValidationError) as caught:
        make_kpi(world.shared, name="Trust again", source=KpiSource.TRUST_PULSE)
    assert "already has a KPI computed from this" in caught.value.message_dict["source"][0]


def test_the_unit_of_a_kpi_with_values_cannot_change(world):
    kpi = make_kpi(world.shared)
    kpis.kpi_value_save(kpi=kpi, month=last_month(), value="4")
    kpi.unit = KpiUnit.PERCENT
    with pytest.raises(ValidationError, match="already has values"):
        kpis.kpi_save(kpi=kpi)
    kpi.refresh_from_db()
    assert kpi.unit == KpiUnit.COUNT


def test_suggested_kpis_cover_every_group_and_are_added_once(world):
    added = kpis.kpi_defaults_seed(alliance=world.shared)
    assert {kpi.group for kpi in added} == set(KpiGroup.values)
    assert {kpi.source for kpi in added} >= set(KpiSource.values)
    assert kpis.kpi_defaults_seed(alliance=world.shared) == []
    assert Kpi.objects.filter(alliance=world.shared).count() == len(added)


# --- values ---------------------------------------------------------------------------------


def test_entering_a_month_again_replaces_its_value(world):
    kpi = make_kpi(world.shared)
    kpis.kpi_value_save(kpi=kpi, month="2026-01", value="7", user=world.ada, note="First")
    kpis.kpi_value_save(kpi=kpi, month=date(2026, 1, 20), value=9, user=world.ben, note="Corrected")
    (value,) = KpiValue.objects.filter(kpi=kpi)
    assert (value.month, value.value, value.entered_by, value.note) == (
        date(2026, 1, 1),
        9,
        world.ben,
        "Corrected",
    )


@pytest.mark.parametrize(
    ("unit", "text", "words"),
    [
        (KpiUnit.COUNT, "12%", "is a percentage, but Measure is measured in count"),
        (KpiUnit.COUNT, "2.5", "not a whole number"),
        (KpiUnit.COUNT, "-1", "cannot be negative"),
        (KpiUnit.DAYS, "twelve", "is not a number"),
        (KpiUnit.NUMBER, "1,5", "use a point for decimals"),
        (KpiUnit.NUMBER, "nan", "is not a number"),
        (KpiUnit.PERCENT, "120%", "goes from 0 to 100"),
        (KpiUnit.NUMBER, "", "Give a value"),
    ],
)
def test_values_of_the_wrong_unit_or_not_numbers_are_refused(world, unit, text, words):
    kpi = make_kpi(world.shared, name="Measure", unit=unit, green_from=None, red_below=None)
    with pytest.raises(ValidationError) as caught:
        kpis.kpi_value_save(kpi=kpi, month=last_month(), value=text)
    assert words in caught.value.message_dict["value"][0]
    assert not KpiValue.objects.filter(kpi=kpi).exists()


@pytest.mark.parametrize(
    ("unit", "text", "value"),
    [
        (KpiUnit.PERCENT, "75%", 75),
        (KpiUnit.PERCENT, "62.5", 62.5),
        (KpiUnit.COUNT, "1,200", 1200),
        (KpiUnit.NUMBER, "-3.25", -3.25),
    ],
)
def test_values_in_the_units_own_notation_are_read(world, unit, text, value):
    kpi = make_kpi(world.shared, name="Measure", unit=unit, green_from=None, red_below=None)
    assert kpis.kpi_value_save(kpi=kpi, month=last_month(), value=text).value == value


def test_money_values_may_carry_their_currency_code(world):
    kpi = make_kpi(world.shared, name="Revenue", unit=KpiUnit.CURRENCY, currency="EUR")
    assert kpis.kpi_value_save(kpi=kpi, month=last_month(), value="EUR 12,500.50").value == 12500.5
    with pytest.raises(ValidationError, match="not an amount in EUR"):
        kpis.kpi_value_save(kpi=kpi, month=last_month(), value="$100")


def test_future_months_and_computed_kpis_take_no_values(world):
    kpi = make_kpi(world.shared)
    with pytest.raises(ValidationError, match="has not begun yet"):
        kpis.kpi_value_save(kpi=kpi, month=month_add(this_month(), 1), value="3")
    with pytest.raises(ValidationError, match="YYYY-MM"):
        kpis.kpi_value_save(kpi=kpi, month="2026-13", value="3")
    computed = make_kpi(world.shared, name="Trust", source=KpiSource.TRUST_PULSE, green_from=70,
                        red_below=50)  # fmt: skip
    with pytest.raises(ValidationError, match="computed by Concord"):
        kpis.kpi_value_save(kpi=computed, month=last_month(), value="70")


# --- CSV import -----------------------------------------------------------------------------


@pytest.fixture
def scorecard(world):
    """Two manual KPIs and one computed, on the shared alliance."""
    return {
        "pipeline": make_kpi(world.shared, "Joint pipeline"),
        "milestones": make_kpi(
            world.shared,
            "Milestones hit",
            group=KpiGroup.EXECUTION,
            unit=KpiUnit.PERCENT,
            green_from=80,
            red_below=60,
        ),
        "trust": make_kpi(
            world.shared,
            "Trust pulse",
            group=KpiGroup.RELATIONSHIP,
            source=KpiSource.TRUST_PULSE,
            green_from=70,
            red_below=50,
        ),
    }


def test_csv_import_saves_every_line_and_replaces_existing_months(world, scorecard):
    kpis.kpi_value_save(kpi=scorecard["pipeline"], month="2026-01", value="1")
    data = (
        b"KPI,Month,Value,Note\n"
        b"Joint pipeline,2026-01,12,Q1 push\n"
        b"joint pipeline,2026-02,14,\n"
        b"Milestones hit,2026-02,75%,\n"
        b"\n"
    )
    result = kpis.kpi_values_import_csv(alliance=world.shared, data=data, user=world.dan)
    assert (result.created, result.replaced, result.errors) == (2, 1, [])
    values = {
        (v.kpi.name, v.month): (v.value, v.note)
        for v in KpiValue.objects.filter(kpi__alliance=world.shared).select_related("kpi")
    }
    assert values[("Joint pipeline", date(2026, 1, 1))] == (12, "Q1 push")
    assert values[("Milestones hit", date(2026, 2, 1))] == (75, "")


def test_csv_import_reports_every_bad_line_and_saves_nothing(world, scorecard):
    future = month_add(this_month(), 2)
    data = (
        "kpi,month,value\n"
        "Joint pipeline,2026-01,12\n"  # 2: fine
        "Joint pipeline,2026-01,13\n"  # 3: duplicate of line 2
        "Revenue,2026-01,5\n"  # 4: unknown KPI
        "Trust pulse,2026-01,70\n"  # 5: computed
        "Joint pipeline,2026-02,12%\n"  # 6: wrong unit
        "Milestones hit,2026-02,lots\n"  # 7: not a number
        "Milestones hit,02/2026,50\n"  # 8: month format
        f"Milestones hit,{future:%Y-%m},50\n"  # 9: future
        "Milestones hit,2026-03,50,extra,more\n"  # 10: too many values
    ).encode()
    result = kpis.kpi_values_import_csv(alliance=world.shared, data=data)
    assert result.saved == 0
    assert result.errors == [
        "Line 3: Joint pipeline for 2026-01 also appears on line 2.",
        "Line 4: this alliance has no KPI named “Revenue”.",
        "Line 5: Trust pulse is computed by Concord from trust pulse (survey trust anchor); "
        "its values cannot be entered or imported.",
        "Line 6: “12%” is a percentage, but Joint pipeline is measured in count (whole numbers).",
        "Line 7: “lots” is not a number.",
        "Line 8: “02/2026” is not a month: write it as YYYY-MM, e.g. 2026-03.",
        f"Line 9: {future:%B %Y} has not begun yet.",
        "Line 10: 5 values but the header has 3.",
    ]
    assert not KpiValue.objects.filter(kpi__alliance=world.shared).exists()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", "The file is empty"),
        (b"name,value\nx,1\n", "missing: kpi, month"),
        (b"kpi,month,value\n", "no values"),
        ("kpi,month,value\nJoint pipeline,2026-01,1\n".encode("utf-16"), "not UTF-8"),
    ],
)
def test_csv_files_that_are_not_value_tables_are_refused(world, scorecard, data, error):
    result = kpis.kpi_values_import_csv(alliance=world.shared, data=data)
    assert error in result.errors[0]
    assert not KpiValue.objects.exists()


def test_csv_import_only_knows_the_alliances_own_kpis(world, scorecard):
    make_kpi(world.litware, "Litware only")
    result = kpis.kpi_values_import_csv(
        alliance=world.shared, data=b"kpi,month,value\nLitware only,2026-01,3\n"
    )
    assert result.errors == ["Line 2: this alliance has no KPI named “Litware only”."]


# --- computed KPIs --------------------------------------------------------------------------


@pytest.fixture
def measured(world):
    """A Northwind alliance with a year behind it, every computed KPI, and data for them
    in the previous month: survey health, actions, escalations and a meeting."""
    alliance = alliance_services.alliance_create(
        organization=world.northwind, user=world.ada, name="Measured", partner_name="Contoso"
    )
    alliance.partner_organization = world.contoso
    alliance.save()
    type(alliance).objects.filter(pk=alliance.pk).update(
        created_at=timezone.now() - timedelta(days=400)
    )
    alliance.refresh_from_db()
    lead = ContactFactory(alliance=alliance, side=Side.LEAD)
    partner = ContactFactory(alliance=alliance, side=Side.PARTNER)
    guest = ContactFactory(alliance=alliance, side=Side.PARTNER)
    month = last_month()
    day = timezone.make_aware(datetime.combine(month.replace(day=10), datetime.min.time()))

    for offset, (trust, responses, invited, responded) in enumerate(
        [(72.0, 5, 10, 7), (30.0, 2, 4, 2)]
    ):
        period = month_add(month, -offset)
        survey_round = SurveyRound.objects.create(
            alliance=alliance,
            period_start=period,
            period_end=month_add(period, 1) - timedelta(days=1),
            stage=Stage.EXECUTION,
            opens_at=day - timedelta(days=31 * offset),
            closes_at=day - timedelta(days=31 * offset - 10),
            closed_at=day - timedelta(days=31 * offset - 10),
        )
        RoundHealth.objects.create(
            alliance=alliance,
            round=survey_round,
            period_start=period,
            opens_at=survey_round.opens_at,
            stage=Stage.EXECUTION,
            invited=invited,
            invited_lead=invited // 2,
            invited_partner=invited - invited // 2,
            responded=responded,
            responded_lead=responded // 2,
            responded_partner=responded - responded // 2,
            response_rate=100 * responded / invited,
            low_confidence=responded < 3,
        )
        CornerScore.objects.create(
            alliance=alliance,
            round=survey_round,
            metric=Metric.TRUST,
            view=View.ALL,
            score=trust,
            responses=responses,
        )

    def action(status, *, late=False, visibility=Visibility.SHARED):
        due = month.replace(day=12)
        ActionItem.objects.create(
            alliance=alliance,
            author_organization=world.northwind,
            visibility=visibility,
            title=f"{status} {late}",
            owner=lead,
            due_on=due,
            status=status,
            completed_at=(
                day + timedelta(days=5 if late else 1) if status == ActionStatus.DONE else None
            ),
        )

    action(ActionStatus.DONE)  # on time
    action(ActionStatus.DONE, late=True)
    action(ActionStatus.OPEN)  # overdue
    action(ActionStatus.DROPPED)  # does not count
    action(ActionStatus.DONE, late=True, visibility=Visibility.INTERNAL)  # stays internal

    for raised, resolved in ((day - timedelta(days=8), day), (day, day + timedelta(days=4))):
        Escalation.objects.create(
            alliance=alliance,
            title="Pricing",
            sla_days=10,
            raised_at=raised,
            due_at=raised + timedelta(days=10),
            resolved_at=resolved,
            resolution="Agreed a price list.",
        )
    body = gov.body_save(
        body=GovernanceBody(alliance=alliance, name="Council", tier=Tier.OPERATIONAL_COUNCIL),
        members=[lead, partner],
        chair=lead,
    )
    first = gov.meeting_record(
        meeting=Meeting(body=body, held_on=month.replace(day=3)), attendees=[lead]
    )
    first.attendees.add(guest)  # a former member: not counted against the body's members
    gov.meeting_record(
        meeting=Meeting(body=body, held_on=month.replace(day=17)), attendees=[lead, partner]
    )
    for source in KpiSource.values[1:]:
        Kpi.objects.create(
            alliance=alliance,
            group=KpiGroup.RELATIONSHIP,
            name=source,
            source=source,
            unit=SOURCE_UNITS[source],
            direction=SOURCE_DIRECTIONS[source],
        )
    return alliance


def computed_values(alliance) -> dict:
    return {
        (v.kpi.source, v.month): round(v.value, 2)
        for v in KpiValue.objects.filter(kpi__alliance=alliance).select_related("kpi")
    }


def test_computed_kpis_come_from_the_data_concord_holds(measured):
    result = kpis.kpi_values_compute(now=timezone.now(), alliance_ids=[measured.pk])
    values = computed_values(measured)
    month, before = last_month(), month_add(last_month(), -1)
    assert values[(KpiSource.TRUST_PULSE, month)] == 72.0
    # Two responses are "insufficient data": no trust value at all, not a low one.
    assert (KpiSource.TRUST_PULSE, before) not in values
    assert values[(KpiSource.RESPONSE_RATE, month)] == 70.0
    assert values[(KpiSource.RESPONSE_RATE, before)] == 50.0
    # Shared actions due that month, not dropped: one of three done on time.
    assert values[(KpiSource.ACTIONS_ON_TIME, month)] == 33.33
    # Resolved that month after 8 and 4 days.
    assert values[(KpiSource.ESCALATION_DAYS, month)] == 6.0
    # Two raised last month; a month without escalations counts none.
    assert values[(KpiSource.CONFLICT_COUNT, month)] == 2
    assert values[(KpiSource.CONFLICT_COUNT, this_month())] == 0
    assert values[(KpiSource.CONFLICT_COUNT, month_add(this_month(), -11))] == 0
    # Two meetings of a two-member body: three of four seats filled by members.
    assert values[(KpiSource.MEETING_ATTENDANCE, month)] == 75.0
    assert result.created == len(values)


def test_computing_again_changes_nothing_until_the_data_does(measured):
    now = timezone.now()
    kpis.kpi_values_compute(now=now, alliance_ids=[measured.pk])
    first = computed_values(measured)
    ids = set(KpiValue.objects.values_list("pk", flat=True))
    assert kpis.kpi_values_compute(now=now) == kpis.ComputeResult(0, 0, 0)
    assert computed_values(measured) == first
    assert set(KpiValue.objects.values_list("pk", flat=True)) == ids

    CornerScore.objects.filter(alliance=measured, responses=5).update(score=64.0)
    Escalation.objects.filter(alliance=measured, resolved_at__isnull=False).update(resolved_at=None)
    result = kpis.kpi_values_compute(now=now, alliance_ids=[measured.pk])
    values = computed_values(measured)
    assert values[(KpiSource.TRUST_PULSE, last_month())] == 64.0
    assert (KpiSource.ESCALATION_DAYS, last_month()) not in values
    assert (result.updated, result.deleted) == (1, 1)


def test_archived_and_manual_kpis_are_left_alone(measured, world):
    Kpi.objects.filter(alliance=measured, source=KpiSource.TRUST_PULSE).update(
        archived_at=timezone.now()
    )
    manual = make_kpi(measured, "By hand")
    kpis.kpi_value_save(kpi=manual, month=last_month(), value="3")
    kpis.kpi_values_compute(now=timezone.now())
    assert not KpiValue.objects.filter(kpi__source=KpiSource.TRUST_PULSE).exists()
    assert KpiValue.objects.get(kpi=manual).value == 3


def test_computing_is_set_based(measured, world):
    def count(ids):
        with CaptureQueriesContext(connection) as context:
            kpis.kpi_values_compute(now=timezone.now(), alliance_ids=ids)
        return len(context.captured_queries)

    one = count([measured.pk])
    for alliance in (world.shared, world.litware, world.fabrikam_alliance):
        kpis.kpi_defaults_seed(alliance=alliance)
    KpiValue.objects.all().delete()
    many = count(None)
    assert KpiValue.objects.values("kpi__alliance").distinct().count() == 4
    assert one == many


# --- pages ----------------------------------------------------------------------------------


def test_an_empty_scorecard_offers_the_suggested_kpis(world, client_for):
    client = client_for(world.ada)
    page = client.get(url(world.shared)).content.decode()
    assert "Add the suggested KPIs" in page
    response = client.post(url(world.shared, "kpis/suggested/"))
    assert response.status_code == 302
    page = client.get(url(world.shared)).content.decode()
    assert "Trust pulse" in page and "Joint innovations shipped" in page
    assert "Capability" in page and "computed" in page


def test_both_sides_see_the_same_kpis_with_lights_in_words(world, client_for, scorecard):
    kpis.kpi_value_save(kpi=scorecard["milestones"], month=last_month(), value="55")
    kpis.kpi_value_save(kpi=scorecard["pipeline"], month=last_month(), value="12")
    for user, org in ((world.ada, "northwind"), (world.ben, "contoso")):
        response = client_for(user).get(url(world.shared, org=org))
        assert response.status_code == 200
        page = response.content.decode()
        assert "Milestones hit" in page and "Joint pipeline" in page and "Trust pulse" in page
        assert "■</span> Red" in page and "55% is below 60%, where red begins." in page
        assert "●</span> Green" in page
        assert '<svg class="kpi-spark"' in page
        assert 'aria-current="page">Scorecard<' in page


def test_a_manager_of_either_side_enters_values(world, client_for, scorecard):
    kpi = scorecard["pipeline"]
    month = f"{last_month():%Y-%m}"
    client = client_for(world.ben)
    response = client.post(
        url(world.shared, f"kpis/{kpi.pk}/", "contoso"), {"month": month, "value": "8"}
    )
    assert response.status_code == 302
    response = client.post(
        url(world.shared, f"kpis/{kpi.pk}/", "contoso"), {"month": month, "value": "11"}
    )
    assert KpiValue.objects.get(kpi=kpi).value == 11
    page = client.get(url(world.shared, f"kpis/{kpi.pk}/", "contoso")).content.decode()
    assert "Ben Partner" in page and "Green" in page


def test_a_bad_value_is_shown_on_the_form(world, client_for, scorecard):
    kpi = scorecard["pipeline"]
    response = client_for(world.dan).post(
        url(world.shared, f"kpis/{kpi.pk}/"), {"month": "2026-01", "value": "12%"}
    )
    assert response.status_code == 400
    assert "is a percentage, but Joint pipeline is measured in count" in response.content.decode()
    response = client_for(world.dan).post(url(world.shared, f"kpis/{kpi.pk}/"), {})
    assert response.status_code == 400
    assert not KpiValue.objects.exists()


def test_kpi_definitions_are_the_leads_settings(world, client_for, scorecard):
    body = {
        "name": "Cost saved",
        "group": "value",
        "source": "manual",
        "unit": "currency",
        "currency": "usd",
        "direction": "higher",
        "green_from": "50000",
        "red_below": "10000",
    }
    assert (
        client_for(world.ben).post(url(world.shared, "kpis/new/", "contoso"), body).status_code
        == 403
    )
    response = client_for(world.ada).post(url(world.shared, "kpis/new/"), body)
    assert response.status_code == 302
    kpi = Kpi.objects.get(name="Cost saved")
    assert (kpi.currency, kpi.position) == ("USD", 1)

    inverted = {**body, "name": "Cost avoided", "direction": "lower"}
    response = client_for(world.ada).post(url(world.shared, "kpis/new/"), inverted)
    assert response.status_code == 400
    assert "Lower is better, so red must begin above" in response.content.decode()
    assert not Kpi.objects.filter(name="Cost avoided").exists()

    edit = {**body, "name": "Cost saved (USD)"}
    response = client_for(world.ada).post(url(world.shared, f"kpis/{kpi.pk}/edit/"), edit)
    assert response.status_code == 302
    kpi.refresh_from_db()
    assert kpi.name == "Cost saved (USD)"


def test_archiving_hides_a_kpi_and_keeps_its_values(world, client_for, scorecard):
    kpi = scorecard["pipeline"]
    kpis.kpi_value_save(kpi=kpi, month=last_month(), value="3")
    client = client_for(world.ada)
    assert (
        client.post(url(world.shared, f"kpis/{kpi.pk}/archive/"), {"archive": "1"}).status_code
        == 302
    )
    kpi.refresh_from_db()
    assert kpi.is_archived and KpiValue.objects.filter(kpi=kpi).exists()
    page = client.get(url(world.shared)).content.decode()
    assert "Archived KPIs" in page and f'id="kpi-{kpi.pk}"' not in page
    client.post(url(world.shared, f"kpis/{kpi.pk}/archive/"), {"archive": "0"})
    kpi.refresh_from_db()
    assert not kpi.is_archived


def test_csv_import_page_reports_lines_and_imports_a_good_file(world, client_for, scorecard):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for(world.ben)
    bad = SimpleUploadedFile(
        "v.csv", b"kpi,month,value\nJoint pipeline,2026-01,x\nNope,2026-01,1\n"
    )
    response = client.post(url(world.shared, "import/", "contoso"), {"file": bad})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was imported" in page
    assert "Line 2: “x” is not a number." in page and "Line 3: this alliance has no KPI" in page
    good = SimpleUploadedFile("v.csv", b"kpi,month,value\nJoint pipeline,2026-01,4\n")
    response = client.post(url(world.shared, "import/", "contoso"), {"file": good})
    assert response.status_code == 302
    assert KpiValue.objects.get(kpi=scorecard["pipeline"]).entered_by == world.ben


def test_the_import_template_lists_manual_kpis_safely(world, client_for, scorecard):
    make_kpi(world.shared, "=HYPERLINK(1)")
    response = client_for(world.vic).get(url(world.shared, "import/template.csv"))
    assert response.status_code == 200
    lines = response.content.decode().splitlines()
    assert lines[0] == "kpi,month,value,note"
    assert f"Joint pipeline,{last_month():%Y-%m},," in lines
    assert any(line.startswith("'=HYPERLINK") for line in lines)
    assert not any(line.startswith("Trust pulse") for line in lines)


def test_a_viewer_reads_but_does_not_write(world, client_for, scorecard):
    client = client_for(world.vic)
    kpi = scorecard["pipeline"]
    assert client.get(url(world.shared)).status_code == 200
    assert client.get(url(world.shared, f"kpis/{kpi.pk}/")).status_code == 200
    writes = [
        ("kpis/new/", {"name": "x"}),
        ("kpis/suggested/", {}),
        (f"kpis/{kpi.pk}/", {"month": "2026-01", "value": "3"}),
        (f"kpis/{kpi.pk}/edit/", {"name": "x"}),
        (f"kpis/{kpi.pk}/archive/", {"archive": "1"}),
        ("import/", {}),
    ]
    for suffix, body in writes:
        assert client.post(url(world.shared, suffix), body).status_code == 403, suffix
    assert client.get(url(world.shared, "kpis/new/")).status_code == 403
    assert not KpiValue.objects.exists() and not kpi.__class__.objects.filter(name="x").exists()


@pytest.mark.parametrize(
    "suffix",
    ["", "kpis/new/", "kpis/{kpi}/", "kpis/{kpi}/edit/", "import/", "import/template.csv"],
)
def test_the_outsider_gets_404(world, client_for, scorecard, suffix):
    client = client_for(world.cy)
    suffix = suffix.format(kpi=scorecard["pipeline"].pk)
    for org in ("northwind", "fabrikam"):
        assert client.get(url(world.shared, suffix, org)).status_code == 404
        assert client.post(url(world.shared, suffix, org)).status_code == 404


def test_another_alliances_kpi_is_404_inside_ones_own(world, client_for):
    other = make_kpi(world.litware, "Litware pipeline")
    client = client_for(world.ben)
    for suffix in (f"kpis/{other.pk}/", f"kpis/{other.pk}/edit/"):
        assert client.get(url(world.shared, suffix, "contoso")).status_code == 404
    response = client.post(url(world.shared, f"kpis/{other.pk}/", "contoso"), {"value": "1"})
    assert response.status_code == 404


# --- query counts ---------------------------------------------------------------------------


def queries(client, address) -> int:
    client.get(address)
    with CaptureQueriesContext(connection) as context:
        assert client.get(address).status_code == 200
    return len(context.captured_queries)


def test_the_scorecard_costs_the_same_with_3_or_20_kpis(
    world, client_for, django_assert_num_queries
):
    client = client_for(world.ben)
    address = url(world.shared, org="contoso")
    groups = list(KpiGroup.values)

    def grow(total):
        while Kpi.objects.filter(alliance=world.shared).count() < total:
            n = Kpi.objects.filter(alliance=world.shared).count()
            kpi = make_kpi(world.shared, f"KPI {n}", group=groups[n % 4])
            for back in range(12):
                kpis.kpi_value_save(kpi=kpi, month=month_add(this_month(), -back), value=n + back)

    grow(3)
    few = queries(client, address)
    grow(20)
    with django_assert_num_queries(few):
        assert client.get(address).status_code == 200


def test_a_kpis_values_cost_the_same_for_1_or_24_months(
    world, client_for, scorecard, django_assert_num_queries
):
    client = client_for(world.ada)
    kpi = scorecard["pipeline"]
    address = url(world.shared, f"kpis/{kpi.pk}/")
    users = [world.ada, world.dan, world.ben]
    kpis.kpi_value_save(kpi=kpi, month=this_month(), value=1, user=world.ada)
    few = queries(client, address)
    for back in range(1, 24):
        kpis.kpi_value_save(
            kpi=kpi, month=month_add(this_month(), -back), value=back, user=users[back % 3]
        )
    with django_assert_num_queries(few):
        assert client.get(address).status_code == 200


def test_a_computed_kpi_shows_its_values_but_takes_none(world, client_for, scorecard):
    kpi = scorecard["trust"]
    client = client_for(world.ada)
    page = client.get(url(world.shared, f"kpis/{kpi.pk}/")).content.decode()
    assert "its values cannot be entered by hand" in page
    response = client.post(
        url(world.shared, f"kpis/{kpi.pk}/"), {"month": "2026-01", "value": "70"}
    )
    assert response.status_code == 400
    assert "its values cannot be entered by hand" in response.content.decode()
    assert not KpiValue.objects.filter(kpi=kpi).exists()


def test_archived_kpis_take_no_values(world, scorecard):
    kpis.kpi_archive(kpi=scorecard["pipeline"])
    with pytest.raises(ValidationError, match="archived"):
        kpis.kpi_value_save(kpi=scorecard["pipeline"], month=last_month(), value="3")
    result = kpis.kpi_values_import_csv(
        alliance=world.shared, data=b"kpi,month,value\nJoint pipeline,2026-01,3\n"
    )
    assert result.errors == ["Line 2: Joint pipeline is archived. Restore it to enter values."]


def test_adding_a_computed_kpi_measures_it_at_once(measured):
    Kpi.objects.filter(alliance=measured, source=KpiSource.RESPONSE_RATE).delete()
    kpi = make_kpi(
        measured,
        "Response rate",
        group=KpiGroup.RELATIONSHIP,
        source=KpiSource.RESPONSE_RATE,
        green_from=80,
        red_below=50,
    )
    assert KpiValue.objects.get(kpi=kpi, month=last_month()).value == 70
    assert kpis.kpi_light(kpi, 70) == (
        Color.YELLOW,
        "70% is below 80%, where green starts, and not below 50%.",
    )
