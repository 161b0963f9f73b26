"""Organisations (tenants), members, alliances shared by two organisations, and their lifecycle.

Every model that belongs to a tenant subclasses ``TenantModel`` and says, in
``tenant_filter(organization)``, which rows that organisation may see. Views, jobs and the
API reach tenant rows only through ``Model.objects.visible_to(organization)``.
"""

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, username):
        # Emails are stored lower-case; people type them however they like when signing in.
        try:
            return self.get(email=username)
        except self.model.DoesNotExist:
            return self.get(email=username.lower())


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    def __str__(self):
        return self.full_name or self.email

    def get_full_name(self):
        return self.full_name or self.email

    def get_short_name(self):
        return (self.full_name or self.email).split(" ")[0]


class TenantQuerySet(models.QuerySet):
    def visible_to(self, organization: "Organization"):
        if organization is None or organization.pk is None:
            raise ValueError("A tenant query needs an organisation.")
        return self.filter(self.model.tenant_filter(organization))


class TenantModel(models.Model):
    """A row owned by one or two organisations. Subclasses define ``tenant_filter``."""

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True

    @classmethod
    def tenant_filter(cls, organization) -> Q:
        raise NotImplementedError


class OrganizationOwned(TenantModel):
    """A row of one organisation (its members, invitations, settings). Subclasses declare
    the ``organization`` foreign key."""

    class Meta:
        abstract = True

    @classmethod
    def tenant_filter(cls, organization):
        return Q(organization=organization)


class Invitation(models.Model):
    """An emailed one-off link: who it went to, and whether it still works."""

    email = models.EmailField()
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_pending(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )


class Visibility(models.TextChoices):
    SHARED = "shared", "Shared with the partner"
    INTERNAL = "internal", "Internal to my organisation"


class Organization(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    VIEWER = "viewer", "Viewer"


class Membership(OrganizationOwned):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="one_membership_per_org")
        ]
        ordering = ["organization__name", "user__email"]

    def __str__(self):
        return f"{self.user} in {self.organization} ({self.role})"

    @property
    def can_edit(self) -> bool:
        return self.role in (Role.ADMIN, Role.MANAGER)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class MemberInvitation(OrganizationOwned, Invitation):
    """An admin's invitation of a person (by email) into the organisation."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="member_invitations"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.email} → {self.organization}"


class Stage(models.IntegerChoices):
    FORMATION = 1, "Formation"
    GOVERNANCE = 2, "Governance"
    EXECUTION = 3, "Execution"
    EVALUATION = 4, "Evaluation"
    RENEWAL_EXIT = 5, "Renewal or exit"


class AllianceModel(models.TextChoices):
    COMPLEMENTARY = "complementary", "Complementary capability"
    COOPETITION = "coopetition", "Co-opetition"
    ECOSYSTEM = "ecosystem", "Ecosystem"


class Outcome(models.TextChoices):
    RENEWED = "renewed", "Renewed"
    RESTRUCTURED = "restructured", "Restructured"
    EXITED = "exited", "Exited"


class Side(models.TextChoices):
    LEAD = "lead", "Lead"
    PARTNER = "partner", "Partner"


# The value thesis, in the order people write it.
VALUE_THESIS_FIELDS = [
    "purpose",
    "strategic_objective",
    "why_alliance",
    "expected_outcomes",
    "lead_contribution",
    "partner_contribution",
    "scope_in",
    "scope_out",
    "assumptions",
    "top_risks",
    "decision_principles",
]


class Alliance(TenantModel):
    lead_organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="led_alliances"
    )
    partner_organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="partnered_alliances",
        help_text="Empty until the partner accepts the invitation.",
    )
    partner_name = models.CharField(
        "partner organisation", max_length=120, help_text="The partner organisation's name."
    )
    name = models.CharField(max_length=120)
    model = models.CharField(
        max_length=20, choices=AllianceModel.choices, default=AllianceModel.COMPLEMENTARY
    )
    strategic_importance = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="1 (nice to have) to 5 (critical to our strategy).",
    )
    start_date = models.DateField(null=True, blank=True)
    renewal_date = models.DateField(null=True, blank=True)
    stage = models.PositiveSmallIntegerField(choices=Stage.choices, default=Stage.FORMATION)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    partner_may_edit_settings = models.BooleanField(
        default=False,
        help_text="Let the partner's managers edit the alliance's settings and move its stage.",
    )

    # The value thesis.
    purpose = models.CharField(
        "purpose in one sentence",
        max_length=300,
        blank=True,
        help_text="Why this alliance exists, in one sentence both sides would sign.",
    )
    strategic_objective = models.TextField(blank=True)
    why_alliance = models.TextField(
        "why an alliance",
        blank=True,
        help_text="Why partner rather than build it ourselves or buy it.",
    )
    expected_outcomes = models.TextField(
        "outcomes in 12–18 months",
        blank=True,
        help_text="What will be visibly different in 12 to 18 months.",
    )
    lead_contribution = models.TextField("what the lead brings", blank=True)
    partner_contribution = models.TextField("what the partner brings", blank=True)
    scope_in = models.TextField("in scope", blank=True)
    scope_out = models.TextField("out of scope (non-goals)", blank=True)
    assumptions = models.TextField(
        "assumptions to test in 90 days",
        blank=True,
        help_text="What must turn out to be true, and how you will know within 90 days.",
    )
    top_risks = models.TextField(blank=True)
    decision_principles = models.TextField(
        blank=True, help_text="How the two sides decide when interests pull apart."
    )

    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "lead_organization",
                Lower("name"),
                name="alliance_name_unique_per_lead",
                violation_error_message="An alliance with this name already exists.",
            ),
            models.CheckConstraint(
                condition=~Q(lead_organization=models.F("partner_organization")),
                name="alliance_parties_differ",
                violation_error_message="The lead organisation cannot also be the partner.",
            ),
            models.CheckConstraint(
                condition=Q(strategic_importance__gte=1, strategic_importance__lte=5),
                name="alliance_importance_1_5",
                violation_error_message="Strategic importance goes from 1 to 5.",
            ),
            models.CheckConstraint(
                condition=Q(renewal_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(renewal_date__gte=models.F("start_date")),
                name="alliance_renewal_after_start",
                violation_error_message="The renewal date cannot be before the start date.",
            ),
        ]

    def __str__(self):
        return self.name

    @classmethod
    def tenant_filter(cls, organization):
        return Q(lead_organization=organization) | Q(partner_organization=organization)

    def side_of(self, organization) -> str:
        if organization.pk == self.lead_organization_id:
            return Side.LEAD
        if organization.pk == self.partner_organization_id:
            return Side.PARTNER
        raise ValueError(f"{organization} is not a party to {self}")

    def organization_of(self, side: str):
        return self.lead_organization if side == Side.LEAD else self.partner_organization

    def party_name(self, side: str) -> str:
        if side == Side.LEAD:
            return self.lead_organization.name
        return self.partner_organization.name if self.partner_organization else self.partner_name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def is_closed(self) -> bool:
        return self.outcome == Outcome.EXITED


class AllianceOwned(TenantModel):
    """A row that belongs to an alliance, so both parties see it."""

    class Meta:
        abstract = True

    @classmethod
    def tenant_filter(cls, organization):
        return Q(alliance__lead_organization=organization) | Q(
            alliance__partner_organization=organization
        )


class SideOwned(AllianceOwned):
    """A row one party keeps about an alliance: shared with the partner, or internal."""

    author_organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+"
    )
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.SHARED
    )

    class Meta:
        abstract = True

    @classmethod
    def tenant_filter(cls, organization):
        return super().tenant_filter(organization) & (
            Q(visibility=Visibility.SHARED) | Q(author_organization=organization)
        )


class PartnerInvitation(AllianceOwned, Invitation):
    """The lead's invitation to the partner organisation to join an alliance."""

    alliance = models.ForeignKey(
        Alliance, on_delete=models.CASCADE, related_name="partner_invitations"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.email} → {self.alliance}"

    @classmethod
    def tenant_filter(cls, organization):
        # Only the lead sees its invitations to the partner.
        return Q(alliance__lead_organization=organization)


class ContactFunction(models.TextChoices):
    EXECUTIVE_SPONSOR = "executive_sponsor", "Executive sponsor"
    ALLIANCE_MANAGER = "alliance_manager", "Alliance manager"
    SALES = "sales", "Sales"
    MARKETING = "marketing", "Marketing"
    PRODUCT = "product", "Product"
    DELIVERY = "delivery", "Engineering / delivery"
    SUPPORT = "support", "Support"
    LEGAL_FINANCE = "legal_finance", "Legal / finance"
    OTHER = "other", "Other"


class Contact(AllianceOwned):
    """A person of one side who takes part in the alliance. Needs no user account."""

    alliance = models.ForeignKey(Alliance, on_delete=models.CASCADE, related_name="contacts")
    side = models.CharField(max_length=10, choices=Side.choices)
    name = models.CharField(max_length=150)
    email = models.EmailField()
    function = models.CharField(
        max_length=20, choices=ContactFunction.choices, default=ContactFunction.OTHER
    )
    title = models.CharField("job title", max_length=150, blank=True)
    is_active = models.BooleanField("active", default=True)
    takes_pulse = models.BooleanField(
        "takes part in pulse surveys",
        default=True,
        help_text="Invited to each pulse round while active.",
    )
    pulse_unsubscribed_at = models.DateTimeField(
        null=True, blank=True, help_text="Set by the contact from a pulse email; only they undo it."
    )
    email_failed_at = models.DateTimeField(
        null=True, blank=True, help_text="Mail to this address failed for good."
    )
    email_failure = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["side", "name"]
        constraints = [
            models.UniqueConstraint(
                "alliance",
                Lower("email"),
                name="contact_email_unique_per_alliance",
                violation_error_message="This alliance already has a contact with this email.",
            )
        ]

    def __str__(self):
        return f"{self.name} <{self.email}>"


class AdaptationTrigger(AllianceOwned):
    """A named condition that, when it happens, means the alliance must be reviewed."""

    alliance = models.ForeignKey(
        Alliance, on_delete=models.CASCADE, related_name="adaptation_triggers"
    )
    condition = models.CharField(
        max_length=300, help_text='For example "the regional subsidy changes by more than 15%".'
    )
    response = models.CharField(
        "what we will do",
        max_length=300,
        blank=True,
        help_text="The review or decision this condition should prompt.",
    )
    fired_at = models.DateTimeField(null=True, blank=True)
    fired_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    fired_note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return self.condition


class FitCriterion(models.TextChoices):
    STRATEGIC = "strategic", "Strategic fit"
    CAPABILITY = "capability", "Capability complementarity"
    ECONOMIC = "economic", "Economic symmetry"
    OPERATING = "operating", "Operating fit"
    CULTURAL = "cultural", "Cultural fit"
    COMPLIANCE = "compliance", "Compliance and security fit"
    SPONSORSHIP = "sponsorship", "Sponsorship strength"


class PartnerFitScore(SideOwned):
    """One criterion of one side's partner-fit scorecard. Always internal to that side."""

    alliance = models.ForeignKey(Alliance, on_delete=models.CASCADE, related_name="fit_scores")
    criterion = models.CharField(max_length=20, choices=FitCriterion.choices)
    score = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    red_flag = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["alliance", "author_organization", "criterion"],
                name="one_fit_score_per_criterion",
            ),
            models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="fit_score_1_5"),
        ]

    def __str__(self):
        return f"{self.get_criterion_display()}: {self.score}"

    @classmethod
    def tenant_filter(cls, organization):
        # A side's judgement of its partner is never shown to that partner.
        return AllianceOwned.tenant_filter(organization) & Q(author_organization=organization)


class GateItem(OrganizationOwned):
    """An organisation's checklist item for leaving a stage. Copied into alliances."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="gate_items"
    )
    stage = models.PositiveSmallIntegerField(choices=Stage.choices)
    text = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["stage", "position", "pk"]

    def __str__(self):
        return self.text


class AllianceGateCheck(AllianceOwned):
    """A gate item as it applies to one alliance, ticked off by either side."""

    alliance = models.ForeignKey(Alliance, on_delete=models.CASCADE, related_name="gate_checks")
    stage = models.PositiveSmallIntegerField(choices=Stage.choices)
    text = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField(default=0)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["stage", "position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["alliance", "stage", "text"], name="gate_check_unique_text"
            )
        ]

    def __str__(self):
        return self.text

    @property
    def is_done(self) -> bool:
        return self.done_at is not None


class StageTransition(AllianceOwned):
    alliance = models.ForeignKey(Alliance, on_delete=models.CASCADE, related_name="transitions")
    from_stage = models.PositiveSmallIntegerField(choices=Stage.choices, null=True)
    to_stage = models.PositiveSmallIntegerField(choices=Stage.choices)
    note = models.TextField(blank=True)
    override_reason = models.TextField(blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    checklist = models.JSONField(
        default=list, help_text="The gate checklist as it stood: [{text, done}]."
    )
    by_user = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    by_organization = models.ForeignKey(
        Organization, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.alliance}: {self.from_stage} → {self.to_stage}"

    @property
    def is_backward(self) -> bool:
        """A move back; not a renewal or restructuring, which also land in an earlier stage."""
        return not self.outcome and self.from_stage is not None and self.to_stage < self.from_stage

    @property
    def unmet_items(self) -> list[str]:
        return [item["text"] for item in self.checklist if not item.get("done")]


class LessonsLearned(AllianceOwned):
    """What an exited alliance teaches, and what happened to what the two sides shared."""

    alliance = models.OneToOneField(
        Alliance, on_delete=models.CASCADE, related_name="lessons_learned"
    )
    what_worked = models.TextField()
    what_did_not = models.TextField("what did not work")
    lead_would_change = models.TextField("what the lead would do differently")
    partner_would_change = models.TextField("what the partner would do differently")
    joint_customers = models.TextField("joint customers: who looks after them now")
    intellectual_property = models.TextField("intellectual property: who keeps what")
    data = models.TextField("shared data: returned, deleted or retained")
    recorded_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "lessons learned"

    def __str__(self):
        return f"Lessons from {self.alliance}"


class JournalEntry(SideOwned):
    """A note about the alliance, shared with the partner or internal to the author's side."""

    alliance = models.ForeignKey(Alliance, on_delete=models.CASCADE, related_name="journal")
    author = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "journal entries"

    def __str__(self):
        return self.body[:60]


class JobRun(models.Model):
    """When each periodic job last ran. Not tenant data: it is the platform's own."""

    name = models.CharField(max_length=80, unique=True)
    last_started_at = models.DateTimeField(null=True)
    last_finished_at = models.DateTimeField(null=True)
    last_now = models.DateTimeField(null=True, help_text="The clock the job was run with.")
    last_error = models.TextField(blank=True)
    runs = models.PositiveIntegerField(default=0)

    def __str__(self):
        return self.name


class ApiToken(OrganizationOwned):
    """A personal key to the REST API: one user's access to one organisation, with that
    user's current role there. Only a hash is stored; the key is shown once, when made."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_tokens"
    )
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80, help_text="What uses it, e.g. “CRM sync”.")
    prefix = models.CharField(
        max_length=12, help_text="The key's first characters, to tell keys apart."
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyKey(OrganizationOwned):
    """The first answer to a write sent with an ``Idempotency-Key`` header, replayed when the
    same client sends the same key again. The unique constraint makes "first" mean one."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    client = models.CharField(max_length=40, help_text="token:<id> or user:<id>")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64, help_text="Method, path and body, hashed.")
    status_code = models.PositiveSmallIntegerField()
    response_body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "client", "key"], name="idempotency_key_once"
            )
        ]

    def __str__(self):
        return self.key


class WebhookEvent(models.TextChoices):
    """What an organisation can subscribe a webhook endpoint to."""

    ALERT_RAISED = "alert.raised", "An alert is raised"
    ALERT_RESOLVED = "alert.resolved", "An alert is resolved"
    STAGE_CHANGED = "alliance.stage_changed", "An alliance changes stage"
    ROUND_CLOSED = "round.closed", "A survey round closes"


class WebhookEndpoint(OrganizationOwned):
    """A URL of one organisation that Concord POSTs signed events to. Disabled (not deleted)
    after repeated failed deliveries; an admin enables it again."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField("URL", max_length=500)
    events = models.JSONField(default=list, help_text="The event types it receives.")
    secret = models.CharField(max_length=80, help_text="Signs each delivery (HMAC-SHA256).")
    description = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    disabled_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(
        default=0, help_text="Deliveries that failed for good since the last success."
    )

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return self.url

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERING = "delivering", "Delivering"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class WebhookDelivery(TenantModel):
    """One event for one endpoint, and how sending it went. Unique per (endpoint, event id),
    so an event emitted twice is delivered once. While ``delivering``, ``next_attempt_at``
    is the end of the worker's lease."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=40)
    event_id = models.UUIDField()
    payload = models.JSONField()
    status = models.CharField(
        max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event_id"], name="webhook_event_once_per_endpoint"
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
        ]

    def __str__(self):
        return f"{self.event} → {self.endpoint}"

    @classmethod
    def tenant_filter(cls, organization):
        return Q(endpoint__organization=organization)


class AuditAction(models.TextChoices):
    LOGIN = "login", "Signed in"
    LOGIN_FAILED = "login_failed", "Sign-in failed"
    ROLE_CHANGED = "role_changed", "Role changed"
    MEMBER_ADDED = "member_added", "Member added"
    MEMBER_REMOVED = "member_removed", "Member removed"
    STAGE_CHANGED = "stage_changed", "Stage changed"
    THRESHOLD_CHANGED = "threshold_changed", "Thresholds changed"
    API_TOKEN_CREATED = "api_token_created", "API token created"
    API_TOKEN_REVOKED = "api_token_revoked", "API token revoked"
    WEBHOOK_CREATED = "webhook_created", "Webhook created"
    WEBHOOK_DELETED = "webhook_deleted", "Webhook deleted"


class AuditEvent(OrganizationOwned):
    """A security-relevant event, for the organisation's admins: who did what, when, from
    where. Append-only; the actor's email stays when the user is deleted."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="audit_events"
    )
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_email = models.EmailField(blank=True)
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    summary = models.TextField()
    ip = models.GenericIPAddressField("IP address", null=True, blank=True)
    target = models.CharField(
        max_length=200, blank=True, help_text="What it was done to, e.g. “membership 12”."
    )

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["organization", "-at"], name="audit_event_newest")]

    def __str__(self):
        return f"{self.get_action_display()}: {self.summary[:60]}"
