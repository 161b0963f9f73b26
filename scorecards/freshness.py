"""Dashboards rendered once and served from a cache until something they show changes.

Every alliance and every organisation has a *version token* in the ``dashboards`` cache. A
row people edit that a dashboard shows, saved or deleted, replaces the tokens of its alliance
and of both its parties (``watched_models``); what jobs and services write in bulk or by
UPDATE (the threshold check's lights, snapshot and alerts, scoring, KPI values, acknowledging
and resolving alerts) calls ``changed`` itself. Tokens are replaced after the transaction
commits, so a page rendered from the old rows while it ran is cached under the old token and
never served again. A page's key holds the tokens it depends on, the day (what is overdue
changes at midnight), the code that renders it (``code_version``: a new release renders
afresh), and who is looking: their organisation (its internal items), whether
they may act (the buttons) and their CSRF secret (the page carries forms).

A lost token (evicted, or a cache restart) only means a new one and a fresh render. A cache
that is down means no caching, never an error: ``dashboards`` reads and writes fail soft.
"""

import functools
import hashlib
import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.db.models import Q
from django.db.models.signals import post_delete, post_save

log = logging.getLogger(__name__)

# How long a rendered page may sit unused in the cache; changes never wait for this.
PAGE_TIMEOUT = 24 * 3600


def _cache():
    return caches["dashboards"]


def _token_key(kind: str, pk: int) -> str:
    return f"token:{kind}:{pk}"


# What changed in this thread's transaction, not yet flushed: a transaction that writes a
# thousand rows replaces each token once, with one query.
_pending = threading.local()


def changed(*, alliances: Iterable[int] = (), organizations: Iterable[int] = ()) -> None:
    """What these alliances' and organisations' dashboards show has changed: replace their
    tokens once the current transaction commits (at once outside one). An alliance's
    parties' tokens go too, since their portfolios list it."""
    alliance_ids = {pk for pk in alliances if pk}
    organization_ids = {pk for pk in organizations if pk}
    if not (alliance_ids or organization_ids):
        return
    if not hasattr(_pending, "alliances"):
        _pending.alliances, _pending.organizations = set(), set()
    _pending.alliances |= alliance_ids
    _pending.organizations |= organization_ids
    # Each call registers a flush; the first to run after the commit takes everything. After
    # a rollback what was pending is flushed by the next commit: a harmless extra render.
    after_commit(_flush)


def after_commit(flush: Callable[[], None]) -> None:
    """Run ``flush`` once the current transaction commits. (The test suite, whose tests run
    in one transaction that never commits, has it run at once instead.)"""
    transaction.on_commit(flush, robust=True)


def _flush() -> None:
    alliance_ids = getattr(_pending, "alliances", set())
    organization_ids = getattr(_pending, "organizations", set())
    _pending.alliances, _pending.organizations = set(), set()
    if alliance_ids or organization_ids:
        _replace(alliance_ids, organization_ids)


def _replace(alliance_ids: set[int], organization_ids: set[int]) -> None:
    from alliances.models import Alliance

    for lead, partner in Alliance.objects.filter(pk__in=alliance_ids).values_list(
        "lead_organization_id", "partner_organization_id"
    ):
        organization_ids |= {lead, partner} - {None}
    tokens = {_token_key("alliance", pk): uuid.uuid4().hex for pk in alliance_ids}
    tokens |= {_token_key("organization", pk): uuid.uuid4().hex for pk in organization_ids}
    try:
        _cache().set_many(tokens, timeout=None)
    except Exception:  # the next render may be stale only if the cache came back unflushed
        log.exception("dashboards: could not replace %d version tokens", len(tokens))


@functools.cache
def code_version() -> str:
    """A digest of the code, templates and static files that render a page: a new release
    never serves a page (or links to static files) cached by the one before. Read once per
    process; the same for every process of one release."""
    digest = hashlib.sha256()
    root = Path(settings.BASE_DIR)
    for folder in ("alliances", "config", "governance", "scorecards", "surveys", "templates",
                   "static"):  # fmt: skip
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and path.suffix in {".py", ".html", ".txt", ".css", ".js"}:
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _tokens(keys: list[str]) -> list[str]:
    found = _cache().get_many(keys)
    missing = {key: uuid.uuid4().hex for key in keys if key not in found}
    if missing:
        _cache().set_many(missing, timeout=None)
    return [found.get(key) or missing[key] for key in keys]


def version_tag(*, organization_id: int, alliance_id: int | None = None) -> str | None:
    """A tag that changes whenever what the organisation (and the alliance) shows changes, or
    the code does: the API's ETags. None when the cache cannot be reached."""
    kinds = [("organization", organization_id)] + (
        [("alliance", alliance_id)] if alliance_id else []
    )
    try:
        tokens = _tokens([_token_key(kind, pk) for kind, pk in kinds])
    except Exception:
        log.exception("dashboards: cache unavailable, no version tag")
        return None
    return hashlib.sha256(repr([code_version(), tokens]).encode()).hexdigest()[:32]


def page_key(request, name: str, *, alliance_id: int | None, organization_id: int, **parts):
    """The cache key of one rendering of a dashboard page for this viewer; None (render, do
    not cache) when the cache cannot be reached, or when the request brings no CSRF cookie:
    the page's forms would carry a token for a secret the viewer does not have yet."""
    if not request.META.get("CSRF_COOKIE"):
        return None
    kinds = [("organization", organization_id)] + (
        [("alliance", alliance_id)] if alliance_id else []
    )
    try:
        tokens = _tokens([_token_key(kind, pk) for kind, pk in kinds])
    except Exception:
        log.exception("dashboards: cache unavailable, rendering without it")
        return None
    viewer = [request.user.pk, request.META["CSRF_COOKIE"]]
    raw = repr([name, code_version(), tokens, viewer, sorted(parts.items())])
    return f"page:{name}:{hashlib.sha256(raw.encode()).hexdigest()}"


def cached_page(key: str | None, render: Callable[[], str]) -> str:
    """The page under ``key``, rendered (and stored) if it is not there. A cache that fails
    (or no key, because it failed already) is skipped: the page is rendered afresh."""
    if key is None:
        return render()
    try:
        html = _cache().get(key)
    except Exception:
        log.exception("dashboards: cache unavailable, rendering without it")
        return render()
    if html is None:
        html = render()
        try:
            _cache().set(key, html, timeout=PAGE_TIMEOUT)
        except Exception:
            log.exception("dashboards: could not cache a page")
    return html


# --- what the dashboards show: its saves and deletes replace the tokens ---------------------


def _alliance_of(instance) -> int | None:
    if getattr(instance, "alliance_id", None):
        return instance.alliance_id
    for parent in ("kpi", "review"):  # a KPI value, a part of a health review
        if getattr(instance, f"{parent}_id", None):
            return getattr(instance, parent).alliance_id
    return None


def _row_changed(sender, instance, **kwargs) -> None:
    from alliances.models import Alliance, Organization

    if isinstance(instance, Alliance):
        changed(
            alliances=[instance.pk],
            organizations=[instance.lead_organization_id, instance.partner_organization_id],
        )
    elif isinstance(instance, Organization):  # its name is on its alliances' pages
        changed(
            alliances=Alliance.objects.filter(
                Q(lead_organization=instance) | Q(partner_organization=instance)
            ).values_list("pk", flat=True),
            organizations=[instance.pk],
        )
    elif getattr(instance, "alliance_id", None) is None and hasattr(instance, "organization_id"):
        changed(organizations=[instance.organization_id])  # e.g. an organisation's threshold
    else:
        changed(alliances=[_alliance_of(instance)])


def watched_models() -> list:
    """The rows people edit one at a time that a dashboard shows. Rows that jobs write in bulk
    (lights, scores, the health snapshot, alerts, KPI values) are not watched: a receiver
    would cost a query per row of a bulk delete, and their writers call ``changed`` once."""
    from alliances.models import Alliance as AllianceModel
    from alliances.models import AllianceGateCheck, Contact, Organization
    from governance.models import (
        ActionItem,
        Escalation,
        EscalationMove,
        GovernanceBody,
        GovernanceChange,
        Meeting,
        Risk,
    )
    from scorecards.models import HealthReview, Kpi, ReviewSynthesis, Threshold

    return [
        AllianceModel,
        Organization,
        AllianceGateCheck,
        Contact,
        ActionItem,
        Escalation,
        EscalationMove,  # an escalation moved up (by a conditional UPDATE, then this row)
        GovernanceBody,
        GovernanceChange,  # e.g. an escalation resolved (by an UPDATE, then this row)
        Meeting,
        Risk,
        HealthReview,
        Kpi,
        ReviewSynthesis,
        Threshold,
    ]


def connect() -> None:
    for model in watched_models():
        post_save.connect(_row_changed, sender=model, dispatch_uid=f"fresh-save-{model._meta}")
        post_delete.connect(_row_changed, sender=model, dispatch_uid=f"fresh-del-{model._meta}")
