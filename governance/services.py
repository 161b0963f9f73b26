"""Writes for governance. Views, jobs and the API call these; they hold the rules."""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from alliances.models import Alliance, Contact, ContactFunction, Organization, User, Visibility

from .defaults import DEFAULT_DECISION_RIGHTS
from .models import (
    DEFAULT_CADENCE,
    ActionItem,
    ActionSource,
    ActionStatus,
    Decision,
    DecisionRight,
    Escalation,
    EscalationMove,
    GovernanceBody,
    GovernanceChange,
    Meeting,
    Risk,
    Rung,
    Tier,
)


def _log(*, alliance, subject, obj, summary, user, organization, visibility=Visibility.SHARED):
    GovernanceChange.objects.create(
        alliance=alliance,
        subject=subject,
        object_id=obj.pk,
        summary=summary[:500],
        by_user=user,
        author_organization=organization,
        visibility=visibility,
    )


def _contacts_of(alliance: Alliance, contacts, field: str) -> list[Contact]:
    contacts = list(contacts)
    strangers = [c for c in contacts if c.alliance_id != alliance.pk]
    if strangers:
        raise ValidationError({field: "Choose people who are contacts of this alliance."})
    return contacts


# --- bodies and meetings --------------------------------------------------------------------


@transaction.atomic
def body_save(
    *,
    body: GovernanceBody,
    members=(),
    chair: Contact | None = None,
) -> GovernanceBody:
    body.cadence = body.cadence or DEFAULT_CADENCE[Tier(body.tier)]
    members = _contacts_of(body.alliance, members, "members")
    if chair is not None:
        _contacts_of(body.alliance, [chair], "chair")
        if chair not in members:
            members.append(chair)
    body.chair = chair
    body.full_clean(validate_constraints=False)
    duplicate = GovernanceBody.objects.filter(alliance=body.alliance, name__iexact=body.name)
    if duplicate.exclude(pk=body.pk).exists():
        raise ValidationError({"name": "This alliance already has a body with this name."})
    body.save()
    body.members.set(members)
    return body


@transaction.atomic
def meeting_record(*, meeting: Meeting, attendees=()) -> Meeting:
    meeting.alliance = meeting.body.alliance
    attendees = _contacts_of(meeting.alliance, attendees, "attendees")
    member_ids = set(meeting.body.members.values_list("pk", flat=True))
    outsiders = [c.name for c in attendees if c.pk not in member_ids]
    if outsiders:
        raise ValidationError(
            {"attendees": f"Not members of {meeting.body}: {', '.join(outsiders)}."}
        )
    meeting.full_clean()
    meeting.save()
    meeting.attendees.set(attendees)
    return meeting


# --- decision rights and decisions ------------------------------------------------------------


def decision_rights_seed(*, alliance: Alliance) -> int:
    """Give the alliance the default matrix rows it does not have yet. Idempotent."""
    rows = [
        DecisionRight(
            alliance=alliance,
            decision_type=decision_type,
            owner=owner,
            joint_approval=joint,
            forum=forum,
            sla_days=sla,
            escalation_rung=rung,
            position=position,
        )
        for position, (decision_type, owner, joint, forum, sla, rung) in enumerate(
            DEFAULT_DECISION_RIGHTS
        )
    ]
    before = DecisionRight.objects.filter(alliance=alliance).count()
    DecisionRight.objects.bulk_create(rows, ignore_conflicts=True)
    return DecisionRight.objects.filter(alliance=alliance).count() - before


@transaction.atomic
def decision_right_save(
    *, right: DecisionRight, user: User, organization: Organization
) -> DecisionRight:
    creating = right.pk is None
    right.full_clean(validate_constraints=False)
    duplicate = DecisionRight.objects.filter(
        alliance=right.alliance, decision_type__iexact=right.decision_type
    ).exclude(pk=right.pk)
    if duplicate.exists():
        raise ValidationError({"decision_type": "The matrix already has this decision type."})
    right.save()
    _log(
        alliance=right.alliance,
        subject="decision right",
        obj=right,
        summary=(
            f"{'Added' if creating else 'Changed'} decision right “{right.decision_type}”: "
            f"{right.owner} decides in {right.forum} ({right.get_joint_approval_display()}), "
            f"SLA {right.sla_days} days, escalates to {right.get_escalation_rung_display()}."
        ),
        user=user,
        organization=organization,
    )
    return right


@transaction.atomic
def decision_right_delete(*, right: DecisionRight, user: User, organization: Organization) -> None:
    _log(
        alliance=right.alliance,
        subject="decision right",
        obj=right,
        summary=f"Removed decision right “{right.decision_type}”.",
        user=user,
        organization=organization,
    )
    right.delete()


def decision_record(*, decision: Decision, user: User | None) -> Decision:
    """Log a decision; a linked meeting or matrix row must be this alliance's."""
    if decision.meeting is not None and decision.meeting.alliance_id != decision.alliance_id:
        raise ValidationError({"meeting": "Choose a meeting of this alliance."})
    right = decision.decision_right
    if right is not None and right.alliance_id != decision.alliance_id:
        raise ValidationError({"decision_right": "Choose a row of this alliance's matrix."})
    if decision.pk is None:
        decision.recorded_by = user
    decision.full_clean()
    decision.save()
    return decision


# --- escalations ----------------------------------------------------------------------------


def default_sla_days() -> int:
    return getattr(settings, "ESCALATION_DEFAULT_SLA_DAYS", 10)


@transaction.atomic
def escalation_raise(
    *,
    escalation: Escalation,
    user: User | None,
    organization: Organization | None,
    now: datetime | None = None,
) -> Escalation:
    now = now or timezone.now()
    right = escalation.decision_right
    if right is not None and right.alliance_id != escalation.alliance_id:
        raise ValidationError({"decision_right": "Choose a row of this alliance's matrix."})
    escalation.sla_days = right.sla_days if right else default_sla_days()
    escalation.raised_at = now
    escalation.due_at = now + timedelta(days=escalation.sla_days)
    escalation.raised_by = user
    escalation.raised_by_organization = organization
    escalation.full_clean()
    escalation.save()
    _log(
        alliance=escalation.alliance,
        subject="escalation",
        obj=escalation,
        summary=(
            f"Raised “{escalation.title}” with {escalation.get_rung_display()}, "
            f"SLA {escalation.sla_days} days."
        ),
        user=user,
        organization=organization,
    )
    return escalation


@transaction.atomic
def escalation_resolve(
    *,
    escalation: Escalation,
    resolution: str,
    user: User,
    organization: Organization,
    now: datetime | None = None,
) -> Escalation:
    if not resolution.strip():
        raise ValidationError({"resolution": "Say how it was resolved."})
    updated = Escalation.objects.filter(pk=escalation.pk, resolved_at__isnull=True).update(
        resolved_at=now or timezone.now(), resolution=resolution.strip()
    )
    if not updated:
        raise ValidationError("This escalation is already resolved.")
    escalation.refresh_from_db()
    _log(
        alliance=escalation.alliance,
        subject="escalation",
        obj=escalation,
        summary=f"Resolved “{escalation.title}”: {escalation.resolution}",
        user=user,
        organization=organization,
    )
    return escalation


def rung_recipients(alliance: Alliance, rung: int) -> list[Contact]:
    """The people an escalation at ``rung`` goes to (active contacts of both sides)."""
    contacts = Contact.objects.filter(alliance=alliance, is_active=True)
    by_rung = {
        Rung.WORKING_LEADS: contacts.filter(governance_bodies__tier=Tier.WORKING_TEAM),
        Rung.ALLIANCE_MANAGERS: contacts.filter(function=ContactFunction.ALLIANCE_MANAGER),
        Rung.STEERING_COMMITTEE: contacts.filter(governance_bodies__tier=Tier.EXECUTIVE_STEERING),
        Rung.EXECUTIVE_SPONSORS: contacts.filter(function=ContactFunction.EXECUTIVE_SPONSOR),
    }
    people = list(by_rung[rung].distinct().order_by("side", "name"))
    # Nobody named for that rung yet: the alliance managers must still hear of it.
    return people or list(by_rung[Rung.ALLIANCE_MANAGERS].order_by("side", "name"))


def escalations_move_overdue(*, now: datetime) -> list[EscalationMove]:
    """Move every open escalation past its SLA one rung up, once, and tell that rung.

    Claiming is a conditional update on (rung, due_at), and a move onto a rung is unique,
    so the job run twice, or by two workers at once, moves each escalation once.
    """
    from alliances.mail import send_templated

    moves = []
    overdue = Escalation.objects.filter(
        resolved_at__isnull=True, due_at__lt=now, rung__lt=Rung.EXECUTIVE_SPONSORS
    ).select_related("alliance", "decision_right")
    for escalation in overdue:
        to_rung = escalation.rung + 1
        with transaction.atomic():
            claimed = Escalation.objects.filter(
                pk=escalation.pk, rung=escalation.rung, resolved_at__isnull=True
            ).update(rung=to_rung, due_at=now + timedelta(days=escalation.sla_days))
            if not claimed:
                continue
            try:
                with transaction.atomic():
                    move = EscalationMove.objects.create(
                        escalation=escalation,
                        from_rung=escalation.rung,
                        to_rung=to_rung,
                        at=now,
                        reason=f"No resolution within {escalation.sla_days} days.",
                    )
            except IntegrityError:
                continue
            escalation.rung = to_rung
            _log(
                alliance=escalation.alliance,
                subject="escalation",
                obj=escalation,
                summary=(
                    f"Moved “{escalation.title}” up to {escalation.get_rung_display()}: "
                    f"{move.reason}"
                ),
                user=None,  # the SLA job
                organization=escalation.alliance.lead_organization,
            )
            recipients = rung_recipients(escalation.alliance, to_rung)
            context = {"escalation": escalation, "move": move, "alliance": escalation.alliance}
            for person in recipients:
                transaction.on_commit(
                    lambda person=person, context=context: send_templated(
                        to=[person.email],
                        template="escalation_moved",
                        context={**context, "person": person},
                    )
                )
        moves.append(move)
    return moves


# --- action items and risks -------------------------------------------------------------------


def _check_owner_side(item, field: str = "owner") -> None:
    owner = getattr(item, field)
    if owner is None:
        return
    if owner.alliance_id != item.alliance_id:
        raise ValidationError({field: "Choose a contact of this alliance."})
    if item.visibility == Visibility.INTERNAL:
        side = item.alliance.side_of(item.author_organization)
        if owner.side != side:
            raise ValidationError(
                {field: "An internal record can only be owned by someone of your own side."}
            )


@transaction.atomic
def action_save(
    *,
    action: ActionItem,
    user: User | None,
    allow_past_due: bool = False,
    today: date | None = None,
) -> ActionItem:
    today = today or timezone.localdate()
    if action.pk is None and action.due_on and action.due_on < today and not allow_past_due:
        raise ValidationError(
            {"due_on": "This date is in the past. If that is right, tick the box below it."}
        )
    _check_owner_side(action)
    if action.status == ActionStatus.DONE and action.completed_at is None:
        action.completed_at = timezone.now()
    elif action.status != ActionStatus.DONE:
        action.completed_at = None
    if action.pk is None:
        action.created_by = user
    action.full_clean()
    action.save()
    return action


def action_from_meeting(*, meeting: Meeting, **fields) -> ActionItem:
    return ActionItem(
        alliance=meeting.alliance, meeting=meeting, source=ActionSource.MEETING, **fields
    )


@transaction.atomic
def risk_save(*, risk: Risk, user: User, organization: Organization) -> Risk:
    creating = risk.pk is None
    _check_owner_side(risk)
    risk.full_clean()
    risk.save()
    _log(
        alliance=risk.alliance,
        subject="risk",
        obj=risk,
        summary=(
            f"{'Added' if creating else 'Changed'} risk “{risk.title}”: likelihood "
            f"{risk.likelihood}, impact {risk.impact} (score {risk.score}), "
            f"{risk.get_status_display().lower()}."
        ),
        user=user,
        organization=organization,
        visibility=risk.visibility,  # the history of an internal risk stays internal
    )
    return risk
