"""The audit log: security-relevant events, recorded by the services that cause them.

``audit_record`` names who did it and from which address from the request being served,
which ``AuditContextMiddleware`` makes known for its duration, so a service records an event
in one line without every caller passing the request down. Outside a request (jobs,
commands) the actor is whoever the service was told, or nobody: Concord itself.

Sign-ins are recorded from Django's ``user_logged_in`` and ``user_login_failed`` signals,
which every way of signing in sends, in each organisation the person belongs to. A failed
sign-in for an address that is nobody's goes to the log only: no organisation owns it.
"""

import ipaddress
import logging
from collections.abc import Iterable
from contextvars import ContextVar

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from .models import AuditAction, AuditEvent, Membership, Organization, User
from .ratelimit import client_ip

log = logging.getLogger("concord.audit")

_current_request = ContextVar("audit_request", default=None)


class AuditContextMiddleware:
    """Makes the request being served known to ``audit_record``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)


def _ip(request) -> str | None:
    address = client_ip(request) if request is not None else ""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def audit_record(
    *,
    organizations: Iterable[Organization | int | None],
    action: AuditAction,
    summary: str,
    target: str = "",
    actor: User | None = None,
    actor_email: str = "",
    request=None,
) -> list[AuditEvent]:
    """Append one event to the log of each of ``organizations`` (ids or rows; None is
    skipped). ``actor`` and ``request`` default to the signed-in user and the request being
    served; an API call's user is its token's."""
    request = request if request is not None else _current_request.get()
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        actor = user if getattr(user, "is_authenticated", False) else None
    ids = dict.fromkeys(getattr(o, "pk", o) for o in organizations if o is not None)
    events = [
        AuditEvent(
            organization_id=organization_id,
            action=action,
            summary=summary,
            target=target[:200],
            actor=actor,
            actor_email=actor.email if actor is not None else actor_email,
            ip=_ip(request),
        )
        for organization_id in ids
    ]
    return AuditEvent.objects.bulk_create(events)


def _organizations_of(user) -> list[int]:
    return list(Membership.objects.filter(user=user).values_list("organization_id", flat=True))


@receiver(user_logged_in, dispatch_uid="audit_login")
def _record_login(sender, request, user, **kwargs):
    audit_record(
        organizations=_organizations_of(user),
        action=AuditAction.LOGIN,
        summary=f"{user.email} signed in.",
        target=f"user {user.pk}",
        actor=user,
        request=request,
    )


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def _record_login_failed(sender, credentials, request=None, **kwargs):
    email = str(credentials.get(User.USERNAME_FIELD) or credentials.get("username") or "")
    user = User.objects.filter(email__iexact=email.strip()).first() if email.strip() else None
    log.warning(
        "failed sign-in for %r from %s (%s)",
        email[:254],
        _ip(request) or "unknown address",
        "a known account" if user is not None else "no such account",
    )
    if user is None:
        return
    audit_record(
        organizations=_organizations_of(user),
        action=AuditAction.LOGIN_FAILED,
        summary=f"A sign-in as {user.email} failed.",
        target=f"user {user.pk}",
        actor_email=user.email,
        request=request,
    )
