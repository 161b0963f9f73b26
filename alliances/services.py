"""Writes. Views, jobs, commands and the API call these; they hold the business rules."""

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from governance.models import ActionItem, ActionSource, Escalation, Rung
from governance.services import action_save, decision_rights_seed, escalation_raise

from . import webhooks
from .audit import audit_record
from .defaults import DEFAULT_GATE_ITEMS
from .mail import send_templated
from .models import (
    AdaptationTrigger,
    Alliance,
    AllianceGateCheck,
    AuditAction,
    Contact,
    ContactFunction,
    FitCriterion,
    GateItem,
    JournalEntry,
    LessonsLearned,
    MemberInvitation,
    Membership,
    Organization,
    Outcome,
    PartnerFitScore,
    PartnerInvitation,
    Role,
    Stage,
    StageTransition,
    User,
    Visibility,
)
from .tokens import new_token

# --- organisations and members ------------------------------------------------------------


def unique_org_slug(name: str) -> str:
    base = slugify(name)[:50] or "org"
    slug, n = base, 2
    while Organization.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def organization_create(*, name: str, admin: User | None = None, slug: str = "") -> Organization:
    organization = Organization.objects.create(name=name, slug=slug or unique_org_slug(name))
    GateItem.objects.bulk_create(
        GateItem(organization=organization, stage=stage, text=text, position=position)
        for stage, texts in DEFAULT_GATE_ITEMS.items()
        for position, text in enumerate(texts)
    )
    if admin is not None:
        Membership.objects.create(organization=organization, user=admin, role=Role.ADMIN)
    return organization


def _invitation_expiry():
    return timezone.now() + timedelta(days=settings.INVITATION_VALID_DAYS)


@transaction.atomic
def member_invite(
    *, organization: Organization, email: str, role: str, invited_by: User
) -> MemberInvitation:
    email = email.strip().lower()
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise ValidationError({"email": f"{email} is already a member of {organization}."})
    # A new invitation replaces any pending one, so only the latest link works.
    MemberInvitation.objects.filter(
        organization=organization,
        email__iexact=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
    ).update(revoked_at=timezone.now())
    token, digest = new_token()
    invitation = MemberInvitation.objects.create(
        organization=organization,
        email=email,
        role=role,
        token_hash=digest,
        invited_by=invited_by,
        expires_at=_invitation_expiry(),
    )
    link = settings.SITE_URL + reverse("member_invitation", args=[token])
    transaction.on_commit(
        lambda: send_templated(
            to=[email],
            template="member_invitation",
            context={"invitation": invitation, "link": link, "inviter": invited_by},
        )
    )
    return invitation


@transaction.atomic
def member_invitation_accept(*, invitation: MemberInvitation, user: User) -> Membership:
    invitation = MemberInvitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_pending:
        raise ValidationError("This invitation has already been used or is no longer valid.")
    membership, created = Membership.objects.get_or_create(
        organization=invitation.organization, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    if created:
        audit_record(
            organizations=[membership.organization],
            action=AuditAction.MEMBER_ADDED,
            summary=f"{user.email} joined as {membership.get_role_display()} (invited as "
            f"{invitation.email} by {invitation.invited_by or 'someone since removed'}).",
            target=f"membership {membership.pk}",
            actor=user,
        )
    return membership


def _check_not_last_admin(membership: Membership) -> None:
    if membership.role != Role.ADMIN:
        return
    admins = Membership.objects.filter(organization=membership.organization, role=Role.ADMIN)
    if admins.count() <= 1:
        raise ValidationError("An organisation needs at least one admin.")


@transaction.atomic
def membership_set_role(*, membership: Membership, role: str) -> Membership:
    if role not in Role.values:
        raise ValidationError("Unknown role.")
    if role != Role.ADMIN:
        _check_not_last_admin(membership)
    before = membership.get_role_display()
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        organizations=[membership.organization],
        action=AuditAction.ROLE_CHANGED,
        summary=f"{membership.user.email}: {before} → {membership.get_role_display()}.",
        target=f"membership {membership.pk}",
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    _check_not_last_admin(membership)
    audit_record(
        organizations=[membership.organization],
        action=AuditAction.MEMBER_REMOVED,
        summary=f"{membership.user.email} ({membership.get_role_display()}) was removed.",
        target=f"membership {membership.pk}",
    )
    membership.delete()


# --- alliances ------------------------------------------------------------------------------


def _gate_checks_for(alliance: Alliance, stage: int) -> None:
    """Copy the lead's checklist for ``stage`` into the alliance, once."""
    items = GateItem.objects.filter(
        organization_id=alliance.lead_organization_id, stage=stage, is_active=True
    )
    existing = set(alliance.gate_checks.filter(stage=stage).values_list("text", flat=True))
    AllianceGateCheck.objects.bulk_create(
        AllianceGateCheck(alliance=alliance, stage=stage, text=item.text, position=item.position)
        for item in items
        if item.text not in existing
    )


def _check_partner_email(alliance: Alliance, email: str) -> None:
    if Membership.objects.filter(
        organization_id=alliance.lead_organization_id, user__email__iexact=email
    ).exists():
        raise ValidationError(
            {
                "partner_email": (
                    f"{email} belongs to a member of {alliance.lead_organization}. "
                    "Invite someone from the partner organisation instead."
                )
            }
        )


def _check_name_free(alliance: Alliance) -> None:
    # Before full_clean, whose constraint check would only say "constraint … is violated".
    others = Alliance.objects.filter(
        lead_organization_id=alliance.lead_organization_id, name__iexact=alliance.name.strip()
    ).exclude(pk=alliance.pk)
    if others.exists():
        raise ValidationError({"name": "An alliance with this name already exists."})


@transaction.atomic
def alliance_create(
    *, organization: Organization, user: User, partner_email: str = "", **fields
) -> Alliance:
    alliance = Alliance(lead_organization=organization, created_by=user, **fields)
    _check_name_free(alliance)
    alliance.full_clean(exclude=["partner_organization"])
    if partner_email:
        _check_partner_email(alliance, partner_email)
    try:
        with transaction.atomic():
            alliance.save()
    except IntegrityError as error:
        raise ValidationError({"name": "An alliance with this name already exists."}) from error
    _gate_checks_for(alliance, alliance.stage)
    StageTransition.objects.create(
        alliance=alliance,
        from_stage=None,
        to_stage=alliance.stage,
        note="Alliance created.",
        by_user=user,
        by_organization=organization,
    )
    if partner_email:
        partner_invite(alliance=alliance, email=partner_email, invited_by=user)
    return alliance


@transaction.atomic
def alliance_update(*, alliance: Alliance, **fields) -> Alliance:
    for name, value in fields.items():
        setattr(alliance, name, value)
    _check_name_free(alliance)
    alliance.full_clean(exclude=["partner_organization"])
    try:
        with transaction.atomic():
            alliance.save()
    except IntegrityError as error:
        raise ValidationError({"name": "An alliance with this name already exists."}) from error
    return alliance


def alliance_set_archived(*, alliance: Alliance, archived: bool) -> Alliance:
    alliance.archived_at = timezone.now() if archived else None
    alliance.save(update_fields=["archived_at", "updated_at"])
    return alliance


@transaction.atomic
def partner_invite(*, alliance: Alliance, email: str, invited_by: User) -> PartnerInvitation:
    email = email.strip().lower()
    validate_email(email)
    if alliance.partner_organization_id:
        raise ValidationError("The partner has already joined this alliance.")
    _check_partner_email(alliance, email)
    PartnerInvitation.objects.filter(
        alliance=alliance, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    token, digest = new_token()
    invitation = PartnerInvitation.objects.create(
        alliance=alliance,
        email=email,
        token_hash=digest,
        invited_by=invited_by,
        expires_at=_invitation_expiry(),
    )
    link = settings.SITE_URL + reverse("partner_invitation", args=[token])
    transaction.on_commit(
        lambda: send_templated(
            to=[email],
            template="partner_invitation",
            context={"invitation": invitation, "alliance": alliance, "link": link},
        )
    )
    return invitation


@transaction.atomic
def partner_invitation_accept(
    *,
    invitation: PartnerInvitation,
    user: User,
    organization: Organization | None = None,
    new_organization_name: str = "",
) -> Alliance:
    """Join the alliance as its partner, with an existing organisation or a new one."""
    invitation = PartnerInvitation.objects.select_for_update().get(pk=invitation.pk)
    alliance = Alliance.objects.select_for_update().get(pk=invitation.alliance_id)
    if not invitation.is_pending or alliance.partner_organization_id:
        raise ValidationError("This invitation has already been used or is no longer valid.")
    if organization is not None:
        membership = Membership.objects.filter(organization=organization, user=user).first()
        if membership is None or not membership.can_edit:
            raise ValidationError(
                {"organization": "You need to be an admin or manager of that organisation."}
            )
        if organization.pk == alliance.lead_organization_id:
            raise ValidationError(
                {"organization": "The lead organisation cannot also be the partner."}
            )
    else:
        name = new_organization_name.strip() or alliance.partner_name
        organization = organization_create(name=name, admin=user)
    alliance.partner_organization = organization
    alliance.partner_name = organization.name
    alliance.save(update_fields=["partner_organization", "partner_name", "updated_at"])
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    JournalEntry.objects.create(
        alliance=alliance,
        author=user,
        author_organization=organization,
        visibility=Visibility.SHARED,
        body=f"{organization} joined the alliance as partner.",
    )
    return alliance


# --- contacts -------------------------------------------------------------------------------


@transaction.atomic
def contact_save(*, contact: Contact) -> Contact:
    contact.email = contact.email.strip().lower()
    # Before full_clean, whose constraint check would only say "constraint … is violated".
    duplicate = Contact.objects.filter(alliance=contact.alliance, email__iexact=contact.email)
    if contact.pk:
        duplicate = duplicate.exclude(pk=contact.pk)
    if duplicate.exists():
        raise ValidationError({"email": "This alliance already has a contact with this email."})
    if contact.pk and contact.email_failed_at:
        before = Contact.objects.filter(pk=contact.pk).values_list("email", flat=True).first()
        if before is not None and before.lower() != contact.email:
            # A corrected address gets tried again; unsubscribing stays the contact's own call.
            contact.email_failed_at, contact.email_failure = None, ""
    contact.full_clean()
    contact.save()
    return contact


CSV_COLUMNS = ("name", "email", "function")
FUNCTION_BY_LABEL = {
    **{value: value for value in ContactFunction.values},
    **{label.lower(): value for value, label in ContactFunction.choices},
}


@dataclass
class ImportResult:
    created: list[Contact]
    errors: list[str]


def contacts_import_csv(*, alliance: Alliance, side: str, data: bytes) -> ImportResult:
    """Import contacts of one side; nothing is saved unless every line is valid."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return ImportResult([], ["The file is not UTF-8 text. Save it as “CSV UTF-8” and retry."])
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        # (line the record ends on, cells): quoted values may span lines.
        records = [(reader.line_num, row) for row in reader]
    except csv.Error as error:  # e.g. a value over the csv module's size limit
        return ImportResult([], [f"Line {reader.line_num}: not readable as CSV ({error})."])
    rows = iter(records)
    header = next(rows, (1, None))[1]
    if not header or not any(cell.strip() for cell in header):
        return ImportResult([], ["The file is empty. The first line must be a header row."])
    columns = [cell.strip().lower() for cell in header]
    missing = [name for name in ("name", "email") if name not in columns]
    if missing:
        return ImportResult(
            [],
            [
                f"Line 1: the header must name the columns {', '.join(CSV_COLUMNS)} "
                f"(missing: {', '.join(missing)})."
            ],
        )
    existing = {email.lower() for email in alliance.contacts.values_list("email", flat=True)}
    seen: dict[str, int] = {}
    errors: list[str] = []
    contacts: list[Contact] = []
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(columns):
            errors.append(f"Line {line}: {len(row)} values but the header has {len(columns)}.")
            continue
        record = dict(zip(columns, (cell.strip() for cell in row), strict=False))
        name, email = record.get("name", ""), record.get("email", "").lower()
        function_text = record.get("function", "").lower() or ContactFunction.OTHER
        problems = []
        if not name:
            problems.append("the name is empty")
        elif len(name) > 150:
            problems.append("the name is longer than 150 characters")
        elif "\x00" in name:
            problems.append("the name contains a NUL character")
        try:
            validate_email(email)
        except ValidationError:
            problems.append(f"“{email}” is not a valid email address" if email else "no email")
        else:
            if len(email) > Contact._meta.get_field("email").max_length:
                problems.append("the email address is longer than 254 characters")
            elif email in existing:
                problems.append(f"{email} is already a contact of this alliance")
            elif email in seen:
                problems.append(f"{email} also appears on line {seen[email]}")
        function = FUNCTION_BY_LABEL.get(function_text)
        if function is None:
            problems.append(
                f"unknown function “{record.get('function')}” "
                f"(use one of: {', '.join(label for _, label in ContactFunction.choices)})"
            )
        if problems:
            errors.append(f"Line {line}: {'; '.join(problems)}.")
            continue
        seen[email] = line
        contacts.append(
            Contact(alliance=alliance, side=side, name=name, email=email, function=function)
        )
    if not errors and not contacts:
        errors.append("The file has a header but no contacts.")
    if errors:
        return ImportResult([], errors)
    with transaction.atomic():
        created = Contact.objects.bulk_create(contacts)
    return ImportResult(created, [])


# --- value thesis extras ----------------------------------------------------------------------


@dataclass(frozen=True)
class TriggerFired:
    trigger: AdaptationTrigger
    escalation: Escalation
    action: ActionItem | None  # None when the firing side has no contact to own it

    @property
    def summary(self) -> str:
        text = (
            f"Marked as fired: {self.trigger}. Escalation opened with the "
            f"{self.escalation.get_rung_display().lower()}"
        )
        if self.action is None:
            return text + "; no review action was created, as your side has no contact yet."
        return text + f"; review action assigned to {self.action.owner.name}."


TRIGGER_REVIEW_DAYS = 14


def review_owner(alliance: Alliance, side: str) -> Contact | None:
    """Who owns a review action for one side: its alliance manager, else its executive
    sponsor, else anyone active."""
    contacts = list(alliance.contacts.filter(side=side, is_active=True).order_by("name", "pk"))
    for function in (ContactFunction.ALLIANCE_MANAGER, ContactFunction.EXECUTIVE_SPONSOR):
        for contact in contacts:
            if contact.function == function:
                return contact
    return contacts[0] if contacts else None


@transaction.atomic
def trigger_fire(
    *,
    trigger: AdaptationTrigger,
    user: User | None,
    organization: Organization,
    note: str,
    now: datetime | None = None,
) -> TriggerFired:
    """Mark the trigger as fired, open an escalation at the steering rung and a shared action
    for the firing side to review the alliance. A trigger fires once."""
    note = note.strip()
    if not note:
        raise ValidationError({"fired_note": "Say what happened, so the review has context."})
    alliance = trigger.alliance
    try:
        side = alliance.side_of(organization)
    except ValueError:
        raise ValidationError("Only a party to the alliance can fire its triggers.") from None
    now = now or timezone.now()
    claimed = AdaptationTrigger.objects.filter(pk=trigger.pk, fired_at__isnull=True).update(
        fired_at=now, fired_by=user, fired_note=note
    )
    if not claimed:
        trigger.refresh_from_db()
        raise ValidationError(
            f"This trigger already fired on {timezone.localtime(trigger.fired_at):%d %b %Y}; "
            "its escalation is already open."
        )
    trigger.fired_at, trigger.fired_by, trigger.fired_note = now, user, note
    condition = trigger.condition
    escalation = escalation_raise(
        escalation=Escalation(
            alliance=alliance,
            title=f"Adaptation trigger fired: {condition}"[:200],
            description=note,
            rung=Rung.STEERING_COMMITTEE,
        ),
        user=user,
        organization=organization,
        now=now,
    )
    owner = review_owner(alliance, side)
    action = None
    if owner is not None:
        today = timezone.localdate(now)
        details = f"The adaptation trigger “{condition}” fired: {note}"
        if trigger.response:
            details += f"\nPlanned response: {trigger.response}"
        action = action_save(
            action=ActionItem(
                alliance=alliance,
                author_organization=organization,
                visibility=Visibility.SHARED,
                title=f"Review the alliance: {condition}"[:200],
                details=details,
                owner=owner,
                due_on=today + timedelta(days=TRIGGER_REVIEW_DAYS),
                created_at=now,
                # A person raised it by hand; "alert" and "health review" are reserved for the
                # health model's signals, which the survey later shows as "you said, we did".
                source=ActionSource.MANUAL,
            ),
            user=user,
            today=today,
        )
    return TriggerFired(trigger, escalation, action)


@transaction.atomic
def partner_fit_save(
    *, alliance: Alliance, organization: Organization, scores: dict[str, tuple[int, str]]
) -> None:
    """Save one side's partner-fit scorecard: {criterion: (score 1–5, red flag note)}."""
    for criterion, (score, red_flag) in scores.items():
        if criterion not in FitCriterion.values:
            raise ValidationError(f"Unknown criterion {criterion}.")
        PartnerFitScore.objects.update_or_create(
            alliance=alliance,
            author_organization=organization,
            criterion=criterion,
            defaults={"score": score, "red_flag": red_flag, "visibility": Visibility.INTERNAL},
        )


# --- lifecycle ------------------------------------------------------------------------------


def gate_check_set(*, check: AllianceGateCheck, done: bool, user: User) -> AllianceGateCheck:
    check.done_at = timezone.now() if done else None
    check.done_by = user if done else None
    check.save(update_fields=["done_at", "done_by"])
    return check


def _checklist_state(alliance: Alliance, stage: int) -> list[dict]:
    return [
        {"text": check.text, "done": check.is_done}
        for check in alliance.gate_checks.filter(stage=stage)
    ]


@transaction.atomic
def stage_advance(
    *,
    alliance: Alliance,
    user: User,
    organization: Organization,
    note: str,
    override_reason: str = "",
    outcome: str = "",
    lessons: LessonsLearned | None = None,
) -> StageTransition:
    """Move forward one stage, or out of renewal/exit with an outcome.

    Leaving renewal/exit: *renewed* goes back to execution, *restructured* to governance
    (terms are re-set), *exited* closes the alliance, which then needs lessons learned.
    """
    alliance = Alliance.objects.select_for_update().get(pk=alliance.pk)
    errors: dict[str, str] = {}
    if alliance.is_closed:
        raise ValidationError("This alliance has exited; its lifecycle is complete.")
    if not note.strip():
        errors["note"] = "Say in a sentence why the alliance is ready to move on."
    checklist = _checklist_state(alliance, alliance.stage)
    unmet = [item["text"] for item in checklist if not item["done"]]
    if unmet and not override_reason.strip():
        errors["override_reason"] = (
            f"{len(unmet)} gate item(s) are not met. Give a reason to move on anyway."
        )
    if alliance.stage == Stage.RENEWAL_EXIT:
        if outcome not in Outcome.values:
            errors["outcome"] = "Choose the outcome: renewed, restructured or exited."
        elif outcome == Outcome.EXITED and lessons is None:
            errors["lessons"] = "An exit needs a lessons-learned record."
        to_stage = {
            Outcome.RENEWED: Stage.EXECUTION,
            Outcome.RESTRUCTURED: Stage.GOVERNANCE,
            Outcome.EXITED: Stage.RENEWAL_EXIT,
        }.get(outcome)
    else:
        outcome = ""
        to_stage = alliance.stage + 1
    if errors:
        raise ValidationError(errors)
    if lessons is not None and outcome == Outcome.EXITED:
        lessons.alliance = alliance
        lessons.recorded_by = user
        lessons.full_clean()
        lessons.save()
    transition = StageTransition.objects.create(
        alliance=alliance,
        from_stage=alliance.stage,
        to_stage=to_stage,
        note=note.strip(),
        override_reason=override_reason.strip() if unmet else "",
        outcome=outcome,
        checklist=checklist,
        by_user=user,
        by_organization=organization,
    )
    alliance.stage = to_stage
    alliance.outcome = outcome
    alliance.save(update_fields=["stage", "outcome", "updated_at"])
    if to_stage != transition.from_stage:
        # A renewed or restructured alliance starts a new cycle: it works through that
        # stage's gate and every later one afresh (the old ticks stay in the history).
        if outcome:
            alliance.gate_checks.filter(stage__gte=to_stage).update(done_at=None, done_by=None)
        _gate_checks_for(alliance, to_stage)
    if to_stage == Stage.GOVERNANCE:
        # Entering governance starts the decision-rights matrix from the defaults.
        decision_rights_seed(alliance=alliance)
    _audit_stage_change(transition, user=user)
    webhooks.stage_changed(transition)
    return transition


@transaction.atomic
def stage_back(
    *, alliance: Alliance, user: User, organization: Organization, to_stage: int, reason: str
) -> StageTransition:
    alliance = Alliance.objects.select_for_update().get(pk=alliance.pk)
    errors = {}
    if alliance.is_closed:
        raise ValidationError("This alliance has exited; its lifecycle is complete.")
    if to_stage not in Stage.values or to_stage >= alliance.stage:
        errors["to_stage"] = "Choose an earlier stage."
    if not reason.strip():
        errors["reason"] = "Moving back needs a reason."
    if errors:
        raise ValidationError(errors)
    transition = StageTransition.objects.create(
        alliance=alliance,
        from_stage=alliance.stage,
        to_stage=to_stage,
        note=reason.strip(),
        checklist=_checklist_state(alliance, alliance.stage),
        by_user=user,
        by_organization=organization,
    )
    alliance.stage = to_stage
    alliance.save(update_fields=["stage", "updated_at"])
    _gate_checks_for(alliance, to_stage)
    _audit_stage_change(transition, user=user)
    webhooks.stage_changed(transition)
    return transition


def _audit_stage_change(transition: StageTransition, *, user: User | None) -> None:
    """In both parties' logs: either may move the alliance, and it concerns them both."""
    alliance = transition.alliance
    moved = f"{Stage(transition.from_stage).label} → {Stage(transition.to_stage).label}"
    outcome = f" ({transition.get_outcome_display()})" if transition.outcome else ""
    audit_record(
        organizations=[alliance.lead_organization_id, alliance.partner_organization_id],
        action=AuditAction.STAGE_CHANGED,
        summary=f"“{alliance.name}”: {moved}{outcome}, by {transition.by_organization}.",
        target=f"alliance {alliance.pk}",
        actor=user,
    )


# --- journal --------------------------------------------------------------------------------


def journal_add(
    *, alliance: Alliance, user: User, organization: Organization, body: str, visibility: str
) -> JournalEntry:
    entry = JournalEntry(
        alliance=alliance,
        author=user,
        author_organization=organization,
        body=body.strip(),
        visibility=visibility,
    )
    entry.full_clean()
    entry.save()
    return entry


def next_gate_position(organization: Organization, stage: int) -> int:
    top = GateItem.objects.filter(organization=organization, stage=stage).aggregate(
        top=Max("position")
    )["top"]
    return 0 if top is None else top + 1
