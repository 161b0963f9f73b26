"""Calendar feeds of governance meetings, and the weekly action digest."""

from datetime import datetime, time, timedelta

import icalendar
import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from alliances.jobs import run_job
from alliances.models import Alliance, Membership, Side, Visibility
from alliances.tokens import token_hash
from governance import services as gov
from governance.digest import action_digests_send
from governance.models import (
    ActionDigest,
    ActionItem,
    ActionStatus,
    CalendarFeed,
    GovernanceBody,
    Meeting,
)
from tests.factories import ContactFactory

# --- calendar feeds -------------------------------------------------------------------------


def plan_meeting(alliance, *, days: int, starts_at=None, agenda="") -> Meeting:
    body = GovernanceBody.objects.get(alliance=alliance)
    return Meeting.objects.create(
        alliance=alliance,
        body=body,
        held_on=timezone.localdate() + timedelta(days=days),
        starts_at=starts_at,
        duration_minutes=90,
        agenda=agenda,
    )


def subscribe(client, url) -> str:
    """Create a link on a subscription page; return the feed's path."""
    response = client.post(url, {"action": "create"})
    assert response.status_code == 200
    feed_url = response.context["feed_url"]
    assert feed_url.startswith("http://testserver/calendar/")
    return feed_url.removeprefix("http://testserver")


def alliance_page(world, alliance, org=None):
    return reverse("alliance_calendar", args=[org or world.northwind.slug, alliance.pk])


def events(client, feed_path) -> dict[str, icalendar.Event]:
    """The feed's events by UID, parsed with a real iCalendar parser."""
    response = client.get(feed_path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    return {str(event["uid"]): event for event in calendar.walk("VEVENT")}


def uid(meeting) -> str:
    return f"meeting-{meeting.pk}@testserver"


@pytest.fixture
def meetings(world):
    """Each world alliance has a meeting 10 days ago; add planned, old and timed ones."""
    return {
        "planned": plan_meeting(
            world.shared, days=20, starts_at=time(14, 30), agenda="Renewal terms"
        ),
        "too_old": plan_meeting(world.shared, days=-200),
        "litware_planned": plan_meeting(world.litware, days=5),
        "fabrikam_planned": plan_meeting(world.fabrikam_alliance, days=5),
    }


def test_alliance_feed_holds_that_alliances_meetings_only(world, meetings, client_for):
    client = client_for(world.ada)
    feed = subscribe(client, alliance_page(world, world.shared))
    client.logout()  # calendar apps have no session

    found = events(client, feed)

    past = Meeting.objects.filter(alliance=world.shared, agenda="Pipeline").get()
    assert set(found) == {uid(past), uid(meetings["planned"])}
    planned = found[uid(meetings["planned"])]
    assert str(planned["summary"]) == f"Operational council — {world.shared.name}"
    start = planned.decoded("dtstart")
    assert isinstance(start, datetime)
    assert start == timezone.make_aware(datetime.combine(meetings["planned"].held_on, time(14, 30)))
    assert planned.decoded("dtend") - start == timedelta(minutes=90)
    assert str(planned["description"]) == "Renewal terms"
    all_day = found[uid(past)]
    assert all_day.decoded("dtstart") == past.held_on
    assert all_day.decoded("dtend") == past.held_on + timedelta(days=1)
    assert set(events(client, feed)) == set(found), "UIDs are stable across fetches"
    assert CalendarFeed.objects.get().last_fetched_at is not None


def test_user_feed_holds_every_visible_alliance_and_no_other_tenant(world, meetings, client_for):
    client = client_for(world.ada)
    feed = subscribe(client, reverse("my_calendar", args=["northwind"]))

    found = events(client, feed)

    assert uid(meetings["planned"]) in found
    assert uid(meetings["litware_planned"]) in found
    assert uid(meetings["fabrikam_planned"]) not in found
    assert uid(meetings["too_old"]) not in found
    assert not any(world.fabrikam_alliance.name in str(e["summary"]) for e in found.values())


def test_partner_user_feed_holds_only_the_shared_alliance(world, meetings, client_for):
    client = client_for(world.ben)
    feed = subscribe(client, reverse("my_calendar", args=["contoso"]))

    titles = {str(event["summary"]) for event in events(client, feed).values()}

    assert titles == {f"Operational council — {world.shared.name}"}


def test_feed_query_count_is_constant(world, meetings, client_for, django_assert_max_num_queries):
    client = client_for(world.ada)
    feed = subscribe(client, reverse("my_calendar", args=["northwind"]))
    for days in range(1, 15):
        plan_meeting(world.litware, days=days)
    with django_assert_max_num_queries(6):
        assert len(events(client, feed)) >= 16


def test_unknown_and_revoked_tokens_are_404(world, meetings, client_for):
    client = client_for(world.ada)
    page = alliance_page(world, world.shared)
    first = subscribe(client, page)
    assert client.get("/calendar/not-a-real-token.ics").status_code == 404

    second = subscribe(client, page)  # "revoke and create a new link"
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200

    response = client.post(page, {"action": "revoke"})
    assert response.status_code == 302
    assert client.get(second).status_code == 404
    assert not CalendarFeed.objects.filter(revoked_at__isnull=True).exists()


def test_feed_stops_when_the_member_leaves(world, meetings, client_for):
    client = client_for(world.dan)
    feed = subscribe(client, alliance_page(world, world.shared))
    Membership.objects.filter(user=world.dan).delete()
    assert client.get(feed).status_code == 404


def test_feed_stops_when_the_organisation_is_no_longer_a_party(world, meetings, client_for):
    client = client_for(world.ben)
    alliance_feed = subscribe(client, alliance_page(world, world.shared, org="contoso"))
    user_feed = subscribe(client, reverse("my_calendar", args=["contoso"]))
    Alliance.objects.filter(pk=world.shared.pk).update(partner_organization=None)

    assert client.get(alliance_feed).status_code == 404
    assert events(client, user_feed) == {}


def test_token_is_stored_only_as_its_hash(world, client_for):
    client = client_for(world.ada)
    token = subscribe(client, alliance_page(world, world.shared)).split("/")[-1][: -len(".ics")]
    feed = CalendarFeed.objects.get()
    assert feed.token_hash == token_hash(token)
    assert token not in feed.token_hash
    assert (feed.user, feed.organization, feed.alliance) == (
        world.ada,
        world.northwind,
        world.shared,
    )


def test_subscription_page_shows_the_link_once(world, client_for):
    client = client_for(world.vic)  # a viewer may subscribe to what they can read
    page = reverse("my_calendar", args=["northwind"])
    response = client.get(page)
    assert response.status_code == 200
    assert b"Create my calendar link" in response.content
    assert b"Google Calendar" in response.content

    feed = subscribe(client, page)
    assert CalendarFeed.objects.get().alliance is None

    later = client.get(page)
    assert feed.encode() not in later.content
    assert b"Revoke and create a new link" in later.content


def test_outsider_gets_404_on_the_subscription_pages(world, client_for):
    client = client_for(world.cy)
    assert client.get(reverse("my_calendar", args=["northwind"])).status_code == 404
    assert client.get(alliance_page(world, world.shared)).status_code == 404
    assert client.post(alliance_page(world, world.shared, org="fabrikam")).status_code == 404
    assert not CalendarFeed.objects.exists()


# --- weekly action digest -------------------------------------------------------------------


def monday(weeks_ahead: int = 1, at: time = time(7, 0)) -> datetime:
    """A Monday after today (so every world action exists by then), at ``at`` local time."""
    today = timezone.localdate()
    day = today + timedelta(days=7 - today.weekday() + 7 * (weeks_ahead - 1))
    return timezone.make_aware(datetime.combine(day, at))


def owner(alliance, side):
    return alliance.contacts.get(side=side)


def sent_to() -> list[str]:
    return sorted(recipient for message in mail.outbox for recipient in message.to)


def everyone(world) -> list[str]:
    return sorted(
        owner(alliance, side).email.lower()
        for alliance in (world.shared, world.litware, world.fabrikam_alliance)
        for side in Side.values
    )


def test_one_email_per_person_across_alliances(world):
    person = owner(world.shared, Side.LEAD)
    same = owner(world.litware, Side.LEAD)
    same.email = person.email.upper()  # the same person, typed differently
    same.save()

    assert action_digests_send(now=monday()) == 5

    assert sent_to() == sorted(set(everyone(world)))
    (message,) = [m for m in mail.outbox if m.to == [person.email.lower()]]
    assert world.shared.name in message.body and world.litware.name in message.body
    assert "Northwind shared action" in message.body
    assert "Northwind internal action" in message.body, "the owner sees their internal action"
    html = message.alternatives[0].content
    assert world.litware.name in html and "Northwind internal action" in html
    assert message.subject == "This week: 4 open actions"


def test_partner_owner_sees_only_their_actions(world):
    action_digests_send(now=monday())
    partner = owner(world.shared, Side.PARTNER).email.lower()
    (message,) = [m for m in mail.outbox if m.to == [partner]]
    assert "Contoso shared action" in message.body
    assert "Contoso internal action" in message.body
    assert "Northwind" not in message.body.replace(world.shared.name, "")


def test_overdue_actions_are_flagged_and_listed_first(world):
    contact = owner(world.shared, Side.LEAD)
    gov.action_save(
        action=ActionItem(
            alliance=world.shared,
            author_organization=world.northwind,
            title="Send the pricing sheet",
            owner=contact,
            due_on=timezone.localdate() - timedelta(days=3),
        ),
        user=None,
        allow_past_due=True,
    )

    action_digests_send(now=monday())

    (message,) = [m for m in mail.outbox if m.to == [contact.email.lower()]]
    assert "1 overdue" in message.subject
    body = message.body
    assert "[OVERDUE] Send the pricing sheet" in body
    assert body.index("Send the pricing sheet") < body.index("Northwind shared action")
    assert body.count("[OVERDUE]") == 1
    assert "Overdue" in message.alternatives[0].content


def test_no_email_for_people_without_open_actions(world):
    contact = owner(world.litware, Side.PARTNER)
    ActionItem.objects.filter(owner=contact).update(status=ActionStatus.DONE)
    ActionItem.objects.filter(owner=owner(world.litware, Side.LEAD)).update(
        status=ActionStatus.DROPPED
    )
    ActionItem.objects.filter(owner=owner(world.shared, Side.LEAD)).update(
        status=ActionStatus.IN_PROGRESS
    )

    action_digests_send(now=monday())

    assert contact.email.lower() not in sent_to()
    assert owner(world.litware, Side.LEAD).email.lower() not in sent_to()
    assert owner(world.shared, Side.LEAD).email.lower() in sent_to()


def test_twice_in_a_week_sends_once_and_next_week_again(world):
    run_job("action_digest", now=monday())
    run_job("action_digest", now=monday() + timedelta(minutes=1))
    run_job("action_digest", now=monday() + timedelta(days=3))
    assert sent_to() == everyone(world)
    assert ActionDigest.objects.filter(sent_at__isnull=False).count() == 6

    run_job("action_digest", now=monday(weeks_ahead=2, at=time(9, 15)))
    assert len(mail.outbox) == 12


def test_the_week_is_claimed_by_a_database_constraint(world):
    week = monday().date()
    ActionDigest.objects.create(email="x@example.com", week_start=week, claimed_by="a")
    with pytest.raises(IntegrityError), transaction.atomic():
        ActionDigest.objects.create(email="x@example.com", week_start=week, claimed_by="b")


def test_a_claim_from_another_run_is_respected(world):
    taken = owner(world.shared, Side.LEAD).email.lower()
    ActionDigest.objects.create(
        email=taken, week_start=monday().date(), claimed_at=monday(), claimed_by="other"
    )
    action_digests_send(now=monday() + timedelta(minutes=5))
    assert taken not in sent_to()
    assert len(mail.outbox) == 5


def test_nothing_before_monday_seven(world):
    assert action_digests_send(now=monday(at=time(6, 59))) == 0
    assert mail.outbox == []
    assert not ActionDigest.objects.exists()


def test_an_action_added_after_monday_seven_waits_for_next_week(world):
    newcomer = ContactFactory(alliance=world.shared, side=Side.LEAD, email="new@northwind.example")
    ActionItem.objects.create(
        alliance=world.shared,
        author_organization=world.northwind,
        title="Late arrival",
        owner=newcomer,
        due_on=monday().date() + timedelta(days=7),
        created_at=monday() + timedelta(hours=1),
    )
    action_digests_send(now=monday() + timedelta(hours=2))
    assert "new@northwind.example" not in sent_to()
    action_digests_send(now=monday(weeks_ahead=2))
    assert "new@northwind.example" in sent_to()


def test_monday_seven_is_local_time(world, settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    tokyo_seven = monday()
    assert timezone.localtime(tokyo_seven).hour == 7
    assert action_digests_send(now=tokyo_seven - timedelta(minutes=1)) == 0
    assert action_digests_send(now=tokyo_seven) == 6


class FailingFor(EmailBackend):
    """The test mailer, refusing one address, as an SMTP server sometimes does."""

    refused = ""

    def send_messages(self, messages):
        if any(self.refused in message.to for message in messages):
            raise OSError("421 try again later")
        return super().send_messages(messages)


def test_a_failed_send_releases_the_claim_for_the_next_run(world, settings, monkeypatch):
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.FailingFor"}}
    refused = owner(world.litware, Side.PARTNER).email.lower()
    monkeypatch.setattr(FailingFor, "refused", refused)

    with pytest.raises(RuntimeError, match="1 action digest"):
        run_job("action_digest", now=monday())

    assert len(mail.outbox) == 5
    assert not ActionDigest.objects.filter(email=refused).exists()

    monkeypatch.setattr(FailingFor, "refused", "nobody@example.com")
    run_job("action_digest", now=monday() + timedelta(minutes=1))
    assert len(mail.outbox) == 6
    assert mail.outbox[-1].to == [refused]


def test_a_claim_left_by_a_crashed_run_is_taken_over_later(world):
    crashed = owner(world.shared, Side.PARTNER).email.lower()
    ActionDigest.objects.create(
        email=crashed, week_start=monday().date(), claimed_at=monday(), claimed_by="dead"
    )
    action_digests_send(now=monday() + timedelta(minutes=10))
    assert crashed not in sent_to()
    action_digests_send(now=monday() + timedelta(hours=2))
    assert crashed in sent_to()


def test_digest_query_count_is_constant(world, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        assert action_digests_send(now=monday()) == 6

    for n in range(15):
        alliance = (world.shared, world.litware)[n % 2]
        contact = ContactFactory(alliance=alliance, side=Side.LEAD)
        for days in (-2, 4):
            ActionItem.objects.create(
                alliance=alliance,
                author_organization=world.northwind,
                visibility=Visibility.INTERNAL,
                title=f"Action {n}/{days}",
                owner=contact,
                due_on=timezone.localdate() + timedelta(days=days),
            )
    with django_assert_max_num_queries(8):
        assert action_digests_send(now=monday(weeks_ahead=2)) == 21
