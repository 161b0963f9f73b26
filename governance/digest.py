"""The weekly action digest: one email per person listing their open actions.

A person is a lower-cased email: the same person may be a contact in several alliances, of
several organisations. The week's digest goes out on the first run on or after Monday
07:00 (``TIME_ZONE``) and covers the actions that were open and existed by then.
"""

import logging
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.core.mail import mailers
from django.db.models import Exists, OuterRef
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from alliances.mail import templated_message
from alliances.models import Alliance, Contact

from .models import OPEN_ACTION_STATUSES, ActionDigest, ActionItem

log = logging.getLogger(__name__)

DIGEST_WEEKDAY = 0  # Monday
DIGEST_TIME = time(7, 0)
# A claim left unsent this long belongs to a run that died; the next run may take it over.
STALE_CLAIM = timedelta(hours=1)


def digest_week(now: datetime) -> tuple[date, datetime] | None:
    """The Monday of the week whose digest is due at ``now`` and its send time, or None."""
    local = timezone.localtime(now)
    monday = local.date() - timedelta(days=local.weekday())
    due_at = timezone.make_aware(datetime.combine(monday, DIGEST_TIME))
    if now < due_at:
        return None
    return monday, due_at


@dataclass
class AllianceActions:
    alliance: Alliance
    link: str
    actions: list[ActionItem] = field(default_factory=list)

    @property
    def overdue_count(self) -> int:
        return sum(action.overdue for action in self.actions)


@dataclass
class Digest:
    email: str
    name: str
    groups: dict[int, AllianceActions] = field(default_factory=dict)

    @property
    def alliances(self) -> list[AllianceActions]:
        """Alliances with overdue actions first; in each, overdue actions first."""
        for group in self.groups.values():
            group.actions.sort(key=lambda a: (not a.overdue, a.due_on, a.pk))
        return sorted(
            self.groups.values(), key=lambda g: (not g.overdue_count, g.alliance.name.lower())
        )

    @property
    def action_count(self) -> int:
        return sum(len(group.actions) for group in self.groups.values())

    @property
    def overdue_count(self) -> int:
        return sum(group.overdue_count for group in self.groups.values())


def _alliance_link(alliance: Alliance, contact: Contact) -> str:
    organization = alliance.organization_of(contact.side)
    if organization is None:
        return ""
    return reverse("alliance_detail", args=[organization.slug, alliance.pk])


def digests_due(*, week_start: date, cutoff: datetime, today: date) -> dict[str, Digest]:
    """The open actions of everyone who has no digest (or claim) for this week yet, in one
    query, grouped by lower-cased owner email. Leaving out those already done keeps the
    runs after Monday's send cheap: beat ticks all week."""
    already = ActionDigest.objects.filter(
        week_start=week_start, email=Lower(OuterRef("owner__email"))
    )
    actions = (
        ActionItem.objects.filter(
            status__in=OPEN_ACTION_STATUSES,
            created_at__lte=cutoff,
            owner__is_active=True,
            alliance__archived_at__isnull=True,
        )
        .exclude(Exists(already))
        .select_related(
            "owner", "alliance", "alliance__lead_organization", "alliance__partner_organization"
        )
        .order_by("due_on", "pk")
    )
    digests: dict[str, Digest] = {}
    for action in actions:
        email = action.owner.email.strip().lower()
        action.overdue = action.due_on < today
        digest = digests.setdefault(email, Digest(email=email, name=action.owner.name))
        group = digest.groups.get(action.alliance_id)
        if group is None:
            link = _alliance_link(action.alliance, action.owner)
            group = digest.groups[action.alliance_id] = AllianceActions(action.alliance, link)
        group.actions.append(action)
    return digests


def action_digests_send(*, now: datetime) -> int:
    """Send this week's digest to everyone who has not had it; return how many were sent.

    Claim first, then send: the claims are inserted in one statement that skips rows the
    unique (email, week) constraint already holds, so two runs never email the same person
    twice in a week. A claim whose email could not be sent is released for the next run.
    """
    week = digest_week(now)
    if week is None:
        return 0
    week_start, due_at = week
    ActionDigest.objects.filter(
        week_start=week_start, sent_at__isnull=True, claimed_at__lt=now - STALE_CLAIM
    ).delete()
    digests = digests_due(week_start=week_start, cutoff=due_at, today=timezone.localdate(now))
    if not digests:
        return 0
    run = secrets.token_hex(16)
    ActionDigest.objects.bulk_create(
        [
            ActionDigest(email=email, week_start=week_start, claimed_at=now, claimed_by=run)
            for email in digests
        ],
        ignore_conflicts=True,
    )
    claimed = set(
        ActionDigest.objects.filter(week_start=week_start, claimed_by=run).values_list(
            "email", flat=True
        )
    )
    sent: list[str] = []
    failed: list[str] = []
    try:
        with mailers.default as connection:
            for email in sorted(claimed):
                digest = digests[email]
                message = templated_message(
                    to=[email],
                    template="action_digest",
                    context={"digest": digest, "week_start": week_start},
                )
                try:
                    connection.send_messages([message])
                except Exception:
                    log.exception("action digest to %s failed; it will be retried", email)
                    failed.append(email)
                    continue
                sent.append(email)
    finally:
        ActionDigest.objects.filter(week_start=week_start, email__in=sent).update(sent_at=now)
        unsent = claimed.difference(sent)
        if unsent:
            ActionDigest.objects.filter(
                week_start=week_start, claimed_by=run, email__in=unsent
            ).delete()
    if failed:
        raise RuntimeError(f"{len(failed)} action digest(s) could not be sent; will retry.")
    return len(sent)
