"""Pulse surveys: the question bank, per-alliance settings, rounds, emailed invitations and
anonymous responses.

Anonymity is a property of the schema: a ``Response`` (and its ``Answer`` rows) carries the
respondent's side and function and the day it arrived, and nothing that leads back to a
``SurveyInvitation`` or a ``Contact``. An invitation records only the day it was used.
"""

import uuid

from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from alliances.models import (
    AllianceOwned,
    Contact,
    ContactFunction,
    Organization,
    OrganizationOwned,
    Side,
    Stage,
    TenantModel,
    User,
)

COMMENT_MAX_LENGTH = 2000


class Corner(models.TextChoices):
    STRATEGIC = "strategic", "Strategic alignment"
    OPERATIONAL = "operational", "Operational integration"
    RELATIONAL = "relational", "Relational trust"
    VALUE = "value", "Value realisation"


class Cadence(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    BIMONTHLY = "bimonthly", "Every two months"
    QUARTERLY = "quarterly", "Quarterly"


CADENCE_MONTHS = {Cadence.MONTHLY: 1, Cadence.BIMONTHLY: 2, Cadence.QUARTERLY: 3}


class Question(OrganizationOwned):
    """A Likert item of one organisation's bank (1–5, or "not applicable").

    Each organisation starts with a copy of Concord's default bank (``key`` names the
    default it came from) and adds its own. Items are retired, never deleted, and a round
    keeps the wording it asked in ``RoundQuestion``.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="survey_questions"
    )
    key = models.SlugField(max_length=40, blank=True, help_text="The default item it copies.")
    corner = models.CharField(max_length=12, choices=Corner.choices)
    text = models.CharField(
        "statement",
        max_length=300,
        help_text="A statement people agree or disagree with, e.g. “Both sides keep the "
        "promises they make to each other.”",
    )
    stages = models.JSONField(
        default=list, help_text="The lifecycle stages (1–5) where the item matters most."
    )
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["corner", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "key"],
                condition=~Q(key=""),
                name="question_default_once_per_org",
            )
        ]

    def __str__(self):
        return self.text

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None

    @property
    def stage_labels(self) -> list[str]:
        return [Stage(stage).label for stage in sorted(self.stages)]


class ScheduleFields(models.Model):
    """When rounds open, how long they stay open and when reminders go out."""

    cadence = models.CharField(max_length=10, choices=Cadence.choices, default=Cadence.MONTHLY)
    open_day = models.PositiveSmallIntegerField(
        "opening day",
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(28)],
        help_text="Day of the period's first month on which a round opens (1–28).",
    )
    window_days = models.PositiveSmallIntegerField(
        "days open",
        default=10,
        validators=[MinValueValidator(2), MaxValueValidator(28)],
        help_text="How many days a round stays open (2–28).",
    )
    reminder_days = models.JSONField(
        default=list,
        help_text="Days after opening on which those who have not answered are reminded.",
    )

    class Meta:
        abstract = True


class SurveyDefaults(OrganizationOwned, ScheduleFields):
    """An organisation's defaults for the alliances it leads."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="survey_defaults"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "survey defaults"

    def __str__(self):
        return f"Survey defaults of {self.organization}"


class SurveySettings(AllianceOwned):
    """One alliance's survey schedule. Empty fields follow the lead's defaults."""

    alliance = models.OneToOneField(
        "alliances.Alliance", on_delete=models.CASCADE, related_name="survey_settings"
    )
    cadence = models.CharField(max_length=10, choices=Cadence.choices, blank=True)
    open_day = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(28)]
    )
    window_days = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(2), MaxValueValidator(28)]
    )
    reminder_days = models.JSONField(null=True, blank=True)
    paused = models.BooleanField(
        default=False, help_text="No new rounds open while paused; an open round runs on."
    )
    updated_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "survey settings"

    def __str__(self):
        return f"Survey settings of {self.alliance}"


class RoundKind(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    OFF_CYCLE = "off_cycle", "Off-cycle"


class SurveyRound(AllianceOwned):
    """One alliance × one period. Its questions and reminder days are frozen when it opens."""

    alliance = models.ForeignKey(
        "alliances.Alliance", on_delete=models.CASCADE, related_name="survey_rounds"
    )
    kind = models.CharField(max_length=10, choices=RoundKind.choices, default=RoundKind.SCHEDULED)
    # A scheduled round's period is the cadence's period (a month, two, or a quarter);
    # an off-cycle round's period is the day it was opened.
    period_start = models.DateField()
    period_end = models.DateField(help_text="The period's last day.")
    stage = models.PositiveSmallIntegerField(
        choices=Stage.choices, help_text="The alliance's stage when the round opened."
    )
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    reminder_days = models.JSONField(default=list)
    reason = models.CharField(
        max_length=300, blank=True, help_text="Why an off-cycle round was opened."
    )
    opened_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_by_run = models.CharField(max_length=32, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-opens_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["alliance", "kind", "period_start"],
                name="one_round_per_alliance_and_period",
                violation_error_message="This alliance already has a round for this period.",
            ),
            models.UniqueConstraint(
                fields=["alliance"],
                condition=Q(closed_at__isnull=True),
                name="one_open_round_per_alliance",
                violation_error_message="This alliance already has a round open.",
            ),
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")),
                name="round_closes_after_opening",
            ),
        ]

    def __str__(self):
        return f"{self.alliance} — {self.label}"

    @property
    def label(self) -> str:
        if self.kind == RoundKind.OFF_CYCLE:
            return f"Off-cycle, {self.period_start:%d %b %Y}"
        if self.period_start.month == self.period_end.month:
            return f"{self.period_start:%B %Y}"
        if self.period_start.year == self.period_end.year:
            return f"{self.period_start:%b}–{self.period_end:%b %Y}"
        return f"{self.period_start:%b %Y}–{self.period_end:%b %Y}"

    def is_open(self, now=None) -> bool:
        return self.closed_at is None and (now or timezone.now()) < self.closes_at


class QuestionKind(models.TextChoices):
    LIKERT = "likert", "Agree–disagree (1–5)"
    TRUST = "trust", "Trust anchor (0–10)"


class RoundQuestion(models.Model):
    """A question as a round asked it: the wording is copied, so later edits change nothing."""

    round = models.ForeignKey(SurveyRound, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=8, choices=QuestionKind.choices)
    corner = models.CharField(max_length=12, choices=Corner.choices, blank=True)
    question = models.ForeignKey(
        Question, null=True, blank=True, on_delete=models.SET_NULL, related_name="asked"
    )
    text = models.CharField(max_length=300)

    class Meta:
        ordering = ["round", "position"]
        constraints = [
            models.UniqueConstraint(fields=["round", "position"], name="round_question_position"),
            models.CheckConstraint(
                condition=Q(kind=QuestionKind.TRUST, corner="")
                | Q(kind=QuestionKind.LIKERT) & ~Q(corner=""),
                name="round_question_kind_corner",
            ),
        ]

    def __str__(self):
        return self.text

    @property
    def is_trust(self) -> bool:
        return self.kind == QuestionKind.TRUST


class RoundOwned(TenantModel):
    """A row of a round (an invitation, a response): both parties of its alliance see it."""

    class Meta:
        abstract = True

    @classmethod
    def tenant_filter(cls, organization):
        return Q(round__alliance__lead_organization=organization) | Q(
            round__alliance__partner_organization=organization
        )


class SurveyInvitation(RoundOwned):
    """One participant of one round: which emails went out, and whether it has been used.

    The emailed links are ``SurveyLink`` rows (one per email, only their hashes stored).
    ``responded_on`` is a day, not a moment, and nothing on a response points back here.
    """

    round = models.ForeignKey(SurveyRound, on_delete=models.CASCADE, related_name="invitations")
    contact = models.ForeignKey(
        Contact, null=True, on_delete=models.SET_NULL, related_name="survey_invitations"
    )
    side = models.CharField(max_length=10, choices=Side.choices)
    function = models.CharField(max_length=20, choices=ContactFunction.choices)
    created_at = models.DateTimeField(default=timezone.now)

    # Sending: the next email (invitation, then reminders) is due at next_email_at.
    next_email_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True, help_text="The invitation email.")
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    last_emailed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Failed sends in a row.")
    last_error = models.CharField(max_length=500, blank=True)
    failed_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when the address failed for good."
    )
    claimed_until = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=32, blank=True)

    responded_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["round", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "contact"], name="one_invitation_per_round_and_contact"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_email_at"],
                condition=Q(next_email_at__isnull=False),
                name="invitation_email_due",
            )
        ]

    def __str__(self):
        return f"Invitation to {self.round}"


class LinkPurpose(models.TextChoices):
    INVITATION = "invitation", "Invitation"
    REMINDER = "reminder", "Reminder"


class SurveyLink(models.Model):
    """The token of one emailed link, as a hash. Every email carries a fresh one, so a
    reminder's link works too; any of them is used up by the invitation's one answer."""

    invitation = models.ForeignKey(SurveyInvitation, on_delete=models.CASCADE, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True)
    purpose = models.CharField(max_length=10, choices=LinkPurpose.choices)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.get_purpose_display()} link"


class Response(RoundOwned):
    """One person's answers to one round, without anything that identifies them.

    The primary key is random so that not even row order hints at who answered when.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    round = models.ForeignKey(SurveyRound, on_delete=models.CASCADE, related_name="responses")
    side = models.CharField(max_length=10, choices=Side.choices)
    function = models.CharField(max_length=20, choices=ContactFunction.choices)
    submitted_on = models.DateField()
    comment = models.TextField(blank=True, validators=[MaxLengthValidator(COMMENT_MAX_LENGTH)])

    class Meta:
        ordering = ["round", "id"]
        indexes = [models.Index(fields=["round", "side"], name="response_round_side")]

    def __str__(self):
        return f"Response to {self.round}"


class Answer(models.Model):
    """One answer. ``value`` is None for "not applicable"; Likert 1–5, trust anchor 0–10.

    Round, corner, side and function are copied from the response and question so that
    scores are one GROUP BY over this table.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(RoundQuestion, on_delete=models.CASCADE, related_name="answers")
    round = models.ForeignKey(SurveyRound, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=QuestionKind.choices)
    corner = models.CharField(max_length=12, choices=Corner.choices, blank=True)
    side = models.CharField(max_length=10, choices=Side.choices)
    function = models.CharField(max_length=20, choices=ContactFunction.choices)
    value = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["response", "question"], name="one_answer_per_item"),
            models.CheckConstraint(
                condition=Q(value__isnull=True)
                | Q(kind=QuestionKind.LIKERT, value__gte=1, value__lte=5)
                | Q(kind=QuestionKind.TRUST, value__gte=0, value__lte=10),
                name="answer_value_in_scale",
            ),
        ]
        indexes = [models.Index(fields=["round", "corner", "side"], name="answer_round_corner")]

    def __str__(self):
        return f"Answer to {self.question}"
