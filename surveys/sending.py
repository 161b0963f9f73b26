"""Sending invitation and reminder emails: batched, claimed, marked one by one.

Each invitation says when its next email is due (``next_email_at``): the invitation when the
round opens, then each reminder day, until the person answers or the round closes. A run
claims a batch of due invitations with a conditional UPDATE (a lease: other runs skip
them), writes a fresh link hash per email, sends the batch over one SMTP connection and
marks each invitation right after its own message was accepted. So a run killed mid-batch
leaves at most the message in flight unmarked (sent again once the lease ends), and two
runs never send the same email. A failed send backs off; an address the server refuses
for good is recorded on the contact and shown to the managers.
"""

import logging
import secrets
import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import mailers
from django.db.models import Q
from django.urls import reverse

from alliances.mail import templated_message
from alliances.models import Contact, ContactFunction, Side
from alliances.tokens import new_token

from .models import LinkPurpose, SurveyInvitation, SurveyLink
from .services import ROUND_SIZE

log = logging.getLogger(__name__)

BATCH_SIZE = 200
LEASE = timedelta(minutes=15)
# After a failed send: wait 2, 4, 8, 16, 32 minutes (EMAIL_RETRY_SECONDS doubling); then the
# address counts as failed. An unreachable server, or a lost connection for the messages not
# yet tried, counts against no address: they just wait BACKOFF_BASE.
BACKOFF_BASE = timedelta(seconds=settings.EMAIL_RETRY_SECONDS)
MAX_ATTEMPTS = 6
# A reminder never follows the previous email within this long.
MIN_GAP = timedelta(hours=20)


@dataclass
class SendResult:
    sent: int = 0
    failed: list[int] = field(default_factory=list)  # will be retried
    gave_up: list[int] = field(default_factory=list)  # failed for good
    more: bool = False  # the batch was full: more may be due
    retry_at: datetime | None = None  # when the first of ``failed`` is due again

    def retry_later(self, invitation_id: int, at: datetime) -> None:
        self.failed.append(invitation_id)
        self.retry_at = at if self.retry_at is None else min(self.retry_at, at)


def backoff(attempts: int) -> timedelta:
    return BACKOFF_BASE * 2 ** max(attempts - 1, 0)


def next_reminder_at(invitation: SurveyInvitation, *, now: datetime) -> datetime | None:
    """The next reminder after an email sent at ``now``, or None. Reminder days that
    passed while the invitation waited are skipped, not sent in a burst."""
    survey_round = invitation.round
    for day in sorted(survey_round.reminder_days):
        moment = survey_round.opens_at + timedelta(days=day)
        if moment > now:
            moment = max(moment, now + MIN_GAP)
            return moment if moment < survey_round.closes_at else None
    return None


def _due(now: datetime, round_ids=None):
    due = SurveyInvitation.objects.filter(
        next_email_at__lte=now,
        responded_on__isnull=True,
        failed_at__isnull=True,
        round__closed_at__isnull=True,
        round__closes_at__gt=now,
    ).filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    if round_ids:
        due = due.filter(round_id__in=round_ids)
    return due


def _claim(now: datetime, round_ids, batch_size: int) -> tuple[str, int]:
    run = secrets.token_hex(16)
    batch = list(
        _due(now, round_ids)
        .order_by("next_email_at", "pk")
        .values_list("pk", flat=True)[:batch_size]
    )
    if not batch:
        return run, 0
    # The conditions are repeated here: of two runs that read the same batch, the second's
    # UPDATE finds the rows leased, or already sent and released (next email not due),
    # and claims nothing.
    claimed = (
        SurveyInvitation.objects.filter(
            pk__in=batch,
            next_email_at__lte=now,
            responded_on__isnull=True,
            failed_at__isnull=True,
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + LEASE, claimed_by=run)
    )
    return run, claimed


def _asker(alliance, managers: dict) -> str:
    """Who asks, in the email: the lead's alliance manager, else the lead organisation."""
    manager = managers.get(alliance.pk)
    lead = alliance.lead_organization.name
    return f"{manager.name}, alliance manager at {lead}" if manager else f"The team at {lead}"


def _is_connection_lost(error: Exception) -> bool:
    """The connection to the server broke (as opposed to the server answering about this
    message). ``smtplib.SMTPException`` subclasses ``OSError``, so it is told apart."""
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return True
    return isinstance(error, OSError) and not isinstance(error, smtplib.SMTPException)


def _is_permanent(error: Exception) -> bool:
    """The server refused the recipient for good (5xx), as opposed to "try later" (4xx) or
    trouble with the connection or our own account, which say nothing about the address."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    return False


def survey_emails_send(
    *, now: datetime, round_ids=None, batch_size: int = BATCH_SIZE
) -> SendResult:
    """Send the invitation or reminder that is due for up to ``batch_size`` people."""
    result = SendResult()
    run, claimed = _claim(now, round_ids, batch_size)
    if not claimed:
        return result
    result.more = claimed >= batch_size
    invitations = list(
        SurveyInvitation.objects.filter(claimed_by=run, claimed_until=now + LEASE).select_related(
            "contact",
            "round__alliance__lead_organization",
            "round__alliance__partner_organization",
        )
    )
    # Whoever stopped taking part since the round opened gets nothing more.
    stopped = [
        i.pk
        for i in invitations
        if i.contact is None
        or not i.contact.is_active
        or not i.contact.takes_pulse
        or i.contact.pulse_unsubscribed_at
        or i.contact.email_failed_at
    ]
    if stopped:
        SurveyInvitation.objects.filter(pk__in=stopped).update(
            next_email_at=None, claimed_until=None
        )
    invitations = [i for i in invitations if i.pk not in set(stopped)]
    if not invitations:
        return result
    managers = {
        contact.alliance_id: contact
        for contact in Contact.objects.filter(
            alliance_id__in={i.round.alliance_id for i in invitations},
            side=Side.LEAD,
            function=ContactFunction.ALLIANCE_MANAGER,
            is_active=True,
        ).order_by("-pk")
    }
    tokens = {}
    links = []
    for invitation in invitations:
        token, token_hash = new_token()
        tokens[invitation.pk] = token
        purpose = LinkPurpose.INVITATION if invitation.sent_at is None else LinkPurpose.REMINDER
        links.append(
            SurveyLink(
                invitation=invitation, token_hash=token_hash, purpose=purpose, created_at=now
            )
        )
    SurveyLink.objects.bulk_create(links)

    try:
        connection = mailers.default
        connection.open()
    except Exception as error:
        log.warning("cannot reach the mail server (%s); survey emails will be retried", error)
        _postponed(invitations, error, now=now, result=result)
        return result
    try:
        for invitation in invitations:
            message = _message(
                invitation, tokens[invitation.pk], _asker(invitation.round.alliance, managers)
            )
            try:
                connection.send_messages([message])
            except Exception as error:
                _failed(invitation, error, now=now, result=result, permanent=_is_permanent(error))
                if _is_connection_lost(error):
                    # This message may be the cause, so it counts an attempt (a message that
                    # always breaks the line backs off and stops blocking the others); the
                    # rest of the batch was never tried and just waits.
                    rest = invitations[invitations.index(invitation) + 1 :]
                    _postponed(rest, error, now=now, result=result)
                    break
                continue
            _sent(invitation, now=now)
            result.sent += 1
    finally:
        try:
            connection.close()
        except Exception:
            log.warning("closing the mail connection failed", exc_info=True)
    return result


def _message(invitation: SurveyInvitation, token: str, asker: str):
    survey_round = invitation.round
    alliance = survey_round.alliance
    is_reminder = invitation.sent_at is not None
    link = settings.SITE_URL + reverse("survey_link", args=[token])
    unsubscribe = settings.SITE_URL + reverse("survey_unsubscribe", args=[token])
    return templated_message(
        to=[invitation.contact.email],
        template="pulse_reminder" if is_reminder else "pulse_invitation",
        context={
            "contact": invitation.contact,
            "alliance": alliance,
            "round": survey_round,
            "lead": alliance.party_name(Side.LEAD),
            "partner": alliance.party_name(Side.PARTNER),
            "side_name": alliance.party_name(invitation.side),
            "asker": asker,
            "link": link,
            "unsubscribe": unsubscribe,
            "question_count": ROUND_SIZE,
            "closes_at": survey_round.closes_at,
        },
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )


def _sent(invitation: SurveyInvitation, *, now: datetime) -> None:
    """Mark one invitation's email as sent: right after the server accepted it."""
    changes = {
        "last_emailed_at": now,
        "next_email_at": next_reminder_at(invitation, now=now),
        "attempts": 0,
        "last_error": "",
        "claimed_until": None,
    }
    if invitation.sent_at is None:
        changes["sent_at"] = now
    else:
        changes["reminders_sent"] = invitation.reminders_sent + 1
    SurveyInvitation.objects.filter(pk=invitation.pk).update(**changes)


def _failed(invitation, error: Exception, *, now: datetime, result: SendResult, permanent: bool):
    attempts = invitation.attempts + 1
    reason = f"{type(error).__name__}: {error}"[:300]
    if permanent or attempts >= MAX_ATTEMPTS:
        SurveyInvitation.objects.filter(pk=invitation.pk).update(
            attempts=attempts,
            last_error=reason,
            failed_at=now,
            next_email_at=None,
            claimed_until=None,
        )
        if invitation.contact_id:
            Contact.objects.filter(pk=invitation.contact_id).update(
                email_failed_at=now, email_failure=reason
            )
        result.gave_up.append(invitation.pk)
        log.warning("survey email to contact %s failed for good: %s", invitation.contact_id, reason)
    else:
        SurveyInvitation.objects.filter(pk=invitation.pk).update(
            attempts=attempts,
            last_error=reason,
            next_email_at=now + backoff(attempts),
            claimed_until=None,
        )
        result.retry_later(invitation.pk, now + backoff(attempts))


def _postponed(invitations, error: Exception, *, now: datetime, result: SendResult):
    """The mail server could not be reached or dropped the line: try these again shortly,
    in one statement. Not counted as an attempt, since it says nothing about the address;
    however long the outage, nobody's address is marked failed for it (the round's close
    ends the tries)."""
    if not invitations:
        return
    SurveyInvitation.objects.filter(pk__in=[i.pk for i in invitations]).update(
        last_error=f"{type(error).__name__}: {error}"[:300],
        next_email_at=now + BACKOFF_BASE,
        claimed_until=None,
    )
    for invitation in invitations:
        result.retry_later(invitation.pk, now + BACKOFF_BASE)
