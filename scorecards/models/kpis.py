"""Balanced-scorecard KPIs: definitions per alliance and monthly values.

A KPI belongs to one of four groups, has a unit and a direction (higher or lower is better)
and, optionally, two thresholds read like the corners' (``lights.threshold_color``). Its
values are monthly: entered by hand, imported from CSV, or — for the KPIs Concord can
measure itself — computed from surveys and governance records by a daily job.
"""

import math

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone

from alliances.models import AllianceOwned, User

__all__ = [
    "BOUNDED_UNITS",
    "COMPUTED_SOURCES",
    "NON_NEGATIVE_UNITS",
    "SOURCE_DIRECTIONS",
    "SOURCE_UNITS",
    "Direction",
    "Kpi",
    "KpiGroup",
    "KpiSource",
    "KpiUnit",
    "KpiValue",
]


class KpiGroup(models.TextChoices):
    VALUE = "value", "Value"
    EXECUTION = "execution", "Execution"
    RELATIONSHIP = "relationship", "Relationship"
    CAPABILITY = "capability", "Capability"


class KpiUnit(models.TextChoices):
    NUMBER = "number", "Number"
    COUNT = "count", "Count (whole numbers)"
    PERCENT = "percent", "Percent (0–100)"
    SCORE = "score", "Score (0–100)"
    CURRENCY = "currency", "Money"
    DAYS = "days", "Days"


# Units whose values live on a 0–100 scale, and units that cannot go below zero.
BOUNDED_UNITS = {KpiUnit.PERCENT, KpiUnit.SCORE}
NON_NEGATIVE_UNITS = {KpiUnit.COUNT, KpiUnit.DAYS, KpiUnit.PERCENT, KpiUnit.SCORE}


class Direction(models.TextChoices):
    HIGHER = "higher", "Higher is better"
    LOWER = "lower", "Lower is better"


class KpiSource(models.TextChoices):
    MANUAL = "manual", "Entered by hand or imported"
    TRUST_PULSE = "trust_pulse", "Trust pulse (survey trust anchor)"
    RESPONSE_RATE = "response_rate", "Survey response rate"
    ACTIONS_ON_TIME = "actions_on_time", "Actions completed on time"
    ESCALATION_DAYS = "escalation_days", "Escalation resolution time"
    CONFLICT_COUNT = "conflict_count", "Conflicts raised (escalations)"
    MEETING_ATTENDANCE = "meeting_attendance", "Governance meeting attendance"


COMPUTED_SOURCES = [source for source in KpiSource if source != KpiSource.MANUAL]

# What Concord measures, and in which unit; a computed KPI always takes its source's unit.
SOURCE_UNITS = {
    KpiSource.TRUST_PULSE: KpiUnit.SCORE,
    KpiSource.RESPONSE_RATE: KpiUnit.PERCENT,
    KpiSource.ACTIONS_ON_TIME: KpiUnit.PERCENT,
    KpiSource.ESCALATION_DAYS: KpiUnit.DAYS,
    KpiSource.CONFLICT_COUNT: KpiUnit.COUNT,
    KpiSource.MEETING_ATTENDANCE: KpiUnit.PERCENT,
}
# The direction that makes sense for each source (a form's suggestion, not a rule).
SOURCE_DIRECTIONS = {
    source: Direction.LOWER
    if source in (KpiSource.ESCALATION_DAYS, KpiSource.CONFLICT_COUNT)
    else Direction.HIGHER
    for source in COMPUTED_SOURCES
}


class Kpi(AllianceOwned):
    """One measure of the alliance's balanced scorecard, shared by both parties."""

    alliance = models.ForeignKey(
        "alliances.Alliance", on_delete=models.CASCADE, related_name="kpis"
    )
    group = models.CharField(max_length=12, choices=KpiGroup.choices)
    name = models.CharField(max_length=120)
    description = models.CharField(
        "how it is measured", max_length=300, blank=True, help_text="So both sides count alike."
    )
    source = models.CharField(
        max_length=20,
        choices=KpiSource.choices,
        default=KpiSource.MANUAL,
        help_text="Computed KPIs are measured by Concord every day; the others are entered "
        "monthly.",
    )
    unit = models.CharField(max_length=10, choices=KpiUnit.choices, default=KpiUnit.NUMBER)
    currency = models.CharField(
        max_length=3, blank=True, help_text="For money: the ISO code, e.g. EUR or USD."
    )
    direction = models.CharField(max_length=6, choices=Direction.choices, default=Direction.HIGHER)
    green_from = models.FloatField(
        "green from",
        null=True,
        blank=True,
        help_text="Higher is better: green at or above this. Lower is better: green at or "
        "below this.",
    )
    red_below = models.FloatField(
        "red beyond",
        null=True,
        blank=True,
        help_text="Higher is better: red below this. Lower is better: red above this. "
        "Between the two: yellow.",
    )
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["alliance", "group", "position", "pk"]
        verbose_name = "KPI"
        constraints = [
            models.UniqueConstraint(
                "alliance",
                Lower("name"),
                name="kpi_name_unique_per_alliance",
                violation_error_message="This alliance already has a KPI with this name.",
            ),
            models.UniqueConstraint(
                fields=["alliance", "source"],
                condition=~Q(source=KpiSource.MANUAL),
                name="one_kpi_per_computed_source",
                violation_error_message="This alliance already has a KPI computed from this "
                "source (it may be archived: restore it instead).",
            ),
            models.CheckConstraint(
                condition=Q(green_from__isnull=True, red_below__isnull=True)
                | Q(green_from__isnull=False, red_below__isnull=False),
                name="kpi_thresholds_both_or_neither",
                violation_error_message="Give both thresholds, or neither.",
            ),
            models.CheckConstraint(
                condition=Q(green_from__isnull=True)
                | Q(direction=Direction.HIGHER, red_below__lte=F("green_from"))
                | Q(direction=Direction.LOWER, red_below__gte=F("green_from")),
                name="kpi_thresholds_follow_direction",
                violation_error_message="The thresholds are the wrong way round for the "
                "KPI's direction.",
            ),
            models.CheckConstraint(
                condition=(Q(unit=KpiUnit.CURRENCY) & ~Q(currency=""))
                | (~Q(unit=KpiUnit.CURRENCY) & Q(currency="")),
                name="kpi_currency_only_for_money",
                violation_error_message="Money needs a three-letter currency code; other "
                "units none.",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_computed(self) -> bool:
        return self.source != KpiSource.MANUAL

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def higher_is_better(self) -> bool:
        return self.direction == Direction.HIGHER

    @property
    def has_thresholds(self) -> bool:
        return self.green_from is not None and self.red_below is not None

    @property
    def unit_label(self) -> str:
        return self.currency if self.unit == KpiUnit.CURRENCY else KpiUnit(self.unit).label

    def clean(self):
        if self.is_computed:
            # Concord measures these itself, always in the same unit.
            self.unit, self.currency = SOURCE_UNITS[KpiSource(self.source)], ""
        self.currency = (self.currency or "").strip().upper()
        errors = {}
        if self.unit == KpiUnit.CURRENCY and not (
            len(self.currency) == 3 and self.currency.isascii() and self.currency.isalpha()
        ):
            errors["currency"] = "Give the three-letter currency code, e.g. EUR or USD."
        elif self.unit != KpiUnit.CURRENCY:
            self.currency = ""
        errors.update(self.threshold_errors())
        if errors:
            raise ValidationError(errors)

    def threshold_errors(self) -> dict[str, str]:
        green, red = self.green_from, self.red_below
        if green is None and red is None:
            return {}
        if green is None or red is None:
            missing = "green_from" if green is None else "red_below"
            return {missing: "Give both thresholds, or neither (a KPI without a light)."}
        errors = {}
        for field, value in (("green_from", green), ("red_below", red)):
            if not math.isfinite(value):
                errors[field] = "Give a number."
            elif self.unit in BOUNDED_UNITS and not 0 <= value <= 100:
                errors[field] = f"A {KpiUnit(self.unit).label.lower()} goes from 0 to 100."
            elif self.unit in NON_NEGATIVE_UNITS and value < 0:
                errors[field] = f"{KpiUnit(self.unit).label} cannot be negative."
        if errors:
            return errors
        if self.direction == Direction.HIGHER and red > green:
            return {
                "red_below": f"Higher is better, so red must begin below where green starts "
                f"({green:g}): give a value of {green:g} or less."
            }
        if self.direction == Direction.LOWER and red < green:
            return {
                "red_below": f"Lower is better, so red must begin above where green ends "
                f"({green:g}): give a value of {green:g} or more."
            }
        return {}


class KpiValue(AllianceOwned):
    """A KPI's value for one month: one per month, replaced when entered again."""

    kpi = models.ForeignKey(Kpi, on_delete=models.CASCADE, related_name="values")
    month = models.DateField(help_text="The first day of the month.")
    value = models.FloatField()
    note = models.CharField(max_length=300, blank=True)
    entered_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty for computed values.",
    )
    entered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kpi", "-month"]
        constraints = [
            models.UniqueConstraint(fields=["kpi", "month"], name="one_value_per_kpi_month")
        ]
        indexes = [models.Index(fields=["kpi", "-month"], name="kpivalue_latest")]

    def __str__(self):
        return f"{self.kpi} {self.month:%Y-%m}: {self.value:g}"

    @classmethod
    def tenant_filter(cls, organization):
        return Q(kpi__alliance__lead_organization=organization) | Q(
            kpi__alliance__partner_organization=organization
        )
