"""The steering digest: after a round is lit, each alliance's steering members of both sides
get the one-pager's substance by email, once per round, with only what both sides share."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape

from alliances.jobs import run_job
from alliances.models import Side, Visibility
from alliances.tenancy import scope_for
from governance import services as gov
from governance.models import ActionItem, GovernanceBody, Risk, RiskCategory, Tier
from scorecards.alerts import threshold_check
from scorecards.dashboards import one_pager
from scorecards.digest import DIGEST_WINDOW, steering_digests
from scorecards.models import (
    Alert,
    AlertKind,
    AllianceHealth,
    Metric,
    RoundHealth,
    SteeringDigest,
)
from surveys.models import SurveyRound
from tests.factories import ContactFactory
from tests.test_health_alerts import CORNERS, add_round, value_kpi

NOW = timezone.now().replace(microsecond=0)
LEAD, CHAIR, PARTNER = (
    "sponsor@northwind.example",
    "nia.chair@northwind.example",
    "sponsor@contoso.example",
)
ROUNDS = 4  # three steady rounds, then the one the digest is about
# Reads of a run: who is due and which claims are this run's, then one one-pager per alliance.
FIXED_READS, ONE_PAGER_READS = 3, 16


def month_index(months_ago: int) -> int:
    """``add_round``'s index of the month ``months_ago`` months before NOW."""
    today = timezone.localdate(NOW)
    return (today.year - 2024) * 12 + today.month - 1 - months_ago


def scored_rounds(alliance, *, closed_days_ago: float = 2) -> list[SurveyRound]:
    """Four scored monthly rounds up to last month, the latest closed ``closed_days_ago``
    before NOW: steady at 75, then relational trust falls to 30 (red, and an alert), with the
    sides 20 points apart on strategic alignment. Not lit yet."""
    SurveyRound.objects.filter(alliance=alliance).delete()
    rounds = [add_round(alliance, month_index(ROUNDS - n), 75) for n in range(ROUNDS - 1)]
    latest = add_round(
        alliance,
        month_index(1),
        {**dict.fromkeys(CORNERS, 75), Metric.RELATIONAL: 30, Metric.TRUST: 64},
        lead={Metric.STRATEGIC: 85},
        partner={Metric.STRATEGIC: 65},
    )
    closed = NOW - timedelta(days=closed_days_ago)
    SurveyRound.objects.filter(pk=latest.pk).update(closes_at=closed, closed_at=closed)
    return [*rounds, latest]


def light_rounds(alliance, **kwargs) -> None:
    """Scored rounds, each lit as the scoring job lights a round when it closes."""
    rounds = scored_rounds(alliance, **kwargs)
    threshold_check(now=NOW, alliance_ids=[alliance.pk], round_ids=[r.pk for r in rounds])


def steering_body(alliance, members, *, chair=None, name="Executive steering committee"):
    return gov.body_save(
        body=GovernanceBody(alliance=alliance, name=name, tier=Tier.EXECUTIVE_STEERING),
        members=members,
        chair=chair,
    )


@pytest.fixture
def steering(world):
    """The shared alliance (Northwind leads, Contoso partners) with a steering committee of
    both sides, some people who must not get its digest, and a lit round."""
    alliance = world.shared
    lead = alliance.contacts.get(side=Side.LEAD)  # also on the operational council
    partner = alliance.contacts.get(side=Side.PARTNER)
    for contact, email in ((lead, LEAD), (partner, PARTNER)):
        contact.email = email
        contact.save()
    chair = ContactFactory(
        alliance=alliance, side=Side.LEAD, name="Nia Chair", email="Nia.Chair@Northwind.example"
    )
    gone = ContactFactory(alliance=alliance, side=Side.PARTNER, name="Gone Member")
    bouncing = ContactFactory(alliance=alliance, side=Side.PARTNER, name="Bouncing Member")
    steering_body(alliance, [lead, partner, gone, bouncing], chair=chair)
    gone.is_active = False
    gone.save()
    bouncing.email_failed_at = NOW
    bouncing.save()
    council_only = ContactFactory(
        alliance=alliance, side=Side.PARTNER, name="Council Only", email="council@contoso.example"
    )
    alliance.governance_bodies.get(tier=Tier.OPERATIONAL_COUNCIL).members.add(council_only)
    ActionItem.objects.create(
        alliance=alliance,
        author_organization=world.northwind,
        title="Send the joint pricing sheet",
        owner=lead,
        due_on=timezone.localdate(NOW) - timedelta(days=3),
    )
    value_kpi(alliance, 120)
    light_rounds(alliance)
    return alliance


def recipients(alliance) -> list[str]:
    body = alliance.governance_bodies.get(tier=Tier.EXECUTIVE_STEERING)
    return sorted(c.email.lower() for c in body.members.filter(is_active=True))


def sent_to() -> list[str]:
    return sorted(recipient for message in mail.outbox for recipient in message.to)


def message_to(email: str):
    (message,) = [m for m in mail.outbox if m.to == [email.lower()]]
    return message, message.alternatives[0].content


def test_each_steering_member_of_both_sides_gets_one_digest(steering, world):
    assert steering_digests(now=NOW) == 3

    assert sent_to() == sorted([LEAD, CHAIR, PARTNER]), (
        "steering members of both sides, lower-cased; not inactive or bouncing ones"
    )
    assert "council@contoso.example" not in sent_to(), "other bodies' members get none"
    latest = AllianceHealth.objects.get(alliance=steering).round
    assert set(SteeringDigest.objects.values_list("alliance", "round", "email")) == {
        (steering.pk, latest.pk, email) for email in sent_to()
    }
    assert all(
        m.subject == f"Steering digest: {steering.name} — {latest.label}" for m in mail.outbox
    )


def test_the_chair_gets_it_even_when_not_listed_as_a_member(steering):
    body = steering.governance_bodies.get(tier=Tier.EXECUTIVE_STEERING)
    body.members.remove(body.chair)
    steering_digests(now=NOW)
    assert body.chair.email.lower() in sent_to()


def test_the_digest_holds_the_one_pagers_substance(steering, world):
    steering_digests(now=NOW)
    text, html = message_to(LEAD)
    text = text.body
    alert = Alert.objects.get(alliance=steering, metric=Metric.RELATIONAL, kind=AlertKind.RED)

    for body in (text, html):
        assert "Stage 1 of 5: Formation" in body
        for corner in ("Strategic alignment", "Operational integration", "Value realisation"):
            assert corner in body
        assert "■ Red 30" in body, "a light is a symbol, a word and the score"
        assert "● Green 75" in body
        assert "Down 45 since the previous round" in body
        assert "▲ Yellow 64" in body and "Trust anchor" in body
        assert "● Green 85" in body and "▲ Yellow 65" in body, "the lead's and partner's views"
        assert "gap 20 points" in body
        assert "Response rate" in body and "89%" in body
        assert "Open alerts (1)" in body or "OPEN ALERTS (1)" in body
        assert "Send the joint pricing sheet" in body, "an overdue action"
        assert "Northwind shared action" in body, "an upcoming action"
        assert "Northwind shared risk" in body and "Contoso shared risk" in body
        assert "Executive steering committee" in body and "Operational council" in body
        assert "Pipeline" in body, "the KPI lights"
    assert alert.reason in text
    assert escape(alert.reason) in html
    assert "[OVERDUE] Send the joint pricing sheet" in text
    assert "■ Overdue</strong> Send the joint pricing sheet" in html
    assert "● Green Pipeline" in text
    assert 'role="presentation"' in html and "<svg" not in html and "<style" not in html
    assert len(html.encode()) < 100_000


def test_internal_items_of_either_side_reach_nobody(steering, world):
    gov.risk_save(
        risk=Risk(
            alliance=steering,
            author_organization=world.contoso,
            visibility=Visibility.INTERNAL,
            title="Contoso worst internal risk",
            category=RiskCategory.DEPENDENCY,
            likelihood=5,
            impact=5,
        ),
        user=None,
        organization=world.contoso,
    )
    ActionItem.objects.create(
        alliance=steering,
        author_organization=world.northwind,
        visibility=Visibility.INTERNAL,
        title="Northwind internal overdue action",
        owner=steering.contacts.get(email=LEAD),
        due_on=timezone.localdate(NOW) - timedelta(days=1),
    )
    members = ((world.ada, "northwind", "Northwind"), (world.ben, "contoso", "Contoso"))
    for user, slug, name in members:
        page = one_pager(scope=scope_for(user, slug), alliance=steering, today=NOW.date())
        shown = [a.title for a in page.overdue + page.upcoming]
        assert f"{name} internal action" in shown, "each side's own page shows its internal items"

    steering_digests(now=NOW)

    assert len(mail.outbox) == 3
    for message in mail.outbox:
        for body in (message.body, message.alternatives[0].content):
            assert "Northwind shared action" in body and "Contoso shared risk" in body
            assert "internal" not in body.replace("internal items are in it", "")


def test_each_link_goes_to_the_recipients_own_organisation(steering, world):
    steering_digests(now=NOW)
    lead_url = f"http://testserver/o/northwind/alliances/{steering.pk}/"
    partner_url = f"http://testserver/o/contoso/alliances/{steering.pk}/"
    for email in (LEAD, CHAIR):
        text, html = message_to(email)
        assert lead_url in text.body and f'href="{lead_url}"' in html
        assert "/o/contoso/" not in text.body + html
    text, html = message_to(PARTNER)
    assert partner_url in text.body and f'href="{partner_url}"' in html
    assert "/o/northwind/" not in text.body + html


def test_a_partner_that_has_not_joined_gets_no_link(steering):
    steering.partner_organization = None
    steering.save()
    steering_digests(now=NOW)
    text, html = message_to(PARTNER)
    assert "/o/" not in text.body and "/o/" not in html
    assert "Contoso" in text.body, "the partner is named by the lead's name for it"
    text, _ = message_to(LEAD)
    assert f"/o/northwind/alliances/{steering.pk}/" in text.body


def test_another_tenants_alliance_gets_its_own_digest_and_nothing_else(steering, world):
    other = world.fabrikam_alliance
    steering_body(other, list(other.contacts.all()))
    light_rounds(other)

    steering_digests(now=NOW)

    theirs = [m for m in mail.outbox if m.subject.startswith(f"Steering digest: {other.name}")]
    assert sorted(r for m in theirs for r in m.to) == recipients(other)
    for message in mail.outbox:
        body = message.body + message.alternatives[0].content
        if message in theirs:
            assert "Northwind" not in body and "Contoso" not in body
        else:
            assert "Fabrikam" not in body and "Wingtip" not in body


def test_running_twice_sends_nothing_new(steering, django_assert_max_num_queries):
    run_job("steering_digest", now=NOW)
    run_job("steering_digest", now=NOW + timedelta(minutes=1))
    run_job("steering_digest", now=NOW + timedelta(days=3))
    assert len(mail.outbox) == 3
    with django_assert_max_num_queries(3):  # beat ticks all month: a done round costs little
        assert steering_digests(now=NOW + timedelta(days=4)) == 0
    assert SteeringDigest.objects.filter(sent_at__isnull=False).count() == 3


def test_a_member_added_later_gets_the_rounds_digest_and_nobody_else_again(steering):
    steering_digests(now=NOW)
    newcomer = ContactFactory(alliance=steering, side=Side.PARTNER, email="new@contoso.example")
    steering.governance_bodies.get(tier=Tier.EXECUTIVE_STEERING).members.add(newcomer)
    assert steering_digests(now=NOW + timedelta(days=1)) == 1
    assert mail.outbox[-1].to == ["new@contoso.example"]


def test_one_digest_per_round_and_person_is_a_database_constraint(steering):
    latest = AllianceHealth.objects.get(alliance=steering).round
    SteeringDigest.objects.create(alliance=steering, round=latest, email="x@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        SteeringDigest.objects.create(alliance=steering, round=latest, email="x@example.com")


class FailingFor(EmailBackend):
    """The test mailer, refusing one address, as an SMTP server sometimes does."""

    refused = ""

    def send_messages(self, messages):
        if any(self.refused in message.to for message in messages):
            raise OSError("421 try again later")
        return super().send_messages(messages)


def test_a_failed_send_is_retried_next_run_and_nobody_gets_two(steering, settings, monkeypatch):
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.FailingFor"}}
    monkeypatch.setattr(FailingFor, "refused", PARTNER)

    with pytest.raises(RuntimeError, match="1 steering digest"):
        run_job("steering_digest", now=NOW)

    assert sent_to() == sorted([CHAIR, LEAD])
    assert not SteeringDigest.objects.filter(email=PARTNER).exists()

    monkeypatch.setattr(FailingFor, "refused", "nobody@example.com")
    run_job("steering_digest", now=NOW + timedelta(minutes=1))
    assert len(mail.outbox) == 3
    assert mail.outbox[-1].to == [PARTNER]


class DiesAfterTwo(EmailBackend):
    """The test mailer, whose worker is killed after two messages went out."""

    def send_messages(self, messages):
        if len(mail.outbox) == 2:
            raise SystemExit("worker killed")
        return super().send_messages(messages)


def test_a_run_that_dies_halfway_leaves_the_rest_for_the_next(steering, settings):
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.DiesAfterTwo"}}
    with pytest.raises(SystemExit):
        steering_digests(now=NOW)
    first = sent_to()
    assert len(first) == 2
    assert sorted(SteeringDigest.objects.values_list("email", flat=True)) == first

    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    assert steering_digests(now=NOW + timedelta(minutes=1)) == 1
    assert sorted(sent_to()) == sorted(set(sent_to())), "nobody twice"
    assert len(sent_to()) == 3


def test_a_claim_left_by_a_dead_run_is_respected_then_taken_over(steering):
    latest = AllianceHealth.objects.get(alliance=steering).round
    SteeringDigest.objects.create(
        alliance=steering,
        round=latest,
        email=PARTNER,
        claimed_at=NOW,
        claimed_by="dead",
    )
    steering_digests(now=NOW + timedelta(minutes=10))
    assert PARTNER not in sent_to()
    steering_digests(now=NOW + timedelta(hours=2))
    assert sent_to().count(PARTNER) == 1


def test_a_round_that_closed_long_ago_gets_no_digest(world):
    alliance = world.shared
    steering_body(alliance, list(alliance.contacts.all()))
    light_rounds(alliance, closed_days_ago=DIGEST_WINDOW.days + 1)
    assert AllianceHealth.objects.filter(alliance=alliance).exists()

    assert steering_digests(now=NOW) == 0
    assert mail.outbox == []
    assert not SteeringDigest.objects.exists()


def test_nothing_for_an_alliance_whose_round_is_not_lit_yet(world):
    alliance = world.litware
    steering_body(alliance, list(alliance.contacts.all()))
    scored_rounds(alliance)  # the threshold check has not lit them yet

    assert steering_digests(now=NOW) == 0
    assert mail.outbox == []

    threshold_check(now=NOW)
    assert steering_digests(now=NOW) == 2


def test_a_newer_round_scored_but_not_lit_waits_for_its_own_digest(steering):
    newer = add_round(steering, month_index(0), 75)
    opened, closed = NOW - timedelta(hours=2), NOW - timedelta(hours=1)
    SurveyRound.objects.filter(pk=newer.pk).update(
        opens_at=opened, closes_at=closed, closed_at=closed
    )
    RoundHealth.objects.filter(round=newer).update(opens_at=opened)

    assert steering_digests(now=NOW) == 0, "the one-pager already shows a round without lights"
    assert not SteeringDigest.objects.exists()

    threshold_check(now=NOW, alliance_ids=[steering.pk], round_ids=[newer.pk])
    assert steering_digests(now=NOW) == 3
    assert {m.subject for m in mail.outbox} == {f"Steering digest: {steering.name} — {newer.label}"}


def test_nothing_for_an_archived_alliance(steering):
    steering.archived_at = NOW
    steering.save()
    assert steering_digests(now=NOW) == 0


def test_queries_grow_per_alliance_not_per_recipient(steering, world):
    def run() -> tuple[int, list[str], list[str]]:
        """Sent, the reads and the writes of a run."""
        mail.outbox.clear()
        SteeringDigest.objects.all().delete()
        with CaptureQueriesContext(connection) as queries:
            sent = steering_digests(now=NOW)
        sql = [q["sql"] for q in queries.captured_queries]
        selects = [q for q in sql if q.startswith("SELECT")]
        return sent, selects, [q for q in sql if not q.startswith("SELECT")]

    sent, few, few_writes = run()
    body = steering.governance_bodies.get(tier=Tier.EXECUTIVE_STEERING)
    for n in range(12):
        body.members.add(ContactFactory(alliance=steering, side=Side.values[n % 2]))
    more, many, many_writes = run()

    assert (sent, more) == (3, 15)
    assert len(few) == len(many) <= FIXED_READS + ONE_PAGER_READS, "never a read per recipient"
    marks = [[q for q in writes if q.startswith("UPDATE")] for writes in (few_writes, many_writes)]
    assert [len(m) for m in marks] == [3, 15], "one mark per message, right after it was sent"
    assert len(many_writes) - len(few_writes) == 12, "and no other write per recipient"

    other = world.fabrikam_alliance
    steering_body(other, list(other.contacts.all()))
    light_rounds(other)
    _, two, _ = run()
    assert len(two) - len(many) <= ONE_PAGER_READS, "another alliance costs one one-pager"
