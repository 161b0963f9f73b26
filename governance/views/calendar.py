"""iCalendar feeds of governance meetings, per alliance and per user.

The subscription pages live under the organisation like every other page. The feed itself is
fetched by calendar apps without a session, so its URL carries a secret token instead.
"""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import icalendar
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from alliances.tenancy import alliance_view, tenant_view

from .. import feeds


def _subscription(request, *, scope, alliance, here=None):
    """The subscription page: create a link (shown once), or revoke it."""
    user, organization = request.user, scope.organization
    url_name = "alliance_calendar" if alliance else "my_calendar"
    url_args = [organization.slug, alliance.pk] if alliance else [organization.slug]
    token = None
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            if feeds.calendar_feed_revoke(user=user, organization=organization, alliance=alliance):
                messages.success(request, "The calendar link no longer works.")
            return redirect(url_name, *url_args)
        _, token = feeds.calendar_feed_create(
            user=user, organization=organization, alliance=alliance
        )
    feed_url = webcal_url = ""
    if token:
        feed_url = request.build_absolute_uri(reverse("calendar_feed", args=[token]))
        webcal_url = "webcal://" + feed_url.split("://", 1)[1]
    context = {
        "here": here,
        "scope": scope,
        "alliance": alliance,
        "feed": feeds.calendar_feed_current(
            user=user, organization=organization, alliance=alliance
        ),
        "feed_url": feed_url,
        "webcal_url": webcal_url,
        "action_url": reverse(url_name, args=url_args),
    }
    response = render(request, "governance/calendar.html", context)
    if token:
        response["Cache-Control"] = "no-store"  # the only time the secret is shown
    return response


@alliance_view
def alliance_calendar(request, here):
    return _subscription(request, scope=here.scope, alliance=here.alliance, here=here)


@tenant_view
def my_calendar(request, scope):
    return _subscription(request, scope=scope, alliance=None)


def _uid_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "concord"


def meetings_ical(meetings, *, name: str) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Concord//Governance meetings//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    domain = _uid_domain()
    for meeting in meetings:
        event = icalendar.Event()
        event.add("uid", f"meeting-{meeting.pk}@{domain}")
        event.add("dtstamp", meeting.created_at.astimezone(UTC))
        if meeting.starts_at is None:
            event.add("dtstart", meeting.held_on)
            event.add("dtend", meeting.held_on + timedelta(days=1))
        else:
            start = timezone.make_aware(datetime.combine(meeting.held_on, meeting.starts_at))
            start = start.astimezone(UTC)
            event.add("dtstart", start)
            event.add("dtend", start + timedelta(minutes=meeting.duration_minutes))
        event.add("summary", f"{meeting.body.name} — {meeting.alliance.name}")
        if meeting.agenda:
            event.add("description", meeting.agenda)
        calendar.add_component(event)
    return calendar.to_ical()


@require_safe
def calendar_feed(request, token):
    now = timezone.now()
    found = feeds.calendar_feed_open(token=token, now=now)
    if found is None:
        raise Http404("No such calendar.")
    feed, scope = found
    meetings = feeds.calendar_meetings(
        scope=scope, alliance=feed.alliance, today=timezone.localdate(now)
    )
    name = f"{feed.alliance or scope.organization} governance meetings"
    response = HttpResponse(
        meetings_ical(meetings, name=name), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = 'inline; filename="meetings.ics"'
    response["Cache-Control"] = "private, max-age=900"
    return response


alliance_patterns = [path("calendar/", alliance_calendar, name="alliance_calendar")]
org_patterns = [path("calendar/", my_calendar, name="my_calendar")]
public_patterns = [path("calendar/<str:token>.ics", calendar_feed, name="calendar_feed")]
