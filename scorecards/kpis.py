"""Balanced-scorecard KPIs: saving definitions and values, CSV import, lights, the suggested
scorecard, and the daily computation of the KPIs Concord measures itself.

Writes are keyword-only ``<entity>_<action>`` functions; they raise ``ValidationError`` with
messages a person can act on, keyed by field where there is one.
"""

import csv
import io
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone

from alliances.models import Alliance, Visibility
from governance.models import ActionItem, ActionStatus, Escalation, GovernanceBody, Meeting
from surveys.anonymity import MIN_CELL

from . import freshness
from .charts import sparkline
from .lights import Color, threshold_color
from .models import (
    BOUNDED_UNITS,
    COMPUTED_SOURCES,
    NON_NEGATIVE_UNITS,
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

# How far back the daily job (re)computes, and how much history the scorecard shows.
COMPUTE_MONTHS = 12
HISTORY_MONTHS = 12
CSV_COLUMNS = ("kpi", "month", "value", "note")


# --- months ---------------------------------------------------------------------------------


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_add(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def months_back(last: date, count: int) -> list[date]:
    """``count`` months ending with ``last``'s month, oldest first."""
    last = month_start(last)
    return [month_add(last, -n) for n in range(count - 1, -1, -1)]


MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{1,2})$")


def month_parse(text: str) -> date:
    match = MONTH_PATTERN.match((text or "").strip())
    if not match:
        raise ValidationError(f"“{text}” is not a month: write it as YYYY-MM, e.g. 2026-03.")
    year, month = int(match[1]), int(match[2])
    if not 1 <= month <= 12 or year < 1900:
        raise ValidationError(f"“{text}” is not a month: write it as YYYY-MM, e.g. 2026-03.")
    return date(year, month, 1)


# --- values and units -----------------------------------------------------------------------

NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
GROUPED_NUMBER = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")


def kpi_value_parse(*, kpi: Kpi, text: str) -> float:
    """A typed or imported value, checked against the KPI's unit."""
    raw = (text or "").strip()
    if not raw:
        raise ValidationError("Give a value.")
    number = raw.replace(" ", "").replace("\u00a0", "")
    unit = KpiUnit(kpi.unit)
    if number.endswith("%"):
        if unit != KpiUnit.PERCENT:
            raise ValidationError(
                f"“{raw}” is a percentage, but {kpi} is measured in {kpi.unit_label.lower()}."
            )
        number = number[:-1]
    if unit == KpiUnit.CURRENCY:
        code = kpi.currency.upper()
        upper = number.upper()
        if upper.startswith(code) or upper.endswith(code):
            number = upper.removeprefix(code).removesuffix(code)
        elif number[:1].isalpha() or number[-1:].isalpha() or number[:1] in "$€£¥":
            raise ValidationError(f"“{raw}” is not an amount in {code}: give the number only.")
    if GROUPED_NUMBER.match(number):
        number = number.replace(",", "")
    if not NUMBER.match(number):
        if "," in number:
            raise ValidationError(f"“{raw}” is not a number: use a point for decimals.")
        raise ValidationError(f"“{raw}” is not a number.")
    value = float(number)
    if not math.isfinite(value):
        raise ValidationError(f"“{raw}” is not a number.")
    return kpi_value_check(kpi=kpi, value=value, shown=raw)


def kpi_value_check(*, kpi: Kpi, value: float, shown: str = "") -> float:
    shown = shown or f"{value:g}"
    unit = KpiUnit(kpi.unit)
    if unit == KpiUnit.COUNT and value != int(value):
        raise ValidationError(f"{kpi} counts whole things: “{shown}” is not a whole number.")
    if unit in NON_NEGATIVE_UNITS and value < 0:
        raise ValidationError(f"{kpi} cannot be negative (“{shown}”).")
    if unit in BOUNDED_UNITS and value > 100:
        raise ValidationError(f"{kpi} goes from 0 to 100: “{shown}” is above 100.")
    return value


def kpi_format(kpi: Kpi, value: float | None) -> str:
    if value is None:
        return "–"
    unit = KpiUnit(kpi.unit)
    if unit == KpiUnit.PERCENT:
        return f"{value:.1f}".removesuffix(".0") + "%"
    if unit == KpiUnit.CURRENCY:
        return f"{kpi.currency} {value:,.2f}".removesuffix(".00")
    if unit == KpiUnit.DAYS:
        text = f"{value:.1f}".removesuffix(".0")
        return f"{text} day{'' if value == 1 else 's'}"
    if unit == KpiUnit.COUNT:
        return f"{value:,.0f}"
    if unit == KpiUnit.SCORE:
        return f"{value:.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


# --- lights ---------------------------------------------------------------------------------


def kpi_light(kpi: Kpi, value: float | None) -> tuple[Color, str]:
    """The KPI's colour for a value, and why, in words (the same rules as the corners')."""
    if value is None:
        return Color.GREY, "No value yet."
    if not kpi.has_thresholds:
        return Color.GREY, "No thresholds set, so no light."
    color = threshold_color(
        value,
        green_from=kpi.green_from,
        red_below=kpi.red_below,
        higher_is_better=kpi.higher_is_better,
    )
    shown, green, red = (kpi_format(kpi, v) for v in (value, kpi.green_from, kpi.red_below))
    if kpi.higher_is_better:
        reason = {
            Color.GREEN: f"{shown} is at or above {green}, where green starts.",
            Color.YELLOW: f"{shown} is below {green}, where green starts, and not below {red}.",
            Color.RED: f"{shown} is below {red}, where red begins.",
        }[color]
    else:
        reason = {
            Color.GREEN: f"{shown} is at or below {green}, where green ends (lower is better).",
            Color.YELLOW: f"{shown} is above {green}, where green ends, and not above {red}.",
            Color.RED: f"{shown} is above {red}, where red begins (lower is better).",
        }[color]
    return color, reason


def kpi_thresholds_text(kpi: Kpi) -> str:
    if not kpi.has_thresholds:
        return "no thresholds"
    green, red = kpi_format(kpi, kpi.green_from), kpi_format(kpi, kpi.red_below)
    if kpi.higher_is_better:
        return f"green ≥ {green}, red < {red}"
    return f"green ≤ {green}, red > {red}"


# --- definitions ----------------------------------------------------------------------------


def kpi_save(*, kpi: Kpi) -> Kpi:
    """Add or change a KPI. Its unit and source stay as they are once it has values: the
    values would no longer mean what they meant."""
    creating = kpi.pk is None
    errors: dict[str, list[str]] = {}
    try:
        # The unique constraints are checked below, with messages on their fields.
        kpi.full_clean(validate_constraints=False)
    except ValidationError as error:
        errors.update(error.message_dict)
    others = Kpi.objects.filter(alliance_id=kpi.alliance_id).exclude(pk=kpi.pk)
    if kpi.name and others.filter(name__iexact=kpi.name.strip()).exists():
        errors.setdefault("name", []).append("This alliance already has a KPI with this name.")
    if kpi.is_computed and others.filter(source=kpi.source).exists():
        errors.setdefault("source", []).append(
            "This alliance already has a KPI computed from this (it may be archived: "
            "restore it instead)."
        )
    if not creating and not errors:
        before = Kpi.objects.filter(pk=kpi.pk).values("unit", "currency", "source").first()
        changed = before and (
            before["unit"] != kpi.unit
            or before["currency"] != kpi.currency
            or before["source"] != kpi.source
        )
        if changed and KpiValue.objects.filter(kpi=kpi).exists():
            field = "source" if before["source"] != kpi.source else "unit"
            errors[field] = [
                "This KPI already has values, so its source and unit cannot change. "
                "Archive it and add a new KPI instead."
            ]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if creating:
            last = Kpi.objects.filter(alliance=kpi.alliance, group=kpi.group).aggregate(
                last=Max("position")
            )["last"]
            kpi.position = 0 if last is None else last + 1
        kpi.save()
    if kpi.is_computed and not kpi.is_archived:
        kpi_values_compute(now=timezone.now(), alliance_ids=[kpi.alliance_id])
    return kpi


def kpi_archive(*, kpi: Kpi, archived: bool = True) -> Kpi:
    """Archive (hide, keeping its values) or restore a KPI."""
    if archived != kpi.is_archived:
        kpi.archived_at = timezone.now() if archived else None
        kpi.save(update_fields=["archived_at"])
        if not archived and kpi.is_computed:
            kpi_values_compute(now=timezone.now(), alliance_ids=[kpi.alliance_id])
    return kpi


@dataclass(frozen=True)
class SuggestedKpi:
    group: str
    name: str
    unit: str
    direction: str
    green_from: float
    red_below: float
    source: str = KpiSource.MANUAL
    description: str = ""

    def kpi(self, alliance: Alliance, position: int) -> Kpi:
        """This suggestion as an (unsaved) KPI of ``alliance``."""
        return Kpi(
            alliance=alliance,
            group=self.group,
            name=self.name,
            description=self.description,
            unit=self.unit,
            direction=self.direction,
            green_from=self.green_from,
            red_below=self.red_below,
            source=self.source,
            position=position,
        )


SUGGESTED_KPIS = [
    SuggestedKpi(
        KpiGroup.VALUE,
        "Joint opportunities created",
        KpiUnit.COUNT,
        Direction.HIGHER,
        10,
        5,
        description="New opportunities both sides work on, registered this month.",
    ),
    SuggestedKpi(
        KpiGroup.VALUE,
        "Time to market",
        KpiUnit.DAYS,
        Direction.LOWER,
        90,
        180,
        description="Days from joint go decision to launch, for launches this month.",
    ),
    SuggestedKpi(
        KpiGroup.EXECUTION,
        "Milestones hit",
        KpiUnit.PERCENT,
        Direction.HIGHER,
        80,
        60,
        description="Milestones due this month that were met on time.",
    ),
    SuggestedKpi(
        KpiGroup.EXECUTION,
        "Actions completed on time",
        KpiUnit.PERCENT,
        Direction.HIGHER,
        80,
        60,
        source=KpiSource.ACTIONS_ON_TIME,
    ),
    SuggestedKpi(
        KpiGroup.RELATIONSHIP,
        "Trust pulse",
        KpiUnit.SCORE,
        Direction.HIGHER,
        70,
        50,
        source=KpiSource.TRUST_PULSE,
    ),
    SuggestedKpi(
        KpiGroup.RELATIONSHIP,
        "Pulse response rate",
        KpiUnit.PERCENT,
        Direction.HIGHER,
        80,
        50,
        source=KpiSource.RESPONSE_RATE,
    ),
    SuggestedKpi(
        KpiGroup.RELATIONSHIP,
        "Conflicts raised",
        KpiUnit.COUNT,
        Direction.LOWER,
        1,
        3,
        source=KpiSource.CONFLICT_COUNT,
    ),
    SuggestedKpi(
        KpiGroup.RELATIONSHIP,
        "Escalation resolution time",
        KpiUnit.DAYS,
        Direction.LOWER,
        14,
        30,
        source=KpiSource.ESCALATION_DAYS,
    ),
    SuggestedKpi(
        KpiGroup.RELATIONSHIP,
        "Meeting attendance",
        KpiUnit.PERCENT,
        Direction.HIGHER,
        80,
        60,
        source=KpiSource.MEETING_ATTENDANCE,
    ),
    SuggestedKpi(
        KpiGroup.CAPABILITY,
        "Joint innovations shipped",
        KpiUnit.COUNT,
        Direction.HIGHER,
        1,
        0,
        description="Features, offers or practices launched together this month.",
    ),
    SuggestedKpi(
        KpiGroup.CAPABILITY,
        "Knowledge-transfer artefacts",
        KpiUnit.COUNT,
        Direction.HIGHER,
        2,
        1,
        description="Playbooks, trainings and guides shared with the other side this month.",
    ),
]


def kpi_defaults_seed(*, alliance: Alliance) -> list[Kpi]:
    """Add the suggested scorecard: each suggestion the alliance does not have yet (by name,
    or by source for computed ones). Returns the KPIs added; running it again adds none."""
    existing = Kpi.objects.filter(alliance=alliance)
    names = {name.lower() for name in existing.values_list("name", flat=True)}
    sources = set(existing.exclude(source=KpiSource.MANUAL).values_list("source", flat=True))
    positions = dict(existing.values_list("group").annotate(last=Max("position")).order_by("group"))
    added = []
    for suggestion in SUGGESTED_KPIS:
        if suggestion.name.lower() in names or suggestion.source in sources:
            continue
        positions[suggestion.group] = positions.get(suggestion.group, -1) + 1
        kpi = suggestion.kpi(alliance, positions[suggestion.group])
        kpi.full_clean()
        added.append(kpi)
    with transaction.atomic():
        Kpi.objects.bulk_create(added)
        freshness.changed(alliances=[alliance.pk])
    if any(kpi.is_computed for kpi in added):
        kpi_values_compute(now=timezone.now(), alliance_ids=[alliance.pk])
    return added


# --- values ---------------------------------------------------------------------------------


def _check_enterable(kpi: Kpi) -> None:
    if kpi.is_computed:
        raise ValidationError(
            f"{kpi} is computed by Concord from {kpi.get_source_display().lower()}; "
            "its values cannot be entered or imported."
        )
    if kpi.is_archived:
        raise ValidationError(f"{kpi} is archived. Restore it to enter values.")


def _check_month(month: date, *, today: date) -> None:
    if month > month_start(today):
        raise ValidationError(f"{month:%B %Y} has not begun yet.")


def kpi_value_save(
    *,
    kpi: Kpi,
    month: date | str,
    value: float | str,
    user=None,
    note: str = "",
    today: date | None = None,
) -> KpiValue:
    """Enter a month's value of a manual KPI; entering the same month again replaces it."""
    today = today or timezone.localdate()
    try:
        _check_enterable(kpi)
    except ValidationError as error:
        raise ValidationError({"value": error.messages}) from error
    errors = {}
    try:
        month = month_parse(month) if isinstance(month, str) else month_start(month)
        _check_month(month, today=today)
    except ValidationError as error:
        errors["month"] = error.messages
    try:
        if isinstance(value, str):
            value = kpi_value_parse(kpi=kpi, text=value)
        else:
            value = kpi_value_check(kpi=kpi, value=float(value))
    except ValidationError as error:
        errors["value"] = error.messages
    if len(note) > KpiValue._meta.get_field("note").max_length:
        errors["note"] = "Keep the note under 300 characters."
    if errors:
        raise ValidationError(errors)
    saved, _ = KpiValue.objects.update_or_create(
        kpi=kpi,
        month=month,
        defaults={"value": value, "note": note, "entered_by": user, "entered_at": timezone.now()},
    )
    freshness.changed(alliances=[kpi.alliance_id])
    return saved


@dataclass
class ImportResult:
    created: int
    replaced: int
    errors: list[str]

    @property
    def saved(self) -> int:
        return self.created + self.replaced


def _fail(*errors: str) -> ImportResult:
    return ImportResult(0, 0, list(errors))


def kpi_values_import_csv(
    *, alliance: Alliance, data: bytes, user=None, today: date | None = None
) -> ImportResult:
    """Import monthly values of manual KPIs from CSV (``kpi,month,value[,note]``); nothing is
    saved unless every line is valid. A month that already has a value gets the new one."""
    today = today or timezone.localdate()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _fail("The file is not UTF-8 text. Save it as “CSV UTF-8” and retry.")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        records = [(reader.line_num, row) for row in reader]
    except csv.Error as error:
        return _fail(f"Line {reader.line_num}: not readable as CSV ({error}).")
    rows = iter(records)
    header = next(rows, (1, None))[1]
    if not header or not any(cell.strip() for cell in header):
        return _fail("The file is empty. The first line must be a header row.")
    columns = [cell.strip().lower() for cell in header]
    missing = [name for name in CSV_COLUMNS[:3] if name not in columns]
    if missing:
        return _fail(
            f"Line 1: the header must name the columns {', '.join(CSV_COLUMNS[:3])} "
            f"(missing: {', '.join(missing)})."
        )
    kpis = {kpi.name.lower(): kpi for kpi in Kpi.objects.filter(alliance=alliance)}
    seen: dict[tuple[int, date], int] = {}
    errors: list[str] = []
    values: list[KpiValue] = []
    now = timezone.now()
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(columns):
            errors.append(f"Line {line}: {len(row)} values but the header has {len(columns)}.")
            continue
        record = dict(zip(columns, (cell.strip() for cell in row), strict=False))
        name, note = record.get("kpi", ""), record.get("note", "")
        problems = []
        kpi = kpis.get(name.lower())
        if not name:
            problems.append("the KPI name is empty")
        elif kpi is None:
            problems.append(f"this alliance has no KPI named “{name}”")
        else:
            try:
                _check_enterable(kpi)
            except ValidationError as error:
                problems.extend(message.rstrip(".") for message in error.messages)
                kpi = None
        month = None
        try:
            month = month_parse(record.get("month", ""))
            _check_month(month, today=today)
        except ValidationError as error:
            problems.extend(message.rstrip(".") for message in error.messages)
            month = None
        value = None
        if kpi is not None:
            try:
                value = kpi_value_parse(kpi=kpi, text=record.get("value", ""))
            except ValidationError as error:
                problems.extend(message.rstrip(".") for message in error.messages)
        if len(note) > KpiValue._meta.get_field("note").max_length:
            problems.append("the note is longer than 300 characters")
        if kpi is not None and month is not None:
            if (kpi.pk, month) in seen:
                problems.append(
                    f"{kpi} for {month:%Y-%m} also appears on line {seen[(kpi.pk, month)]}"
                )
            else:
                seen[(kpi.pk, month)] = line
        if problems:
            errors.append(f"Line {line}: {'; '.join(problems)}.")
            continue
        values.append(
            KpiValue(kpi=kpi, month=month, value=value, note=note, entered_by=user, entered_at=now)
        )
    if not errors and not values:
        errors.append("The file has a header but no values.")
    if errors:
        return _fail(*errors)
    with transaction.atomic():
        existing = set(
            KpiValue.objects.filter(
                kpi_id__in={v.kpi_id for v in values}, month__in={v.month for v in values}
            ).values_list("kpi_id", "month")
        )
        replaced = sum((v.kpi_id, v.month) in existing for v in values)
        KpiValue.objects.bulk_create(
            values,
            update_conflicts=True,
            unique_fields=["kpi", "month"],
            update_fields=["value", "note", "entered_by", "entered_at"],
        )
        freshness.changed(alliances=[alliance.pk])
    return ImportResult(len(values) - replaced, replaced, [])


def kpi_values_template_rows(*, kpis, today: date) -> list[list[str]]:
    """The import template: one line per manual KPI for last month, value left blank."""
    last_month = month_add(month_start(today), -1)
    return [[kpi.name, f"{last_month:%Y-%m}", "", ""] for kpi in kpis if not kpi.is_computed]


# --- computed KPIs --------------------------------------------------------------------------


@dataclass(frozen=True)
class ComputeResult:
    created: int
    updated: int
    deleted: int


def _month_key(value) -> date:
    return value.date() if isinstance(value, datetime) else value


def _trust_pulse(alliance_ids, start: date, end: date) -> dict:
    rows = (
        CornerScore.objects.filter(
            alliance_id__in=alliance_ids,
            metric=Metric.TRUST,
            view=View.ALL,
            function="",
            score__isnull=False,
            responses__gte=MIN_CELL,  # fewer is "insufficient data": no value at all
            round__period_start__gte=start,
            round__period_start__lt=end,
        )
        .annotate(month=TruncMonth("round__period_start"))
        .values_list("alliance_id", "month")
        .annotate(value=Avg("score"))
        .order_by()
    )
    return {(alliance, _month_key(month)): value for alliance, month, value in rows}


def _response_rate(alliance_ids, start: date, end: date) -> dict:
    rows = (
        RoundHealth.objects.filter(
            alliance_id__in=alliance_ids,
            invited__gt=0,
            period_start__gte=start,
            period_start__lt=end,
        )
        .annotate(month=TruncMonth("period_start"))
        .values_list("alliance_id", "month")
        .annotate(responded=Sum("responded"), invited=Sum("invited"))
        .order_by()
    )
    return {
        (alliance, _month_key(month)): 100 * responded / invited
        for alliance, month, responded, invited in rows
    }


def _actions_on_time(alliance_ids, start: date, end: date, today: date) -> dict:
    # Shared actions only: the partner must not learn about the other side's internal ones,
    # not even as a share of a percentage. Actions not yet due do not count; dropped ones
    # were never going to be done.
    rows = (
        ActionItem.objects.filter(
            alliance_id__in=alliance_ids,
            visibility=Visibility.SHARED,
            due_on__gte=start,
            due_on__lt=end,
            due_on__lte=today,
        )
        .exclude(status=ActionStatus.DROPPED)
        .annotate(month=TruncMonth("due_on"))
        .values_list("alliance_id", "month")
        .annotate(
            due=Count("pk"),
            on_time=Count(
                "pk",
                filter=Q(status=ActionStatus.DONE, completed_at__date__lte=F("due_on")),
            ),
        )
        .order_by()
    )
    return {
        (alliance, _month_key(month)): 100 * on_time / due for alliance, month, due, on_time in rows
    }


def _escalation_days(alliance_ids, start: datetime, end: datetime) -> dict:
    rows = (
        Escalation.objects.filter(
            alliance_id__in=alliance_ids, resolved_at__gte=start, resolved_at__lt=end
        )
        .annotate(month=TruncMonth("resolved_at"))
        .values_list("alliance_id", "month")
        .annotate(
            mean=Avg(
                ExpressionWrapper(F("resolved_at") - F("raised_at"), output_field=DurationField())
            )
        )
        .order_by()
    )
    return {
        (alliance, _month_key(month)): mean / timedelta(days=1) for alliance, month, mean in rows
    }


def _conflict_count(alliance_ids, start: datetime, end: datetime, months, since) -> dict:
    rows = (
        Escalation.objects.filter(
            alliance_id__in=alliance_ids, raised_at__gte=start, raised_at__lt=end
        )
        .annotate(month=TruncMonth("raised_at"))
        .values_list("alliance_id", "month")
        .annotate(n=Count("pk"))
        .order_by()
    )
    # A month without escalations is a month with none: zero is a value, from the month
    # the alliance began.
    counts = {
        (alliance, month): 0.0
        for alliance in alliance_ids
        for month in months
        if month >= since[alliance]
    }
    counts.update({(alliance, _month_key(month)): float(n) for alliance, month, n in rows})
    return counts


def _meeting_attendance(alliance_ids, start: date, end: date) -> dict:
    # Per month: members who came / (meetings × the body's members); only members count,
    # so the rate stays within 0–100.
    expected = (
        GovernanceBody.members.through.objects.filter(
            governancebody__alliance_id__in=alliance_ids,
            governancebody__meetings__held_on__gte=start,
            governancebody__meetings__held_on__lt=end,
        )
        .annotate(
            alliance=F("governancebody__alliance_id"),
            month=TruncMonth("governancebody__meetings__held_on"),
        )
        .values_list("alliance", "month")
        .annotate(n=Count("pk"))
        .order_by()
    )
    came = dict(
        (
            ((alliance, _month_key(month)), n)
            for alliance, month, n in Meeting.attendees.through.objects.filter(
                meeting__alliance_id__in=alliance_ids,
                meeting__held_on__gte=start,
                meeting__held_on__lt=end,
                contact__governance_bodies=F("meeting__body"),
            )
            .annotate(alliance=F("meeting__alliance_id"), month=TruncMonth("meeting__held_on"))
            .values_list("alliance", "month")
            .annotate(n=Count("pk"))
            .order_by()
        )
    )
    return {
        (alliance, _month_key(month)): 100 * came.get((alliance, _month_key(month)), 0) / n
        for alliance, month, n in expected
        if n
    }


def kpi_values_compute(*, now: datetime, alliance_ids=None) -> ComputeResult:
    """Store this month's and the previous months' values of every computed KPI (of the
    given alliances, or all), from the data Concord holds. One query per source for all
    alliances; running it again changes nothing unless the data changed."""
    kpis = Kpi.objects.filter(source__in=COMPUTED_SOURCES, archived_at__isnull=True)
    if alliance_ids is not None:
        kpis = kpis.filter(alliance_id__in=list(alliance_ids))
    by_source: dict[str, dict[int, Kpi]] = {}
    since: dict[int, date] = {}
    for kpi in kpis.annotate(alliance_created=F("alliance__created_at")):
        by_source.setdefault(kpi.source, {})[kpi.alliance_id] = kpi
        since[kpi.alliance_id] = month_start(timezone.localdate(kpi.alliance_created))
    if not by_source:
        return ComputeResult(0, 0, 0)
    today = timezone.localdate(now)
    months = months_back(today, COMPUTE_MONTHS)
    start, end = months[0], month_add(months[-1], 1)
    tz = timezone.get_current_timezone()
    start_at = datetime.combine(start, datetime.min.time(), tzinfo=tz)
    end_at = min(datetime.combine(end, datetime.min.time(), tzinfo=tz), now)
    computers = {
        KpiSource.TRUST_PULSE: lambda ids: _trust_pulse(ids, start, end),
        KpiSource.RESPONSE_RATE: lambda ids: _response_rate(ids, start, end),
        KpiSource.ACTIONS_ON_TIME: lambda ids: _actions_on_time(ids, start, end, today),
        KpiSource.ESCALATION_DAYS: lambda ids: _escalation_days(ids, start_at, end_at),
        KpiSource.CONFLICT_COUNT: lambda ids: _conflict_count(ids, start_at, end_at, months, since),
        KpiSource.MEETING_ATTENDANCE: lambda ids: _meeting_attendance(ids, start, end),
    }
    fresh: dict[tuple[int, date], float] = {}
    for source, per_alliance in by_source.items():
        for (alliance_id, month), value in computers[source](list(per_alliance)).items():
            if start <= month < end:
                fresh[(per_alliance[alliance_id].pk, month)] = round(value, 4)
    kpi_ids = [kpi.pk for per_alliance in by_source.values() for kpi in per_alliance.values()]
    with transaction.atomic():
        stored = {
            (row.kpi_id, row.month): row
            for row in KpiValue.objects.select_for_update().filter(
                kpi_id__in=kpi_ids, month__gte=start, month__lt=end
            )
        }
        created = [
            KpiValue(kpi_id=kpi_id, month=month, value=value, entered_at=now)
            for (kpi_id, month), value in fresh.items()
            if (kpi_id, month) not in stored
        ]
        updated = []
        for key, row in stored.items():
            if key in fresh and row.value != fresh[key]:
                row.value, row.entered_at = fresh[key], now
                updated.append(row)
        stale = [row.pk for key, row in stored.items() if key not in fresh]
        KpiValue.objects.bulk_create(created, ignore_conflicts=True)
        KpiValue.objects.bulk_update(updated, ["value", "entered_at"])
        KpiValue.objects.filter(pk__in=stale).delete()
        freshness.changed(alliances=list(since))
    return ComputeResult(len(created), len(updated), len(stale))


# --- the scorecard page ---------------------------------------------------------------------


@dataclass(frozen=True)
class MonthValue:
    month: date
    value: float | None
    shown: str
    color: Color
    reason: str


@dataclass(frozen=True)
class KpiRow:
    kpi: Kpi
    latest: MonthValue | None
    color: Color
    reason: str
    history: list[MonthValue]
    sparkline: dict | None

    @property
    def thresholds(self) -> str:
        return kpi_thresholds_text(self.kpi)


@dataclass(frozen=True)
class KpiGroupRows:
    group: str
    label: str
    rows: list[KpiRow]


def _sparkline(kpi: Kpi, history: list[MonthValue], width=132, height=32, pad=4) -> dict | None:
    """Points for a server-rendered SVG line: months across, values up, thresholds marked."""
    marks = {"green": kpi.green_from, "red": kpi.red_below} if kpi.has_thresholds else {}
    spark = sparkline(
        [mv.value for mv in history], marks=marks, width=width, height=height, pad=pad
    )
    if spark is not None:
        spark["green_y"], spark["red_y"] = spark["marks"].get("green"), spark["marks"].get("red")
    return spark


def _month_value(kpi: Kpi, month: date, value: float | None) -> MonthValue:
    color, reason = kpi_light(kpi, value)
    return MonthValue(month, value, kpi_format(kpi, value), color, reason)


def kpis_with_latest(kpis):
    """KPIs annotated with their latest month and value (``latest_month``, ``latest_value``):
    one query, however many KPIs."""
    latest = KpiValue.objects.filter(kpi=OuterRef("pk")).order_by("-month")
    return kpis.annotate(
        latest_month=Subquery(latest.values("month")[:1]),
        latest_value=Subquery(latest.values("value")[:1]),
    )


def _kpis(*, scope, alliance: Alliance, archived: bool = False) -> list[Kpi]:
    """The alliance's KPIs in board order, each annotated with its latest month and value."""
    return list(
        kpis_with_latest(scope.rows(Kpi.objects.filter(alliance=alliance)))
        .filter(archived_at__isnull=not archived)
        .order_by("position", "pk")
    )


def _latest(kpi: Kpi) -> MonthValue | None:
    if kpi.latest_month is None:
        return None
    return _month_value(kpi, kpi.latest_month, kpi.latest_value)


def kpi_latest(*, scope, alliance: Alliance) -> list[KpiRow]:
    """The alliance's live KPIs with their latest value and light, without history: one
    query (the one-pager's KPI lights)."""
    order = {group: index for index, group in enumerate(KpiGroup.values)}
    rows = []
    for kpi in sorted(_kpis(scope=scope, alliance=alliance), key=lambda k: order[k.group]):
        current = _latest(kpi)
        color, reason = (current.color, current.reason) if current else kpi_light(kpi, None)
        rows.append(KpiRow(kpi, current, color, reason, [], None))
    return rows


def kpi_board(*, scope, alliance: Alliance, today: date, archived: bool = False):
    """The alliance's KPIs by group, each with its latest value and light and a year of
    history. A fixed number of queries however many KPIs and months there are."""
    kpis = _kpis(scope=scope, alliance=alliance, archived=archived)
    months = months_back(today, HISTORY_MONTHS)
    values = {
        (kpi_id, month): value
        for kpi_id, month, value in scope.rows(KpiValue)
        .filter(kpi__in=[kpi.pk for kpi in kpis], month__gte=months[0])
        .values_list("kpi_id", "month", "value")
    }
    groups = []
    for group, label in KpiGroup.choices:
        rows = []
        for kpi in (k for k in kpis if k.group == group):
            history = [_month_value(kpi, m, values.get((kpi.pk, m))) for m in months]
            current = _latest(kpi)
            color, reason = (current.color, current.reason) if current else kpi_light(kpi, None)
            rows.append(KpiRow(kpi, current, color, reason, history, _sparkline(kpi, history)))
        groups.append(KpiGroupRows(group, label, rows))
    return groups


# --- the divergence signal --------------------------------------------------------------------

RECENT_VALUE_MONTHS = 3


def value_kpi_lights(*, alliance_ids, today: date) -> dict[int, list[tuple[Kpi, Color]]]:
    """Each alliance's value-group KPIs with thresholds and their light at their latest value
    of the last few months: one query for any number of alliances."""
    since = month_add(month_start(today), -RECENT_VALUE_MONTHS)
    latest: dict[int, KpiValue] = {}
    for value in (
        KpiValue.objects.filter(
            kpi__alliance_id__in=alliance_ids,
            kpi__group=KpiGroup.VALUE,
            kpi__archived_at__isnull=True,
            kpi__green_from__isnull=False,
            month__gte=since,
            month__lte=today,
        )
        .select_related("kpi")
        .order_by("kpi_id", "-month")
    ):
        latest.setdefault(value.kpi_id, value)
    lights: dict[int, list[tuple[Kpi, Color]]] = {}
    for value in latest.values():
        color, _ = kpi_light(value.kpi, value.value)
        lights.setdefault(value.kpi.alliance_id, []).append((value.kpi, color))
    return lights
