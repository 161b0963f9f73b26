"""Webhooks: events written in the caller's transaction, signed, POSTed by Celery, retried.

An event (``emit``) becomes one ``WebhookDelivery`` per active endpoint of either party
organisation that subscribed to it, inserted in the same transaction as the change it
reports (so a rolled-back change sends nothing) and enqueued when that transaction commits.
Event ids are derived from what the event is about (the alert, the transition, the round),
so an event emitted twice is delivered once per endpoint (a unique constraint).

Payloads carry only what both parties of the alliance see alike: the alliance's id and
name, the alert's metric, colour, reason and status, the stage moved from and to, the
round's period and response rate. Never notes, internal records or who did what.

Verifying a delivery (the receiver's side)
------------------------------------------
Each POST has a JSON body and the headers ``Concord-Event`` (the event type),
``Concord-Delivery`` (the delivery's id, as in the delivery log) and::

    Concord-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>

Take ``t`` and ``v1`` from the header, compute HMAC-SHA256 with the endpoint's secret as
the key over the bytes ``t``, ``.`` and the raw request body (before parsing the JSON),
compare it with ``v1`` in constant time (``hmac.compare_digest``), and refuse a ``t`` more
than five minutes away from your clock (a replay). The body's ``id`` is the event id: the
same event can arrive more than once (a retry after a timeout), so skip ids already seen.

Delivery
--------
A worker claims a delivery with a conditional UPDATE (``pending`` and due →
``delivering``, one row or none), so two workers never send the same one; while it sends,
``next_attempt_at`` is its lease. A 2xx answer is a success. Anything else (another
status, a timeout, a refused connection, a redirect) is retried after 1, 5, 30, 120 and
360 minutes: ``MAX_ATTEMPTS`` in all over about nine hours, then the delivery has failed.
A retry is handed to Celery with a countdown only while that stays well below the broker's
visibility timeout; later ones wait for the sweeper. An endpoint whose deliveries failed
``DISABLE_AFTER`` times in a row (each after all its retries, so an outage shorter than
the retry window never counts) is disabled and the organisation's admins get one email.

The sweeper (a periodic job) hands stale leases (a worker that died mid-send) back, and
enqueues whatever is due and was not picked up (an enqueue lost with the broker down):
the claim makes a second enqueue harmless.
"""

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .audit import audit_record
from .mail import send_templated
from .models import (
    Alliance,
    AuditAction,
    DeliveryStatus,
    Membership,
    Role,
    Stage,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

log = logging.getLogger(__name__)

PING = "ping"  # the test event an admin sends from the settings page; not subscribable
USER_AGENT = "Concord-Webhooks/1"
TIMEOUT_SECONDS = 10
# Waits before the 2nd, 3rd, … attempt.
BACKOFF = [timedelta(minutes=m) for m in (1, 5, 30, 120, 360)]
MAX_ATTEMPTS = len(BACKOFF) + 1
DISABLE_AFTER = 5  # deliveries failed for good in a row
LEASE = timedelta(minutes=5)  # far above TIMEOUT_SECONDS: only a dead worker outlives it
SWEEP_GRACE = timedelta(minutes=1)  # a due delivery's own enqueue gets this long first
SWEEP_BATCH = 500
ERROR_MAX = 300
# Deterministic event ids: uuid5 of "<event>:<subject>" in this namespace.
EVENT_NAMESPACE = uuid.UUID("4f0c2a9e-7d1b-5c4e-9a63-0b8d2e6f1c57")


# --- settings -----------------------------------------------------------------------------


def allow_http() -> bool:
    """Plain-HTTP endpoints, for local development and the test suite only."""
    return settings.WEBHOOKS_ALLOW_HTTP


def allow_private() -> bool:
    """Endpoints on loopback or private networks, for local development and tests only:
    otherwise an admin could make the server probe its own network."""
    return settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS


def max_countdown() -> float:
    """The longest Celery countdown for a retry: half the broker's visibility timeout (a
    message waiting longer would be handed to a second worker), and at most 15 minutes."""
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
    return min(15 * 60, options.get("visibility_timeout", 60 * 60) / 2)


# --- endpoints ----------------------------------------------------------------------------


def _is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return not ip.is_global or ip.is_multicast


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a webhook endpoint, in words; None when it can."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "Enter a valid URL, e.g. https://example.com/hooks/concord."
    allowed = ("https", "http") if allow_http() else ("https",)
    if parts.scheme not in allowed:
        return "Use an https:// URL." if not allow_http() else "Use an http(s):// URL."
    if not parts.hostname:
        return "The URL needs a host name."
    if parts.username is not None or parts.password is not None:
        return "Leave credentials out of the URL; verify requests with the signature instead."
    if parts.fragment:
        return "Leave out the #fragment; it is never sent."
    if port is not None and port == 0:
        return "Enter a valid port."
    if not allow_private():
        host = parts.hostname
        try:
            private = _is_private(host)
        except ValueError:  # a name, not an address
            private = host == "localhost" or host.endswith((".localhost", ".local", ".internal"))
        if private:
            return "Use a public address: Concord does not send to private networks."
    return None


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def endpoint_save(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Create or update an endpoint; a new one gets its signing secret."""
    problem = url_problem(endpoint.url)
    if problem:
        raise ValidationError({"url": [problem]})
    unknown = sorted(set(endpoint.events) - set(WebhookEvent.values))
    if unknown or not endpoint.events:
        raise ValidationError({"events": ["Choose at least one of the listed events."]})
    if not endpoint.secret:
        endpoint.secret = new_secret()
    created = endpoint.pk is None
    endpoint.save()
    if created:
        audit_record(
            organizations=[endpoint.organization_id],
            action=AuditAction.WEBHOOK_CREATED,
            summary=f"Webhook to {endpoint.url} created for {', '.join(endpoint.events)}.",
            target=f"webhook {endpoint.pk}",
        )
    return endpoint


def endpoint_enable(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Enable a disabled endpoint again, with a clean slate. Deliveries still pending
    resume; those that failed stay failed."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(disabled_at=None, consecutive_failures=0)
    endpoint.refresh_from_db()
    return endpoint


def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    audit_record(
        organizations=[endpoint.organization_id],
        action=AuditAction.WEBHOOK_DELETED,
        summary=f"Webhook to {endpoint.url} deleted.",
        target=f"webhook {endpoint.pk}",
    )
    endpoint.delete()  # its deliveries and their log go with it


def endpoint_ping(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a ``ping`` to one endpoint: tried once, never counted against the endpoint."""
    event_id = uuid.uuid4()
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=PING,
        event_id=event_id,
        payload=_envelope(
            PING,
            event_id,
            endpoint,
            {"message": "A test event from Concord: your endpoint is reachable."},
        ),
    )
    _enqueue_on_commit([event_id])
    return delivery


def _attempts_allowed(event: str) -> int:
    return 1 if event == PING else MAX_ATTEMPTS


# --- emitting -----------------------------------------------------------------------------


def _envelope(event: str, event_id, endpoint: WebhookEndpoint, data: dict) -> dict:
    return {
        "id": str(event_id),
        "type": event,
        "created_at": timezone.now().isoformat(),
        "organization": endpoint.organization.slug,
        "data": data,
    }


def _alliance(alliance: Alliance) -> dict:
    return {"id": alliance.pk, "name": alliance.name}


def _when(value) -> str | None:
    return value.isoformat() if value is not None else None


def emit_many(event: str, items: list[tuple[Alliance, str | int, dict]]) -> int:
    """Queue ``event`` for each (alliance, subject, data): one delivery per active,
    subscribed endpoint of either party, in one query for the endpoints and one insert,
    enqueued on commit. ``subject`` names what the event is about (its event id derives
    from it). Returns how many deliveries were written."""
    if not items:
        return 0
    parties = {
        org_id
        for alliance, _, _ in items
        for org_id in (alliance.lead_organization_id, alliance.partner_organization_id)
        if org_id
    }
    subscribed: dict[int, list[WebhookEndpoint]] = {}
    for endpoint in WebhookEndpoint.objects.filter(
        organization_id__in=parties, disabled_at__isnull=True
    ).select_related("organization"):
        if event in endpoint.events:
            subscribed.setdefault(endpoint.organization_id, []).append(endpoint)
    if not subscribed:
        return 0
    rows, event_ids = [], []
    for alliance, subject, data in items:
        event_id = uuid.uuid5(EVENT_NAMESPACE, f"{event}:{subject}")
        event_ids.append(event_id)
        for org_id in {alliance.lead_organization_id, alliance.partner_organization_id}:
            for endpoint in subscribed.get(org_id, []):
                rows.append(
                    WebhookDelivery(
                        endpoint=endpoint,
                        event=event,
                        event_id=event_id,
                        payload=_envelope(event, event_id, endpoint, data),
                    )
                )
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    _enqueue_on_commit(event_ids)
    return len(rows)


def emit(event: str, *, alliance: Alliance, subject: str | int, data: dict) -> int:
    return emit_many(event, [(alliance, subject, data)])


def _enqueue_on_commit(event_ids) -> None:
    def enqueue():
        from .tasks import deliver_webhook

        for pk in WebhookDelivery.objects.filter(
            event_id__in=event_ids, status=DeliveryStatus.PENDING
        ).values_list("pk", flat=True):
            deliver_webhook.delay(pk)

    # robust: a broker outage must not fail the request that made the change; the
    # sweeper sends what was not enqueued.
    transaction.on_commit(enqueue, robust=True)


def _alert_data(alert) -> dict:
    return {
        "alliance": _alliance(alert.alliance),
        "alert": {
            "id": alert.pk,
            "kind": alert.kind,
            "metric": alert.metric,
            "metric_label": alert.get_metric_display(),
            "color": alert.to_color,
            "previous_color": alert.from_color or None,
            "score": alert.score,
            "reason": alert.reason,
            "status": alert.status,
            "period_start": _when(alert.period_start),
            "raised_at": _when(alert.raised_at),
            "resolved_at": _when(alert.resolved_at),
        },
    }


def alert_raised(alert) -> int:
    return emit(
        WebhookEvent.ALERT_RAISED,
        alliance=alert.alliance,
        subject=alert.pk,
        data=_alert_data(alert),
    )


def alert_resolved(alert) -> int:
    return emit(
        WebhookEvent.ALERT_RESOLVED,
        alliance=alert.alliance,
        subject=alert.pk,
        data=_alert_data(alert),
    )


def stage_changed(transition) -> int:
    def stage(value):
        return {"value": value, "label": Stage(value).label} if value else None

    data = {
        "alliance": _alliance(transition.alliance),
        "transition": {
            "id": transition.pk,
            "from_stage": stage(transition.from_stage),
            "to_stage": stage(transition.to_stage),
            "outcome": transition.outcome or None,
            "at": _when(transition.at),
        },
    }
    return emit(
        WebhookEvent.STAGE_CHANGED, alliance=transition.alliance, subject=transition.pk, data=data
    )


def rounds_closed(*, round_ids) -> int:
    """``round.closed`` for each of ``round_ids``, with its overall response rate."""
    from surveys.models import SurveyRound
    from surveys.selectors import rate, with_counts

    rounds = with_counts(SurveyRound.objects.filter(pk__in=round_ids)).select_related("alliance")
    items = [
        (
            r.alliance,
            r.pk,
            {
                "alliance": _alliance(r.alliance),
                "round": {
                    "id": r.pk,
                    "label": r.label,
                    "kind": r.kind,
                    "period_start": _when(r.period_start),
                    "period_end": _when(r.period_end),
                    "closed_at": _when(r.closed_at or r.closes_at),
                    "response_rate": rate(r.responded, r.invited),
                },
            },
        )
        for r in rounds.order_by("pk")
    ]
    return emit_many(WebhookEvent.ROUND_CLOSED, items)


# --- signing and sending ------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Concord-Signature`` header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 3xx is the answer, and not a success


_opener = urllib.request.build_opener(_NoRedirects)


def _post(url: str, body: bytes, headers: dict) -> tuple[int | None, str]:
    """POST and return (status code, error in words); the code is None when no answer."""
    problem = url_problem(url)  # again: settings change, rows can be edited elsewhere
    if problem:
        return None, problem
    if not allow_private():
        host = urlsplit(url).hostname or ""
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
        except OSError as error:
            return None, f"Could not resolve {host}: {error}"
        if any(_is_private(address) for address in addresses):
            return None, f"{host} resolves to a private address; Concord does not send there."
    # The scheme is https (or http where allowed): checked just above.
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, f"HTTP {error.code} {error.reason}"
    except urllib.error.URLError as error:
        return None, str(error.reason)
    except (TimeoutError, OSError, ValueError, http.client.HTTPException) as error:
        return None, str(error) or type(error).__name__


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> str:
    """Claim one due delivery and send it once; record the answer and what happens next.
    Returns what happened: "sent", "retry", "failed" or "skipped" (not claimable)."""
    now = now or timezone.now()
    delivery = (
        WebhookDelivery.objects.select_related("endpoint__organization")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None or not delivery.endpoint.is_active:
        return "skipped"
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id,
        status=DeliveryStatus.PENDING,
        next_attempt_at__lte=now,
        attempts=delivery.attempts,  # unchanged since read: the attempt number below holds
        attempts__lt=_attempts_allowed(delivery.event),
    ).update(
        status=DeliveryStatus.DELIVERING, attempts=F("attempts") + 1, next_attempt_at=now + LEASE
    )
    if not claimed:
        return "skipped"
    attempt = delivery.attempts + 1
    endpoint = delivery.endpoint
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Concord-Event": delivery.event,
        "Concord-Delivery": str(delivery.pk),
        "Concord-Signature": sign(endpoint.secret, int(time.time()), body),
    }
    code, error = _post(endpoint.url, body, headers)
    mine = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=DeliveryStatus.DELIVERING, attempts=attempt
    )  # fenced: a lease that ran out was handed to another worker
    if code is not None and 200 <= code < 300:
        if mine.update(
            status=DeliveryStatus.SUCCEEDED, last_status_code=code, last_error="", delivered_at=now
        ):
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=0)
        return "sent"
    error = (error or f"HTTP {code}")[:ERROR_MAX]
    last_try = attempt >= _attempts_allowed(delivery.event)
    if last_try:
        failed = mine.update(status=DeliveryStatus.FAILED, last_status_code=code, last_error=error)
        if failed and delivery.event != PING:
            _count_failure(endpoint, now=now)
        return "failed"
    due = now + BACKOFF[attempt - 1]
    if mine.update(
        status=DeliveryStatus.PENDING, last_status_code=code, last_error=error, next_attempt_at=due
    ):
        wait = (due - now).total_seconds()
        if wait <= max_countdown():
            from .tasks import deliver_webhook

            try:
                deliver_webhook.apply_async((delivery.pk,), countdown=wait)
            except Exception:  # the broker is down: the sweeper enqueues it when due
                log.warning("could not enqueue the retry of webhook delivery %s", delivery.pk)
    return "retry"


def _count_failure(endpoint: WebhookEndpoint, *, now: datetime) -> None:
    """One more delivery failed for good; at ``DISABLE_AFTER`` in a row the endpoint is
    disabled, and only the run whose conditional update disables it emails the admins."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        consecutive_failures=F("consecutive_failures") + 1
    )
    disabled = WebhookEndpoint.objects.filter(
        pk=endpoint.pk, disabled_at__isnull=True, consecutive_failures__gte=DISABLE_AFTER
    ).update(disabled_at=now)
    if disabled:
        endpoint.refresh_from_db()
        _tell_admins(endpoint)


def _tell_admins(endpoint: WebhookEndpoint) -> None:
    admins = Membership.objects.filter(
        organization=endpoint.organization, role=Role.ADMIN, user__is_active=True
    ).select_related("user")
    last = endpoint.deliveries.exclude(last_error="").order_by("-created_at", "-pk").first()
    for membership in admins:
        try:
            send_templated(
                to=[membership.user.email],
                template="webhook_disabled",
                context={
                    "person": membership.user,
                    "endpoint": endpoint,
                    "organization": endpoint.organization,
                    "failures": DISABLE_AFTER,
                    "last_error": last.last_error if last else "",
                },
            )
        except Exception:  # the page shows the endpoint as disabled all the same
            log.exception("could not email %s that a webhook was disabled", membership.user)


# --- the sweeper --------------------------------------------------------------------------


def deliveries_sweep(*, now: datetime) -> int:
    """Hand back leases that ran out (a worker died mid-send: that attempt counts) and
    enqueue due deliveries nobody picked up. Returns how many were enqueued. Running it
    twice sends nothing twice: each send starts with the claim."""
    from .tasks import deliver_webhook

    stale = WebhookDelivery.objects.filter(
        status=DeliveryStatus.DELIVERING, next_attempt_at__lte=now
    ).select_related("endpoint__organization")
    for delivery in stale:
        mine = WebhookDelivery.objects.filter(
            pk=delivery.pk, status=DeliveryStatus.DELIVERING, attempts=delivery.attempts
        )
        if delivery.attempts < _attempts_allowed(delivery.event):
            mine.update(status=DeliveryStatus.PENDING, last_error="The attempt did not finish.")
        elif (
            mine.update(status=DeliveryStatus.FAILED, last_error="The last attempt did not finish.")
            and delivery.event != PING
        ):
            _count_failure(delivery.endpoint, now=now)
    due = list(
        WebhookDelivery.objects.filter(
            status=DeliveryStatus.PENDING,
            next_attempt_at__lte=now - SWEEP_GRACE,
            endpoint__disabled_at__isnull=True,
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for pk in due:
        # Dropped if nobody takes it within a minute: the next sweep enqueues it again.
        deliver_webhook.apply_async((pk,), expires=60)
    return len(due)
