"""Calendar feeds: secret links that calendar apps fetch without a session.

A feed belongs to one user in one organisation, for one alliance or for all the alliances the
organisation can see. Only the token's hash is stored. Every fetch resolves the same ``Scope``
a page would, so a member who left, or an organisation no longer party to the alliance, gets
nothing from a link that used to work.
"""

from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from alliances.models import Alliance, Membership, Organization, User
from alliances.tenancy import Scope
from alliances.tokens import new_token, token_hash

from .models import CalendarFeed, Meeting

# How far back a feed reaches; calendar apps keep what they already imported.
FEED_HISTORY = timedelta(days=183)


def calendar_feed_current(
    *, user: User, organization: Organization, alliance: Alliance | None = None
) -> CalendarFeed | None:
    return (
        CalendarFeed.objects.visible_to(organization)
        .filter(user=user, alliance=alliance, revoked_at__isnull=True)
        .first()
    )


@transaction.atomic
def calendar_feed_create(
    *, user: User, organization: Organization, alliance: Alliance | None = None
) -> tuple[CalendarFeed, str]:
    """Issue a new link (revoking the previous one) and return it with its token.

    The token exists only in the return value: show it once, it cannot be shown again.
    """
    calendar_feed_revoke(user=user, organization=organization, alliance=alliance)
    token, hashed = new_token()
    feed = CalendarFeed.objects.create(
        user=user, organization=organization, alliance=alliance, token_hash=hashed
    )
    return feed, token


def calendar_feed_revoke(
    *, user: User, organization: Organization, alliance: Alliance | None = None
) -> int:
    return (
        CalendarFeed.objects.visible_to(organization)
        .filter(user=user, alliance=alliance, revoked_at__isnull=True)
        .update(revoked_at=timezone.now())
    )


def calendar_feed_open(*, token: str, now: datetime) -> tuple[CalendarFeed, Scope] | None:
    """The feed behind a token and the scope to read it with, or None if it no longer works."""
    feed = (
        CalendarFeed.objects.select_related("alliance")
        .filter(token_hash=token_hash(token), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if feed is None:
        return None
    membership = (
        Membership.objects.select_related("organization", "user")
        .filter(user_id=feed.user_id, organization_id=feed.organization_id)
        .first()
    )
    if membership is None:
        return None
    scope = Scope(membership)
    if feed.alliance_id and not scope.rows(Alliance).filter(pk=feed.alliance_id).exists():
        return None
    CalendarFeed.objects.filter(pk=feed.pk).update(last_fetched_at=now)
    return feed, scope


def calendar_meetings(
    *, scope: Scope, alliance: Alliance | None = None, today: date
) -> QuerySet[Meeting]:
    """Meetings of the last six months and all planned ones, of one or every visible alliance."""
    meetings = scope.rows(Meeting).filter(held_on__gte=today - FEED_HISTORY)
    if alliance is not None:
        meetings = meetings.filter(alliance=alliance)
    return meetings.select_related("body", "alliance").order_by("held_on", "pk")
