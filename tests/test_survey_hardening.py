"""The pulse survey under pressure: simultaneous submits, query counts that do not grow
with the alliance, jobs that run twice or die halfway, mail servers that refuse, the
Celery task's retries, and the one-time links' properties (entropy, hashing, headers,
rate limit). Rotation and anonymity have files of their own."""

import re
import secrets
import smtplib
import threading
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from celery.exceptions import Retry
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.cache import cache
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alliances import ratelimit, tokens
from alliances.jobs import run_job
from alliances.models import Contact, Side
from surveys import jobs, selectors, sending, services, tasks
from surveys.models import (
    Answer,
    Response,
    SurveyInvitation,
    SurveyLink,
    SurveyRound,
    SurveySettings,
)
from surveys.tasks import MAX_RETRY_DELAY
from surveys.tasks import send_survey_emails as send_task
from tests.conftest import need_services
from tests.factories import AllianceFactory, ContactFactory, survey_round_open

NEUTRAL = b"This link cannot be used"
VISIBILITY_TIMEOUT = 60 * 60  # the Redis broker's, in config/settings.py


def at(day: str, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime.fromisoformat(day).replace(hour=hour))


def links_in(message) -> list[str]:
    return re.findall(r"http://testserver(/s/[^/\s]+/)(?!unsubscribe)", message.body)


def answers_for(survey_round, value: str = "4") -> dict:
    return {f"q{q.pk}": "8" if q.is_trust else value for q in survey_round.questions.all()}


def fresh(world, *, per_side: int = 2):
    """The shared alliance without survey history and ``per_side`` more contacts on each
    side; the world's other alliances paused, so jobs only see this one."""
    SurveyRound.objects.all().delete()
    for other in (world.litware, world.fabrikam_alliance):
        SurveySettings.objects.create(alliance=other, paused=True)
    for side in (Side.LEAD, Side.PARTNER):
        ContactFactory.create_batch(per_side, alliance=world.shared, side=side)
    return world.shared


def add_contacts(alliance, n: int) -> None:
    for index in range(n):
        ContactFactory(alliance=alliance, side=(Side.LEAD, Side.PARTNER)[index % 2])


def sent_to() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


def invitation_updates(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith('UPDATE "surveys_surveyinvitation"')]


@pytest.fixture(autouse=True)
def _empty_cache():
    """The rate limit counts in the cache; each test starts with a clean count."""
    cache.clear()
    yield
    cache.clear()


# --- twenty simultaneous submits -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_posts_of_one_link_store_one_response(world, settings):
    need_services(redis=False)
    settings.SURVEY_RATE_LIMIT = 1000
    alliance = fresh(world)
    survey_round = survey_round_open(alliance)
    jobs.send_survey_emails(now=timezone.now())  # if the task on commit did not already
    invitation_link = links_in(mail.outbox[0])[0]
    opener = Client()
    answer_url = opener.get(invitation_link)["Location"]
    session_id = opener.cookies[django_settings.SESSION_COOKIE_NAME].value
    data = answers_for(survey_round)

    threads_n = 20
    barrier = threading.Barrier(threads_n)
    results: list = [None] * threads_n

    def submit(index):
        client = Client()
        client.cookies[django_settings.SESSION_COOKIE_NAME] = session_id
        try:
            barrier.wait(timeout=30)
            results[index] = client.post(answer_url, data)
        except Exception as error:  # recorded, so the main thread fails with it
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    errors = [r for r in results if not hasattr(r, "status_code")]
    assert errors == []
    assert all(r.status_code in (302, 404) for r in results), [r.status_code for r in results]
    thanked = [r for r in results if r.status_code == 302]
    assert thanked and all(r["Location"] == "/s/done/" for r in thanked)
    assert all(NEUTRAL in r.content for r in results if r.status_code == 404)
    assert Response.objects.filter(round=survey_round).count() == 1
    assert Answer.objects.filter(round=survey_round).count() == services.ROUND_SIZE
    used = SurveyInvitation.objects.filter(round=survey_round, responded_on__isnull=False)
    assert used.count() == 1


# --- query counts --------------------------------------------------------------------------------


def _answer_page_queries(client, survey_round, invitation) -> tuple[int, int]:
    """Queries of the answer page's GET and of a valid POST, for one invitation's link."""
    token, token_hash = tokens.new_token()
    SurveyLink.objects.create(invitation=invitation, token_hash=token_hash, purpose="invitation")
    client.cookies.clear()
    answer_url = client.get(f"/s/{token}/")["Location"]
    with CaptureQueriesContext(connection) as get:
        assert client.get(answer_url).status_code == 200
    with CaptureQueriesContext(connection) as post:
        assert client.post(answer_url, answers_for(survey_round)).status_code == 302
    return len(get), len(post)


def test_answer_page_queries_do_not_grow_with_participants(world, client):
    alliance = fresh(world, per_side=1)
    survey_round = survey_round_open(alliance)
    assert survey_round.invitations.count() == 4
    small = _answer_page_queries(client, survey_round, survey_round.invitations.first())
    SurveyRound.objects.filter(pk=survey_round.pk).update(closed_at=timezone.now())
    add_contacts(alliance, 26)
    later = timezone.now() + timedelta(days=40)
    bigger = survey_round_open(alliance, now=later)
    assert bigger.invitations.count() == 30
    for invitation in bigger.invitations.all()[:5]:  # some have answered already
        services.response_submit(
            invitation=invitation,
            answers={q.pk: 8 if q.is_trust else 4 for q in bigger.questions.all()},
            comment="",
            now=later,
        )
    large = _answer_page_queries(client, bigger, bigger.invitations.last())
    assert large == small


def test_open_rounds_queries_do_not_grow_with_contacts(world):
    alliance = fresh(world, per_side=1)  # 2 + the 2 sponsors = 4 participants
    with CaptureQueriesContext(connection) as few:
        jobs.open_rounds(now=at("2026-12-01", 10))
    assert SurveyInvitation.objects.filter(round__alliance=alliance).count() == 4
    jobs.close_rounds(now=at("2026-12-20"))
    add_contacts(alliance, 26)
    with CaptureQueriesContext(connection) as many:
        jobs.open_rounds(now=at("2027-01-01", 10))
    assert SurveyInvitation.objects.filter(round__alliance=alliance).count() == 4 + 30
    assert len(many) == len(few), [q["sql"][:80] for q in many.captured_queries]


def _alliances(world, n: int) -> list:
    made = []
    for _ in range(n):
        alliance = AllianceFactory(lead_organization=world.northwind)
        ContactFactory.create_batch(2, alliance=alliance, side=Side.LEAD)
        ContactFactory(alliance=alliance, side=Side.PARTNER)
        made.append(alliance)
    return made


def test_open_and_close_rounds_queries_do_not_grow_with_alliances(world):
    for alliance in (world.shared, world.litware, world.fabrikam_alliance):
        SurveySettings.objects.create(alliance=alliance, paused=True)
    _alliances(world, 2)
    with CaptureQueriesContext(connection) as open_few:
        jobs.open_rounds(now=at("2026-12-01", 10))
    assert SurveyRound.objects.filter(closed_at__isnull=True).count() == 2
    with CaptureQueriesContext(connection) as close_few:
        jobs.close_rounds(now=at("2026-12-20"))
    _alliances(world, 18)
    with CaptureQueriesContext(connection) as open_many:
        jobs.open_rounds(now=at("2027-01-01", 10))
    assert SurveyRound.objects.filter(closed_at__isnull=True).count() == 20
    assert SurveyInvitation.objects.filter(round__closed_at__isnull=True).count() == 60
    with CaptureQueriesContext(connection) as close_many:
        jobs.close_rounds(now=at("2027-01-20"))
    assert SurveyRound.objects.filter(closed_at__isnull=True).count() == 0
    assert len(open_many) == len(open_few)
    assert len(close_many) == len(close_few)


def test_sending_reads_are_constant_and_it_writes_one_update_per_email(world):
    """The sender's reads do not grow with the batch, but its writes do, on purpose: each
    invitation is marked sent by its own UPDATE right after the server accepted its
    message. That is what bounds the harm of a worker dying mid-batch to the one message
    in flight; a single UPDATE for the whole batch at the end would re-send everything
    the dead worker had already sent. So the count is ``base + emails sent``, and every
    query beyond the base is an UPDATE of ``surveys_surveyinvitation``."""
    alliance = fresh(world, per_side=1)
    survey_round_open(alliance, now=at("2026-12-01", 9))
    with CaptureQueriesContext(connection) as few:
        jobs.send_survey_emails(now=at("2026-12-01", 10))
    assert len(mail.outbox) == 4
    SurveyRound.objects.update(closed_at=at("2026-12-11"))
    add_contacts(alliance, 26)
    survey_round_open(alliance, now=at("2027-01-01", 9))
    mail.outbox.clear()
    with CaptureQueriesContext(connection) as many:
        jobs.send_survey_emails(now=at("2027-01-01", 10))
    assert len(mail.outbox) == 30

    def others(queries):
        return [q["sql"] for q in queries if q["sql"] not in invitation_updates(queries)]

    assert len(others(few.captured_queries)) == len(others(many.captured_queries))
    # One claim of the batch, then one mark per email.
    assert len(invitation_updates(few.captured_queries)) == 1 + 4
    assert len(invitation_updates(many.captured_queries)) == 1 + 30
    assert len(many) == len(few) + 26


# --- jobs twice, runs that overlap, a worker that dies -------------------------------------------


def test_two_openers_with_the_same_plan_create_one_round(world):
    alliance = fresh(world)
    now = at("2026-12-01", 10)
    plans = services.rounds_due(now=now)  # both workers read "due" before either inserted
    assert [plan.alliance for plan in plans] == [alliance]
    first = services.rounds_open(plans, now=now)
    second = services.rounds_open(plans, now=now)
    assert len(first) == 1 and second == []
    assert SurveyRound.objects.filter(alliance=alliance).count() == 1
    participants = Contact.objects.filter(services.PARTICIPANT, alliance=alliance).count()
    assert SurveyInvitation.objects.filter(round__alliance=alliance).count() == participants
    assert first[0].questions.count() == services.ROUND_SIZE


@pytest.mark.django_db(transaction=True)
def test_two_workers_running_the_jobs_at_once_open_one_round_and_email_once(world):
    need_services(redis=False)
    alliance = fresh(world, per_side=3)
    now = at("2026-12-01", 10)
    barrier = threading.Barrier(2)
    errors = []

    def worker():
        try:
            barrier.wait(timeout=30)
            for name in ("open_rounds", "send_survey_emails"):
                run_job(name, now=now)
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    survey_round = SurveyRound.objects.get(alliance=alliance)
    emails = sorted(survey_round.invitations.values_list("contact__email", flat=True))
    assert len(emails) == 8
    assert sent_to() == emails
    assert not survey_round.invitations.filter(sent_at__isnull=True).exists()


def test_a_run_that_read_the_batch_before_another_sent_it_sends_nothing(world):
    """Two senders read the same due invitations; the first claims and sends them all
    before the second's claim arrives. The second claim must find nothing to claim,
    although the rows' lease was already released by the first run."""
    alliance = fresh(world)
    survey_round_open(alliance, now=at("2026-12-01", 9))
    now = at("2026-12-01", 10)
    armed = {"claim": True}
    first_run = {}

    def interleave(execute, sql, params, many, context):
        if armed["claim"] and sql.startswith('UPDATE "surveys_surveyinvitation" SET "claimed'):
            armed["claim"] = False
            first_run["result"] = sending.survey_emails_send(now=now)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(interleave):
        second = sending.survey_emails_send(now=now)
    participants = SurveyInvitation.objects.filter(round__alliance=alliance).count()
    assert first_run["result"].sent == participants
    assert second.sent == 0
    assert len(mail.outbox) == participants
    assert len(set(sent_to())) == participants


class WorkerKilled(BaseException):
    """What a worker process dying looks like from inside: nothing catches it."""


class DyingMailer(EmailBackend):
    """Accepts ``survive`` messages, then accepts one more and dies before returning, as a
    worker killed right after the server took the message."""

    survive = 3
    accepted = 0

    def send_messages(self, messages):
        sent = super().send_messages(messages)
        type(self).accepted += sent
        if type(self).accepted > type(self).survive:
            raise WorkerKilled
        return sent


def test_a_worker_killed_mid_batch_leaves_one_duplicate_at_most(world, settings, monkeypatch):
    alliance = fresh(world, per_side=3)  # 8 participants
    survey_round = survey_round_open(alliance, now=at("2026-12-01", 9))
    participants = survey_round.invitations.count()
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.DyingMailer"}}
    monkeypatch.setattr(DyingMailer, "accepted", 0)
    now = at("2026-12-01", 10)
    with pytest.raises(WorkerKilled):
        jobs.send_survey_emails(now=now)
    assert DyingMailer.accepted == DyingMailer.survive + 1  # it died after the 4th message
    assert survey_round.invitations.filter(sent_at__isnull=False).count() == DyingMailer.survive

    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    jobs.send_survey_emails(now=now + timedelta(minutes=5))  # the dead run's lease holds
    assert len(mail.outbox) == DyingMailer.survive + 1
    jobs.send_survey_emails(now=now + sending.LEASE + timedelta(minutes=1))
    jobs.send_survey_emails(now=now + sending.LEASE + timedelta(minutes=2))

    invitations = survey_round.invitations.select_related("contact")
    assert all(i.sent_at is not None for i in invitations)
    assert len(mail.outbox) <= participants + 1
    assert len(mail.outbox) == participants + 1  # the message in flight went twice
    assert set(sent_to()) == {i.contact.email for i in invitations}


# --- failures ------------------------------------------------------------------------------------


class RefusingMailer(EmailBackend):
    """The test mailer as an SMTP server that refuses some recipients or drops the line."""

    refuse: dict[str, int] = {}  # address → SMTP code
    disconnect_at: int | None = None  # the n-th message (1-based) drops the connection
    open_fails = False
    tried: list[str] = []

    def open(self):
        if type(self).open_fails:
            raise ConnectionRefusedError("mail server down")
        return super().open()

    def send_messages(self, messages):
        for message in messages:
            type(self).tried.append(message.to[0])
            if len(type(self).tried) == type(self).disconnect_at:
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
            code = type(self).refuse.get(message.to[0])
            if code:
                raise smtplib.SMTPRecipientsRefused({message.to[0]: (code, b"refused")})
        return super().send_messages(messages)


@pytest.fixture
def refusing(settings, monkeypatch):
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.RefusingMailer"}}
    monkeypatch.setattr(RefusingMailer, "refuse", {})
    monkeypatch.setattr(RefusingMailer, "disconnect_at", None)
    monkeypatch.setattr(RefusingMailer, "open_fails", False)
    monkeypatch.setattr(RefusingMailer, "tried", [])
    return RefusingMailer


@pytest.fixture
def opened(world):
    """A round opened at 9:00 on 1 December 2026 with six participants, nothing sent."""
    alliance = fresh(world)
    survey_round = survey_round_open(alliance, now=at("2026-12-01", 9))
    return SimpleNamespace(
        round=survey_round,
        now=at("2026-12-01", 10),
        emails=sorted(survey_round.invitations.values_list("contact__email", flat=True)),
    )


def test_temporary_refusal_is_retried_after_the_backoff_not_before(opened, refusing):
    victim = opened.emails[0]
    refusing.refuse = {victim: 451}
    jobs.send_survey_emails(now=opened.now)
    invitation = SurveyInvitation.objects.get(contact__email=victim)
    assert invitation.sent_at is None and invitation.failed_at is None
    assert invitation.attempts == 1
    assert invitation.next_email_at == opened.now + sending.backoff(1)
    assert sent_to() == [e for e in opened.emails if e != victim]  # the others went

    refusing.refuse = {}
    jobs.send_survey_emails(now=opened.now + sending.backoff(1) - timedelta(seconds=1))
    assert refusing.tried.count(victim) == 1  # not before the backoff
    jobs.send_survey_emails(now=opened.now + sending.backoff(1))
    assert refusing.tried.count(victim) == 2
    invitation.refresh_from_db()
    assert invitation.sent_at is not None and invitation.attempts == 0
    assert sent_to() == opened.emails  # everyone once
    assert Contact.objects.get(email=victim).email_failed_at is None


def test_a_dropped_connection_retries_the_rest_of_the_batch_later(opened, refusing):
    refusing.disconnect_at = 3
    jobs.send_survey_emails(now=opened.now)
    assert len(mail.outbox) == 2
    unsent = opened.round.invitations.filter(sent_at__isnull=True)
    assert unsent.count() == 4
    # Only the message in flight counts an attempt; the others were never tried.
    assert sorted(unsent.values_list("attempts", flat=True)) == [0, 0, 0, 1]
    assert not unsent.filter(next_email_at__lte=opened.now + timedelta(minutes=1)).exists()
    jobs.send_survey_emails(now=opened.now + timedelta(minutes=1))
    assert len(mail.outbox) == 2
    jobs.send_survey_emails(now=opened.now + timedelta(minutes=30))
    assert sent_to() == opened.emails
    assert not opened.round.invitations.filter(failed_at__isnull=False).exists()


def test_a_permanent_refusal_marks_the_contact_and_is_never_retried(opened, refusing):
    victim = opened.emails[1]
    refusing.refuse = {victim: 550}
    jobs.send_survey_emails(now=opened.now)
    invitation = SurveyInvitation.objects.get(contact__email=victim)
    assert invitation.failed_at == opened.now
    assert invitation.sent_at is None and invitation.next_email_at is None
    contact = Contact.objects.get(email=victim)
    assert contact.email_failed_at == opened.now
    assert "550" in contact.email_failure
    # Everyone else got their invitation in the same run, none was held back.
    others = [e for e in opened.emails if e != victim]
    assert sent_to() == others
    assert not opened.round.invitations.exclude(pk=invitation.pk).filter(sent_at__isnull=True)
    for days in (1, 3, 7):
        jobs.send_survey_emails(now=opened.now + timedelta(days=days, minutes=1))
    assert refusing.tried.count(victim) == 1
    assert victim not in sent_to()
    # And the next round does not invite the address at all.
    jobs.close_rounds(now=at("2026-12-20"))
    jobs.open_rounds(now=at("2027-01-01", 10))
    assert not SurveyInvitation.objects.filter(contact=contact, round__period_start__year=2027)


def test_temporary_failures_count_as_failed_after_max_attempts(opened, refusing):
    victim = opened.emails[2]
    refusing.refuse = {victim: 450}
    now = opened.now
    for attempt in range(1, sending.MAX_ATTEMPTS + 1):
        jobs.send_survey_emails(now=now)
        invitation = SurveyInvitation.objects.get(contact__email=victim)
        assert invitation.attempts == attempt
        now += sending.backoff(attempt)
    assert invitation.failed_at is not None and invitation.next_email_at is None
    assert Contact.objects.get(email=victim).email_failed_at is not None
    jobs.send_survey_emails(now=now + timedelta(days=1))
    assert refusing.tried.count(victim) == sending.MAX_ATTEMPTS


def test_a_mail_server_outage_marks_no_address_as_failed(opened, refusing):
    """Connection trouble says nothing about the addresses: however long the server is
    down, nobody's address counts as failed, and everyone gets the invitation once it
    is back."""
    refusing.open_fails = True
    now = opened.now
    for _ in range(sending.MAX_ATTEMPTS * 3):
        jobs.send_survey_emails(now=now)
        now += timedelta(minutes=10)
    assert mail.outbox == []
    assert not opened.round.invitations.filter(failed_at__isnull=False).exists()
    assert not Contact.objects.filter(email_failed_at__isnull=False).exists()
    refusing.open_fails = False
    jobs.send_survey_emails(now=now + timedelta(hours=1))
    assert sent_to() == opened.emails


def test_a_message_that_always_drops_the_connection_does_not_block_the_others(
    opened, refusing, monkeypatch
):
    """The first message of the batch breaks the line every time; after it backs off, the
    others go out."""
    first = opened.round.invitations.order_by("pk").first().contact.email  # sent first

    def send_messages(self, messages):
        refusing.tried.append(messages[0].to[0])
        if messages[0].to[0] == first:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return EmailBackend.send_messages(self, messages)

    monkeypatch.setattr(RefusingMailer, "send_messages", send_messages)
    now = opened.now
    for _ in range(10):
        jobs.send_survey_emails(now=now)
        now += timedelta(minutes=2)
    assert sent_to() == sorted(set(opened.emails) - {first})
    assert SurveyInvitation.objects.get(contact__email=first).attempts > 1


def test_the_task_retries_once_the_failed_emails_are_due_again(opened, refusing, monkeypatch):
    """The task asks Celery for a retry with a countdown that reaches the failed emails'
    backoff (an earlier retry would find nothing due and give up) and stays below the
    broker's visibility timeout (a waiting retry is never handed to a second worker)."""
    refusing.refuse = {opened.emails[0]: 421}
    requested = []

    def retry(**kwargs):
        requested.append(kwargs)
        raise Retry()

    monkeypatch.setattr(send_task, "retry", retry)
    monkeypatch.setattr(tasks, "timezone", SimpleNamespace(now=lambda: opened.now))
    with pytest.raises(Retry):
        send_task(round_ids=[opened.round.pk])
    (kwargs,) = requested
    due = SurveyInvitation.objects.get(contact__email=opened.emails[0]).next_email_at
    assert due == opened.now + sending.backoff(1)
    assert (due - opened.now).total_seconds() <= kwargs["countdown"] < VISIBILITY_TIMEOUT
    assert MAX_RETRY_DELAY < VISIBILITY_TIMEOUT

    # However often it already retried, the countdown stays below the visibility timeout.
    for retries in range(send_task.max_retries + 1):
        refusing.refuse = {opened.emails[0]: 421}
        SurveyInvitation.objects.filter(contact__email=opened.emails[0]).update(
            next_email_at=opened.now, attempts=0
        )
        send_task.push_request(retries=retries)
        try:
            with pytest.raises(Retry):
                send_task.run(round_ids=[opened.round.pk])
        finally:
            send_task.pop_request()
        assert 0 < requested[-1]["countdown"] < VISIBILITY_TIMEOUT


# --- the link's properties -----------------------------------------------------------------------


def test_tokens_come_from_secrets_with_at_least_128_bits(opened, monkeypatch):
    calls = []
    real = secrets.token_urlsafe

    def spy(nbytes=None):
        calls.append(nbytes)
        return real(nbytes)

    monkeypatch.setattr(tokens.secrets, "token_urlsafe", spy)
    jobs.send_survey_emails(now=opened.now)
    assert len(calls) == len(opened.emails)
    assert all(nbytes * 8 >= 128 for nbytes in calls)
    for message in mail.outbox:
        token = links_in(message)[0].split("/")[2]
        assert len(token) >= 22  # 128 bits in URL-safe base64


def test_only_the_hash_is_stored_and_the_token_leaves_the_address_bar(opened, client):
    jobs.send_survey_emails(now=opened.now)
    raw = [links_in(m)[0].split("/")[2] for m in mail.outbox]
    first = client.get(f"/s/{raw[0]}/")
    assert first.status_code == 302 and raw[0] not in first["Location"]
    page = client.get(first["Location"])
    assert page.status_code == 200 and raw[0].encode() not in page.content
    stored = [
        str(value)
        for model in (SurveyLink, SurveyInvitation, Session)
        for row in model.objects.values()
        for value in row.values()
    ]
    for token in raw:
        assert not any(token in value for value in stored)
        assert SurveyLink.objects.filter(token_hash=tokens.token_hash(token)).exists()


def test_every_survey_page_is_private_and_sends_no_referrer(opened, client, settings):
    jobs.send_survey_emails(now=opened.now)
    message = mail.outbox[0]
    link = links_in(message)[0]
    token = link.split("/")[2]
    unsubscribe = f"/s/{token}/unsubscribe/"
    pages = {"link": client.get(link)}
    answer_url = pages["link"]["Location"]
    pages["answer"] = client.get(answer_url)
    pages["answer (invalid POST)"] = client.post(answer_url, {})
    pages["thank-you redirect"] = client.post(answer_url, answers_for(opened.round))
    pages["done"] = client.get("/s/done/")
    pages["unsubscribe"] = client.get(unsubscribe)
    pages["neutral"] = client.get("/s/" + "x" * 43 + "/")
    tampered = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    pages["tampered"] = client.get(f"/s/{tampered}/")
    settings.SURVEY_RATE_LIMIT = 0
    pages["slow down"] = client.get("/s/done/")
    expected = {
        "link": 302,
        "answer": 200,
        "answer (invalid POST)": 400,
        "thank-you redirect": 302,
        "done": 200,
        "unsubscribe": 200,
        "neutral": 404,
        "tampered": 404,
        "slow down": 429,
    }
    assert {name: page.status_code for name, page in pages.items()} == expected
    for name, page in pages.items():
        assert page["Referrer-Policy"] == "no-referrer", name
        cache_control = page["Cache-Control"]
        assert "no-store" in cache_control and "private" in cache_control, name
    assert pages["tampered"].content == pages["neutral"].content


def test_rate_limit_per_client_ignores_a_spoofed_forwarded_for(db, client, settings, monkeypatch):
    settings.SURVEY_RATE_LIMIT = 5
    settings.TRUSTED_PROXY_COUNT = 0
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 1_800_000_000.0))
    url = "/s/" + "x" * 43 + "/"
    statuses = [client.get(url, REMOTE_ADDR="203.0.113.7").status_code for _ in range(5)]
    assert statuses == [404] * 5
    limited = client.get(url, REMOTE_ADDR="203.0.113.7")
    assert limited.status_code == 429
    assert limited["Retry-After"] == "60"
    assert b"Please wait a minute" in limited.content
    spoofed = client.get(url, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert spoofed.status_code == 429
    assert client.get(url, REMOTE_ADDR="203.0.113.8").status_code == 404  # someone else


def test_rate_limit_behind_a_proxy_counts_the_address_the_proxy_saw(
    db, client, settings, monkeypatch
):
    settings.SURVEY_RATE_LIMIT = 3
    settings.TRUSTED_PROXY_COUNT = 1
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 1_800_000_000.0))
    url = "/s/" + "x" * 43 + "/"
    proxy = "10.0.0.1"
    for forged in ("1.1.1.1", "2.2.2.2", "3.3.3.3"):
        header = f"{forged}, 203.0.113.7"
        assert client.get(url, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=header).status_code == 404
    header = "4.4.4.4, 203.0.113.7"
    assert client.get(url, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=header).status_code == 429
    other = client.get(url, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert other.status_code == 404


# --- from the email to the response rate ---------------------------------------------------------


def test_a_link_from_an_email_reaches_the_form_and_counts_in_the_response_rate(opened, client):
    jobs.send_survey_emails(now=opened.now)
    message = next(m for m in mail.outbox if m.to == [opened.emails[0]])
    page = client.get(links_in(message)[0], follow=True)
    assert page.status_code == 200
    assert page.redirect_chain and page.redirect_chain[-1][0].startswith("/s/a/")
    form = page.context["form"]
    data = {name: "na" for name in form.fields if name != "comment"}
    trust = next(q for q in opened.round.questions.all() if q.is_trust)
    data[f"q{trust.pk}"] = "7"
    done = client.post(page.redirect_chain[-1][0], data, follow=True)
    assert done.status_code == 200 and b"Thank you" in done.content
    counted = selectors.with_counts(SurveyRound.objects.filter(pk=opened.round.pk)).get()
    assert (counted.invited, counted.responded) == (len(opened.emails), 1)
    contact = Contact.objects.get(email=opened.emails[0])
    assert getattr(counted, f"responded_{contact.side}") == 1
    assert selectors.rate(counted.responded, counted.invited) == round(100 / len(opened.emails))
