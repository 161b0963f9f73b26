"""Materialised scores, thresholds, lights and alerts.

Scores are computed from a closed round's answers once (and recomputed idempotently) into
``RoundHealth`` and ``CornerScore``; lights and alerts are computed from those stored
scores, never from raw answers.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from alliances.models import (
    AllianceOwned,
    ContactFunction,
    Organization,
    OrganizationOwned,
    Stage,
    User,
)
from surveys.models import Corner

from ..lights import Color

__all__ = [
    "Alert",
    "AlertKind",
    "AlertNotice",
    "AlertStatus",
    "AllianceHealth",
    "CornerScore",
    "DailyCheck",
    "Light",
    "Metric",
    "RoundHealth",
    "Threshold",
    "View",
]


class Metric(models.TextChoices):
    STRATEGIC = Corner.STRATEGIC.value, Corner.STRATEGIC.label
    OPERATIONAL = Corner.OPERATIONAL.value, Corner.OPERATIONAL.label
    RELATIONAL = Corner.RELATIONAL.value, Corner.RELATIONAL.label
    VALUE = Corner.VALUE.value, Corner.VALUE.label
    TRUST = "trust", "Trust anchor"
    RESPONSE_RATE = "response_rate", "Response rate"
    ALLIANCE = "alliance", "The alliance as a whole"  # renewal signal


CORNER_METRICS = [Metric.STRATEGIC, Metric.OPERATIONAL, Metric.RELATIONAL, Metric.VALUE]
SCORE_METRICS = [*CORNER_METRICS, Metric.TRUST]


class View(models.TextChoices):
    ALL = "all", "Everyone"
    LEAD = "lead", "Lead's view"
    PARTNER = "partner", "Partner's view"
    FUNCTION = "function", "By function"


class RoundHealth(AllianceOwned):
    """A closed round's participation: who was asked and how many answered, per side."""

    alliance = models.ForeignKey(
        "alliances.Alliance", on_delete=models.CASCADE, related_name="round_health"
    )
    round = models.OneToOneField(
        "surveys.SurveyRound", on_delete=models.CASCADE, related_name="health"
    )
    period_start = models.DateField()
    opens_at = models.DateTimeField()
    stage = models.PositiveSmallIntegerField(choices=Stage.choices)
    invited = models.PositiveIntegerField()
    invited_lead = models.PositiveIntegerField()
    invited_partner = models.PositiveIntegerField()
    responded = models.PositiveIntegerField()
    responded_lead = models.PositiveIntegerField()
    responded_partner = models.PositiveIntegerField()
    response_rate = models.FloatField(null=True, help_text="Percent; empty when nobody was asked.")
    low_confidence = models.BooleanField(
        help_text="Fewer than half answered, or fewer than 3 people: read with care."
    )
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["alliance", "-opens_at"]
        indexes = [models.Index(fields=["alliance", "-opens_at"], name="roundhealth_latest")]

    def __str__(self):
        return f"Health of {self.round}"


class CornerScore(AllianceOwned):
    """One score of one closed round: a corner or the trust anchor, 0–100, for everyone, one
    side, or one function. ``score`` is empty where the anonymity rules hide the cell (or
    nobody answered other than "not applicable"); ``responses`` still says how many people
    the cell holds."""

    alliance = models.ForeignKey(
        "alliances.Alliance", on_delete=models.CASCADE, related_name="corner_scores"
    )
    round = models.ForeignKey(
        "surveys.SurveyRound", on_delete=models.CASCADE, related_name="corner_scores"
    )
    metric = models.CharField(max_length=16, choices=Metric.choices)
    view = models.CharField(max_length=10, choices=View.choices)
    function = models.CharField(max_length=20, choices=ContactFunction.choices, blank=True)
    score = models.FloatField(null=True)
    responses = models.PositiveIntegerField()
    # Mean of the squared 0–100 answers, so the spread of answers is known without raw data.
    mean_square = models.FloatField(null=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["round", "metric", "view", "function"]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "metric", "view", "function"], name="one_score_per_cell"
            )
        ]

    def __str__(self):
        return f"{self.get_metric_display()} ({self.get_view_display()}) of {self.round}"

    @property
    def spread(self) -> float | None:
        """The standard deviation of the answers behind the score, 0–100."""
        if self.score is None or self.mean_square is None:
            return None
        return max(self.mean_square - self.score**2, 0.0) ** 0.5


class Threshold(OrganizationOwned):
    """Where green starts and red begins. An organisation's default (no alliance, no stage),
    per stage, per alliance, or per alliance and stage; the most specific one applies."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="thresholds"
    )
    alliance = models.ForeignKey(
        "alliances.Alliance",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="thresholds",
    )
    stage = models.PositiveSmallIntegerField(choices=Stage.choices, null=True, blank=True)
    green_from = models.FloatField(
        "green from", default=70, help_text="Scores at or above this are green (0–100)."
    )
    red_below = models.FloatField(
        "red below", default=50, help_text="Scores below this are red (0–100)."
    )
    updated_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(red_below__lte=models.F("green_from")),
                name="threshold_red_not_above_green",
                violation_error_message="Red must begin below where green starts.",
            ),
            models.CheckConstraint(
                condition=Q(red_below__gte=0, green_from__lte=100),
                name="threshold_within_scale",
                violation_error_message="Thresholds are scores from 0 to 100.",
            ),
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(alliance__isnull=True, stage__isnull=True),
                name="one_default_threshold_per_org",
            ),
            models.UniqueConstraint(
                fields=["organization", "stage"],
                condition=Q(alliance__isnull=True, stage__isnull=False),
                name="one_stage_threshold_per_org",
            ),
            models.UniqueConstraint(
                fields=["alliance"],
                condition=Q(alliance__isnull=False, stage__isnull=True),
                name="one_threshold_per_alliance",
            ),
            models.UniqueConstraint(
                fields=["alliance", "stage"],
                condition=Q(alliance__isnull=False, stage__isnull=False),
                name="one_stage_threshold_per_alliance",
            ),
        ]

    def __str__(self):
        where = self.alliance or self.organization
        stage = f", {self.get_stage_display()}" if self.stage else ""
        return f"Thresholds of {where}{stage}"


class Light(AllianceOwned):
    """The colour of one metric at one closed round, and why, in plain words."""

    alliance = models.ForeignKey(
        "alliances.Alliance", on_delete=models.CASCADE, related_name="lights"
    )
    round = models.ForeignKey(
        "surveys.SurveyRound", on_delete=models.CASCADE, related_name="lights"
    )
    metric = models.CharField(max_length=16, choices=Metric.choices)
    view = models.CharField(max_length=10, choices=View.choices, default=View.ALL)
    color = models.CharField(max_length=8, choices=Color.choices)
    score = models.FloatField(null=True)
    reasons = models.JSONField(default=list, help_text="Why it has its colour, in words.")
    rules = models.JSONField(default=list, help_text="The rules that set it, by code.")
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["round", "metric", "view"]
        constraints = [
            models.UniqueConstraint(fields=["round", "metric", "view"], name="one_light_per_metric")
        ]

    def __str__(self):
        return f"{self.get_metric_display()}: {self.get_color_display()}"

    @property
    def symbol(self) -> str:
        return Color(self.color).symbol


class AlertKind(models.TextChoices):
    RED = "red", "Turned red"
    DECLINE = "decline", "Significant decline"
    ESCALATED = "escalated", "Red two rounds running: escalated"
    RENEWAL = "renewal", "Renewal or exit review recommended"


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class Alert(AllianceOwned):
    """An early warning that interrupts people: rare, and about one metric and one period.

    Unique per alliance, metric, period and kind, so a threshold check that runs twice
    raises it once. It opens a review action and is acknowledged, then resolved (by hand,
    or by a sustained return to green)."""

    alliance = models.ForeignKey(
        "alliances.Alliance", on_delete=models.CASCADE, related_name="alerts"
    )
    metric = models.CharField(max_length=16, choices=Metric.choices)
    period_start = models.DateField(help_text="The period of the round that raised it.")
    round = models.ForeignKey(
        "surveys.SurveyRound", null=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    kind = models.CharField(max_length=10, choices=AlertKind.choices)
    status = models.CharField(max_length=12, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    from_color = models.CharField(max_length=8, choices=Color.choices, blank=True)
    to_color = models.CharField(max_length=8, choices=Color.choices)
    score = models.FloatField(null=True)
    reason = models.TextField(help_text="What happened and why it matters, in words.")
    raised_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution = models.CharField(max_length=300, blank=True)
    action = models.ForeignKey(
        "governance.ActionItem",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alerts",
    )
    escalation = models.ForeignKey(
        "governance.Escalation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alerts",
    )

    class Meta:
        ordering = ["-raised_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["alliance", "metric", "period_start", "kind"],
                name="one_alert_per_metric_period_kind",
            )
        ]
        indexes = [models.Index(fields=["alliance", "status"], name="alert_alliance_status")]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.get_metric_display()} ({self.alliance})"

    @property
    def is_open(self) -> bool:
        return self.status != AlertStatus.RESOLVED

    @property
    def symbol(self) -> str:
        return Color(self.to_color).symbol


class AlertNotice(models.Model):
    """That one person was told about one alert: the claim that makes each email once."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notices")
    email = models.EmailField()
    claimed_by = models.CharField(max_length=32)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["alert", "email"], name="one_notice_per_alert_person")
        ]

    def __str__(self):
        return f"{self.email} told of {self.alert}"


class DailyCheck(models.Model):
    """The day's threshold check, claimed once: the unique day makes it run once a day
    however many workers tick (a run that fails releases its claim)."""

    day = models.DateField(unique=True)
    claimed_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Threshold check of {self.day}"


class AllianceHealth(AllianceOwned):
    """Each live alliance's health at its latest scored round, in one row: what the portfolio
    filters, sorts and draws without reading every round of every alliance.

    A read model. The threshold check writes it whenever it lights an alliance's latest round,
    from the same scores and lights it stores, so it is never ahead of or behind them.
    """

    alliance = models.OneToOneField(
        "alliances.Alliance", on_delete=models.CASCADE, primary_key=True, related_name="health"
    )
    round = models.ForeignKey("surveys.SurveyRound", on_delete=models.CASCADE, related_name="+")
    period_start = models.DateField()
    strategic = models.CharField(max_length=8, choices=Color.choices)
    operational = models.CharField(max_length=8, choices=Color.choices)
    relational = models.CharField(max_length=8, choices=Color.choices)
    value = models.CharField(max_length=8, choices=Color.choices)
    worst = models.PositiveSmallIntegerField(
        help_text="The worst corner light's rank: 0 no data, 1 green, 2 yellow, 3 red."
    )
    score = models.FloatField(
        null=True, help_text="The mean of the corner scores that can be judged (0–100)."
    )
    change = models.FloatField(null=True, help_text="Score change since the previous round.")
    trend = models.JSONField(
        default=list, help_text="[period start, score or null] of the recent rounds, oldest first."
    )
    response_rate = models.FloatField(null=True)
    low_confidence = models.BooleanField(default=False)
    divergence = models.BooleanField(
        default=False, help_text="Green numbers, red relationship: the divergence signal is on."
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["worst"]), models.Index(fields=["score"])]

    def __str__(self):
        return f"{self.alliance_id}: {self.score}"

    @property
    def corner_colors(self) -> list[str]:
        return [self.strategic, self.operational, self.relational, self.value]
