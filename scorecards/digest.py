"""The steering digest: the one-pager's substance, emailed to each alliance's steering members
once per round, after the round has closed and been lit.

Who: the active members (and chair) of the alliance's executive steering bodies, of both
sides; one email per lower-cased address per alliance and round. Addresses the mail server
refused for good are skipped. What: the one-pager read through ``SharedScope``, so it holds
only what both parties see; each recipient's link goes to their own organisation's one-pager
(none for a partner that has not joined). When: the first run after the threshold check has
lit the alliance's latest round (``AllianceHealth.round``), as long as that round closed at
most ``DIGEST_WINDOW`` ago.
"""

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.mail import mailers
from django.db.models import Exists, OuterRef
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from alliances.mail import templated_message
from alliances.models import Alliance, Contact, Outcome
from alliances.tenancy import SharedScope
from governance.models import GovernanceBody, Tier
from surveys.models import SurveyRound

from .dashboards import OnePager, one_pager
from .models import AllianceHealth, SteeringDigest

log = logging.getLogger(__name__)

# A round's digest goes out up to this long after the round closed. Rounds close at most
# monthly, so this covers a scheduler that was down for a while and a steering member added
# a week or two after the round, while a new deployment (or a job replayed with a late
# ``--now``) never emails anyone about a round whose news is weeks old.
DIGEST_WINDOW = timedelta(days=20)
# A claim left unsent this long belongs to a run that died; the next run may take it over.
STALE_CLAIM = timedelta(hours=1)


@dataclass
class AllianceDigest:
    """One alliance's lit round and the steering members who have not had its digest yet."""

    alliance: Alliance
    round: SurveyRound
    recipients: dict[str, Contact] = field(default_factory=dict)  # by lower-cased email


def one_pager_link(alliance: Alliance, contact: Contact) -> str:
    """The one-pager of the contact's own organisation, or "" if it has not joined."""
    organization = alliance.organization_of(contact.side)
    if organization is None:
        return ""
    return reverse("alliance_detail", args=[organization.slug, alliance.pk])


def steering_digests_due(*, now: datetime) -> list[AllianceDigest]:
    """Alliances whose latest lit round closed within ``DIGEST_WINDOW``, each with the
    steering members who have no digest (or claim) for that round yet: two queries however
    many alliances and people. Leaving out those already done keeps the ticks after the send
    cheap."""
    lit = (
        AllianceHealth.objects.filter(
            round__closed_at__gt=now - DIGEST_WINDOW,
            round__closed_at__lte=now,
            alliance__archived_at__isnull=True,
        )
        .exclude(alliance__outcome=Outcome.EXITED)
        .select_related(
            "round", "alliance", "alliance__lead_organization", "alliance__partner_organization"
        )
        .order_by("alliance_id")
    )
    due = {health.alliance_id: AllianceDigest(health.alliance, health.round) for health in lit}
    if not due:
        return []
    steering = GovernanceBody.objects.filter(tier=Tier.EXECUTIVE_STEERING)
    already = SteeringDigest.objects.filter(
        round_id__in=[item.round.pk for item in due.values()],
        alliance_id=OuterRef("alliance_id"),
        email=Lower(OuterRef("email")),
    )
    people = (
        Contact.objects.filter(alliance_id__in=due, is_active=True, email_failed_at__isnull=True)
        .filter(
            Exists(steering.filter(members=OuterRef("pk")))
            | Exists(steering.filter(chair=OuterRef("pk")))
        )
        .exclude(Exists(already))
        .order_by("side", "name", "pk")
    )
    for contact in people:
        due[contact.alliance_id].recipients.setdefault(contact.email.strip().lower(), contact)
    return [item for item in due.values() if item.recipients]


def steering_digests(*, now: datetime) -> int:
    """Send each due round's digest to every steering member who has not had it; return how
    many were sent.

    Claim first, then send: the claims go in with one insert that skips the rows the unique
    (round, email) constraint already holds, so two runs never email a person twice about a
    round. Each claim is marked sent right after its own message was accepted, so a run that
    dies halfway leaves the rest for the next run (its claims are taken over once stale) and
    re-sends nobody who was marked. A claim whose email could not be sent is released at
    once, for the next run.
    """
    SteeringDigest.objects.filter(sent_at__isnull=True, claimed_at__lt=now - STALE_CLAIM).delete()
    due = steering_digests_due(now=now)
    if not due:
        return 0
    run = secrets.token_hex(16)
    SteeringDigest.objects.bulk_create(
        [
            SteeringDigest(
                alliance=item.alliance,
                round=item.round,
                email=email,
                claimed_at=now,
                claimed_by=run,
            )
            for item in due
            for email in item.recipients
        ],
        ignore_conflicts=True,
    )
    claimed = set(SteeringDigest.objects.filter(claimed_by=run).values_list("round_id", "email"))
    today = timezone.localdate(now)
    sent = failed = 0
    try:
        with mailers.default as connection:
            for item in due:
                mine = {
                    email: contact
                    for email, contact in item.recipients.items()
                    if (item.round.pk, email) in claimed
                }
                if not mine:
                    continue
                try:
                    page = one_pager(
                        scope=SharedScope(item.alliance), alliance=item.alliance, today=today
                    )
                except Exception:
                    log.exception("steering digest of %s failed; it will be retried", item.round)
                    failed += len(mine)
                    continue
                if page.latest is None or page.latest.round_id != item.round.pk or not page.lit:
                    continue  # a newer round is being scored: its digest follows instead
                for email, contact in mine.items():
                    if _send(connection, item, page, email, contact, run=run, now=now):
                        sent += 1
                    else:
                        failed += 1
    finally:
        SteeringDigest.objects.filter(claimed_by=run, sent_at__isnull=True).delete()
    if failed:
        raise RuntimeError(f"{failed} steering digest(s) could not be sent; will retry.")
    return sent


def _send(connection, item: AllianceDigest, page: OnePager, email, contact, *, run, now) -> bool:
    try:
        message = templated_message(
            to=[email],
            template="steering_digest",
            context={
                "page": page,
                "alliance": item.alliance,
                "round": item.round,
                "person": contact,
                "link": one_pager_link(item.alliance, contact),
            },
        )
        connection.send_messages([message])
    except Exception:
        log.exception("steering digest to %s failed; it will be retried", email)
        return False
    SteeringDigest.objects.filter(round=item.round, email=email, claimed_by=run).update(sent_at=now)
    return True
