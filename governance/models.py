"""The alliance's operating system: bodies and meetings, decision rights, decisions,
escalations, action items and risks. Every row belongs to an alliance (both parties see it);
action items and risks can be internal to the side that wrote them."""

from datetime import timedelta

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from alliances.models import (
    AllianceOwned,
    Contact,
    Organization,
    OrganizationOwned,
    SideOwned,
    User,
)


class Tier(models.TextChoices):
    EXECUTIVE_STEERING = "executive_steering", "Executive steering committee"
    OPERATIONAL_COUNCIL = "operational_council", "Operational council"
    WORKING_TEAM = "working_team", "Working team"


class Cadence(models.TextChoices):
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"


CADENCE_DAYS = {Cadence.WEEKLY: 7, Cadence.MONTHLY: 30, Cadence.QUARTERLY: 91}
# How late a meeting may be before the body counts as having missed it.
GRACE_DAYS = {Cadence.WEEKLY: 3, Cadence.MONTHLY: 7, Cadence.QUARTERLY: 14}
DEFAULT_CADENCE = {
    Tier.EXECUTIVE_STEERING: Cadence.QUARTERLY,
    Tier.OPERATIONAL_COUNCIL: Cadence.MONTHLY,
    Tier.WORKING_TEAM: Cadence.WEEKLY,
}


class Rung(models.IntegerChoices):
    """The escalation ladder, from the working level up."""

    WORKING_LEADS = 1, "Working-level leads"
    ALLIANCE_MANAGERS = 2, "Alliance managers"
    STEERING_COMMITTEE = 3, "Steering committee"
    EXECUTIVE_SPONSORS = 4, "Executive sponsors"


class GovernanceBody(AllianceOwned):
    alliance = models.ForeignKey(
        "alliances.Alliance", on_delete=models.CASCADE, related_name="governance_bodies"
    )
    name = models.CharField(max_length=120)
    tier = models.CharField(max_length=20, choices=Tier.choices)
    cadence = models.CharField(max_length=10, choices=Cadence.choices)
    chair = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    members = models.ManyToManyField(Contact, blank=True, related_name="governance_bodies")
    purpose = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["tier", "name"]
        verbose_name_plural = "governance bodies"
        constraints = [
            models.UniqueConstraint(
                fields=["alliance", "name"],
                name="body_name_unique_per_alliance",
                violation_error_message="This alliance already has a body with this name.",
            )
        ]

    def __str__(self):
        return self.name

    @property
    def cadence_days(self) -> int:
        return CADENCE_DAYS[self.cadence]

    @property
    def grace_days(self) -> int:
        return GRACE_DAYS[self.cadence]


class Meeting(AllianceOwned):
    alliance = models.ForeignKey(
        "alliances.Alliance", on_delete=models.CASCADE, related_name="meetings"
    )
    body = models.ForeignKey(GovernanceBody, on_delete=models.CASCADE, related_name="meetings")
    held_on = models.DateField()
    starts_at = models.TimeField(null=True, blank=True)
    duration_minutes = models.PositiveSmallIntegerField(default=60)
    agenda = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    attendees = models.ManyToManyField(Contact, blank=True, related_name="meetings_attended")
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-held_on", "-pk"]

    def __str__(self):
        return f"{self.body} · {self.held_on:%d %b %Y}"


class JointApproval(models.TextChoices):
    YES = "yes", "Joint"
    SOMETIMES = "sometimes", "Sometimes joint"
    NO = "no", "Owner alone"


class DecisionRight(AllianceOwned):
    """One row of the decision-rights matrix."""

    alliance = models.ForeignKey(
        "alliances.Alliance", on_delete=models.CASCADE, related_name="decision_rights"
    )
    decision_type = models.CharField(max_length=120)
    owner = models.CharField(max_length=120, help_text="Who decides, e.g. “delivery leads”.")
    joint_approval = models.CharField(
        max_length=10, choices=JointApproval.choices, default=JointApproval.YES
    )
    forum = models.CharField(max_length=120, help_text="Where the decision is taken.")
    sla_days = models.PositiveSmallIntegerField(
        "SLA in days",
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="How long a decision may take before it escalates.",
    )
    escalation_rung = models.PositiveSmallIntegerField(
        "escalates to", choices=Rung.choices, default=Rung.STEERING_COMMITTEE
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["alliance", "decision_type"],
                name="decision_type_unique_per_alliance",
                violation_error_message="The matrix already has this decision type.",
            ),
            models.CheckConstraint(
                condition=Q(sla_days__gte=1),
                name="decision_right_sla_positive",
                violation_error_message="The SLA must be at least one day.",
            ),
        ]

    def __str__(self):
        return self.decision_type


class Decision(AllianceOwned):
    """The decision log."""

    alliance = models.ForeignKey(
        "alliances.Alliance", on_delete=models.CASCADE, related_name="decisions"
    )
    decision = models.TextField()
    forum = models.CharField(max_length=120)
    decided_on = models.DateField()
    rationale = models.TextField(blank=True)
    decision_right = models.ForeignKey(
        DecisionRight, null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions"
    )
    meeting = models.ForeignKey(
        Meeting, null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions"
    )
    recorded_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-decided_on", "-pk"]

    def __str__(self):
        return self.decision[:80]


class Escalation(AllianceOwned):
    """A conflict raised at a rung of the ladder, with an SLA clock."""

    alliance = models.ForeignKey(
        "alliances.Alliance", on_delete=models.CASCADE, related_name="escalations"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    decision_right = models.ForeignKey(
        DecisionRight, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rung = models.PositiveSmallIntegerField(choices=Rung.choices, default=Rung.WORKING_LEADS)
    sla_days = models.PositiveSmallIntegerField()
    raised_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(help_text="When the current rung's SLA runs out.")
    raised_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    raised_by_organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    class Meta:
        ordering = ["resolved_at", "due_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | ~Q(resolution=""),
                name="escalation_resolved_with_note",
            )
        ]

    def __str__(self):
        return self.title

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    def is_overdue(self, now=None) -> bool:
        return self.is_open and self.due_at < (now or timezone.now())

    @property
    def resolution_time(self) -> timedelta | None:
        return self.resolved_at - self.raised_at if self.resolved_at else None


class EscalationMove(AllianceOwned):
    """One rung up, because the SLA ran out. At most one move onto each rung."""

    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, related_name="moves")
    from_rung = models.PositiveSmallIntegerField(choices=Rung.choices)
    to_rung = models.PositiveSmallIntegerField(choices=Rung.choices)
    at = models.DateTimeField()
    reason = models.CharField(max_length=200)

    class Meta:
        ordering = ["at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["escalation", "to_rung"], name="one_move_onto_each_rung"
            )
        ]

    def __str__(self):
        return f"{self.escalation}: {self.from_rung} → {self.to_rung}"

    @classmethod
    def tenant_filter(cls, organization):
        return Q(escalation__alliance__lead_organization=organization) | Q(
            escalation__alliance__partner_organization=organization
        )


class ActionSource(models.TextChoices):
    MANUAL = "manual", "Manual"
    MEETING = "meeting", "Meeting"
    ALERT = "alert", "Alert"
    HEALTH_REVIEW = "health_review", "Health review"


class ActionStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    DROPPED = "dropped", "Dropped"


OPEN_ACTION_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)


class ActionItem(SideOwned):
    alliance = models.ForeignKey(
        "alliances.Alliance", on_delete=models.CASCADE, related_name="action_items"
    )
    title = models.CharField(max_length=200)
    details = models.TextField(blank=True)
    owner = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="action_items")
    due_on = models.DateField()
    status = models.CharField(
        max_length=12, choices=ActionStatus.choices, default=ActionStatus.OPEN
    )
    source = models.CharField(
        max_length=14, choices=ActionSource.choices, default=ActionSource.MANUAL
    )
    meeting = models.ForeignKey(
        Meeting, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions"
    )
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_on", "pk"]

    def __str__(self):
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ACTION_STATUSES

    def is_overdue(self, today=None) -> bool:
        return self.is_open and self.due_on < (today or timezone.localdate())


class ActionDigest(models.Model):
    """One weekly digest per person (lower-cased email) and week: the claim that makes it once.

    The row is inserted before the email is sent; the unique constraint turns a second run,
    or a second worker, into an IntegrityError instead of a second email.
    """

    email = models.EmailField()
    week_start = models.DateField(help_text="The Monday of the digest's week.")
    claimed_at = models.DateTimeField(default=timezone.now)
    claimed_by = models.CharField(max_length=32, help_text="The run that claimed it.")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-week_start", "email"]
        constraints = [
            models.UniqueConstraint(fields=["email", "week_start"], name="one_digest_per_week")
        ]

    def __str__(self):
        return f"{self.email} · week of {self.week_start:%d %b %Y}"


class RiskCategory(models.TextChoices):
    DEPENDENCY = "dependency", "Dependency"
    IP_DATA = "ip_data", "IP and data"
    CULTURAL = "cultural", "Cultural"
    RESOURCING = "resourcing", "Resourcing"
    STRATEGIC_DRIFT = "strategic_drift", "Strategic drift"
    COMMERCIAL = "commercial", "Commercial"
    REGULATORY = "regulatory", "Regulatory"
    OTHER = "other", "Other"


class RiskStatus(models.TextChoices):
    OPEN = "open", "Open"
    MITIGATING = "mitigating", "Being mitigated"
    ACCEPTED = "accepted", "Accepted"
    CLOSED = "closed", "Closed"


class Risk(SideOwned):
    alliance = models.ForeignKey(
        "alliances.Alliance", on_delete=models.CASCADE, related_name="risks"
    )
    title = models.CharField(max_length=200)
    category = models.CharField(max_length=20, choices=RiskCategory.choices)
    likelihood = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="1 (rare) to 5 (almost certain).",
    )
    impact = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="1 (minor) to 5 (severe).",
    )
    owner = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="risks"
    )
    mitigation = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=RiskStatus.choices, default=RiskStatus.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-likelihood", "-impact", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(likelihood__gte=1, likelihood__lte=5, impact__gte=1, impact__lte=5),
                name="risk_scales_1_5",
                violation_error_message="Likelihood and impact go from 1 to 5.",
            )
        ]

    def __str__(self):
        return self.title

    @property
    def score(self) -> int:
        return self.likelihood * self.impact


class GovernanceChange(SideOwned):
    """Who changed what, when: decision rights, escalations and risks keep their history."""

    alliance = models.ForeignKey(
        "alliances.Alliance", on_delete=models.CASCADE, related_name="governance_changes"
    )
    subject = models.CharField(max_length=40)  # "decision right", "escalation", "risk"
    object_id = models.PositiveBigIntegerField()
    summary = models.CharField(max_length=500)
    by_user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self):
        return self.summary


class CalendarFeed(OrganizationOwned):
    """A secret feed URL for calendar apps, which fetch without a session.

    Only the token's hash is stored. ``alliance`` is null for a user's feed of every alliance
    their organisation can see. Access is re-checked at every fetch, not only at creation.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="calendar_feeds")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="calendar_feeds"
    )
    alliance = models.ForeignKey(
        "alliances.Alliance",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="calendar_feeds",
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_fetched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.user} · {self.alliance or self.organization} calendar"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
