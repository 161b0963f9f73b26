"""The pulse survey from the job's point of view to the respondent's: rounds open on
schedule, emails carry one-time links, the link is safe against scanners and is used once."""

import re
from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from alliances.jobs import run_job
from alliances.models import Contact, Side
from alliances.tokens import token_hash
from surveys import services
from surveys.models import (
    Answer,
    Response,
    RoundKind,
    SurveyInvitation,
    SurveyLink,
    SurveyRound,
    SurveySettings,
)
from tests.factories import ContactFactory, survey_round_open


def at(day: str, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime.fromisoformat(day).replace(hour=hour))


def links_in(message) -> list[str]:
    return re.findall(r"http://testserver(/s/[^/\s]+/)(?!unsubscribe)", message.body)


def run_survey_jobs(now):
    for name in ("close_rounds", "open_rounds", "send_survey_emails"):
        run_job(name, now=now)


@pytest.fixture
def team(world):
    """The shared alliance with three people per side; the world's other alliances paused."""
    alliance = world.shared
    SurveyRound.objects.all().delete()  # the world's history; these tests start afresh
    for other in (world.litware, world.fabrikam_alliance):
        SurveySettings.objects.create(alliance=other, paused=True)
    for side in (Side.LEAD, Side.PARTNER):
        ContactFactory.create_batch(2, alliance=alliance, side=side)
    return alliance


def test_jobs_open_one_round_per_period_and_email_each_participant_once(team):
    now = at("2026-12-01", 10)
    run_survey_jobs(now)
    run_survey_jobs(now + timedelta(minutes=1))
    rounds = SurveyRound.objects.filter(alliance=team)
    assert rounds.count() == 1
    survey_round = rounds.get()
    assert survey_round.kind == RoundKind.SCHEDULED
    assert str(survey_round.period_start) == "2026-12-01"
    assert survey_round.questions.count() == services.ROUND_SIZE
    participants = team.contacts.filter(is_active=True).count()
    assert survey_round.invitations.count() == participants == 6
    assert survey_round.invitations.filter(sent_at__isnull=False).count() == participants
    emails = set(team.contacts.values_list("email", flat=True))
    to = sorted(m.to[0] for m in mail.outbox if m.to[0] in emails)
    assert to == sorted(emails)  # each once
    assert len(mail.outbox) == SurveyInvitation.objects.count()


def test_invitation_email_has_link_unsubscribe_and_what_is_stored(team):
    survey_round_open(team)
    run_job("send_survey_emails")
    message = mail.outbox[0]
    assert team.name in message.subject
    html = message.alternatives[0].content
    for part in (message.body, html):
        assert team.name in part
        assert "two minutes" in part
        assert "never your name or email" in part
    (link,) = links_in(message)
    token = link.split("/")[2]
    assert len(token) >= 22  # 128+ bits in URL-safe base64
    assert not SurveyLink.objects.filter(token_hash=token).exists()
    assert SurveyLink.objects.filter(token_hash=token_hash(token)).exists()
    unsubscribe = message.extra_headers["List-Unsubscribe"]
    assert unsubscribe == f"<http://testserver/s/{token}/unsubscribe/>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_link_get_twice_then_post_counts_once(client, team):
    survey_round = survey_round_open(team)
    run_job("send_survey_emails")
    (link,) = links_in(mail.outbox[0])
    first = client.get(link)
    assert first.status_code == 302
    assert first["Referrer-Policy"] == "no-referrer"
    answer_url = first["Location"]
    assert link.split("/")[2] not in answer_url
    second = client.get(link)
    assert second["Location"] == answer_url
    page = client.get(answer_url)
    assert page.status_code == 200
    assert page["Referrer-Policy"] == "no-referrer"
    assert SurveyInvitation.objects.filter(responded_on__isnull=False).count() == 0
    data = {f"q{q.pk}": "10" if q.is_trust else "4" for q in survey_round.questions.all()}
    data["comment"] = "Good month."
    done = client.post(answer_url, data)
    assert done.status_code == 302
    assert Response.objects.filter(round=survey_round).count() == 1
    assert Answer.objects.filter(round=survey_round).count() == services.ROUND_SIZE
    again = client.post(answer_url, data)
    assert again.status_code == 302  # same session: back to the thank-you page
    assert Response.objects.filter(round=survey_round).count() == 1
    used = client.get(link)
    assert used.status_code == 404
    assert b"This link cannot be used" in used.content


def test_invalid_expired_and_used_links_look_the_same(client, team, world):
    survey_round = survey_round_open(team)
    run_job("send_survey_emails")
    used_link, expired_link, *_ = [links_in(m)[0] for m in mail.outbox]
    answer_url = client.get(used_link)["Location"]
    data = {f"q{q.pk}": "5" if q.is_trust else "na" for q in survey_round.questions.all()}
    assert client.post(answer_url, data).status_code == 302
    pages = [client.get(used_link), client.get("/s/" + "x" * 43 + "/")]
    SurveyRound.objects.filter(pk=survey_round.pk).update(closed_at=timezone.now())
    pages.append(client.get(expired_link))
    assert {p.status_code for p in pages} == {404}
    assert len({p.content for p in pages}) == 1


def test_bad_answers_are_explained_and_nothing_is_stored(client, team):
    survey_round = survey_round_open(team)
    run_job("send_survey_emails")
    answer_url = client.get(links_in(mail.outbox[0])[0])["Location"]
    questions = list(survey_round.questions.all())
    data = {f"q{q.pk}": "11" if q.is_trust else "6" for q in questions}
    data[f"q{questions[1].pk}"] = ""
    data["comment"] = "x" * 2001
    page = client.post(answer_url, data)
    assert page.status_code == 400
    body = page.content.decode()
    assert "Please pick one of the options shown." in body
    assert "Please pick an answer" in body
    assert "2,000 characters" in body or "2000 characters" in body
    assert Response.objects.count() == 0
    assert SurveyInvitation.objects.filter(responded_on__isnull=False).count() == 0


def test_post_with_someone_elses_session_is_refused(client, team):
    survey_round = survey_round_open(team)
    run_job("send_survey_emails")
    answer_url = client.get(links_in(mail.outbox[0])[0])["Location"]
    client.cookies.clear()
    data = {f"q{q.pk}": "5" if q.is_trust else "3" for q in survey_round.questions.all()}
    assert client.post(answer_url, data).status_code == 404
    assert Response.objects.count() == 0


def test_response_table_cannot_lead_back_to_a_person():
    fields = {f.name for f in Response._meta.get_fields()} | {
        f.name for f in Answer._meta.get_fields()
    }
    for name in fields:
        assert "contact" not in name and "invitation" not in name and "email" not in name
    submitted = Response._meta.get_field("submitted_on")
    assert submitted.get_internal_type() == "DateField"
    assert Response._meta.pk.get_internal_type() == "UUIDField"


def test_reminders_go_to_non_respondents_on_their_days_and_stop_at_close(team):
    opens = at("2026-12-01", 9)
    run_survey_jobs(opens)
    survey_round = SurveyRound.objects.get(alliance=team)
    assert survey_round.reminder_days == [3, 7]
    responder = survey_round.invitations.first()
    services.response_submit(
        invitation=responder,
        answers={q.pk: 7 if q.is_trust else 3 for q in survey_round.questions.all()},
        comment="",
        now=opens + timedelta(days=1),
    )
    mail.outbox.clear()
    run_survey_jobs(opens + timedelta(days=2, hours=23))
    assert mail.outbox == []
    run_survey_jobs(opens + timedelta(days=3, minutes=1))
    run_survey_jobs(opens + timedelta(days=3, minutes=2))
    reminded = sorted(m.to[0] for m in mail.outbox)
    others = sorted(
        survey_round.invitations.exclude(pk=responder.pk).values_list("contact__email", flat=True)
    )
    assert reminded == others
    assert all("Reminder" in m.subject for m in mail.outbox)
    mail.outbox.clear()
    run_survey_jobs(opens + timedelta(days=7, minutes=1))
    assert len(mail.outbox) == len(others)
    mail.outbox.clear()
    run_survey_jobs(opens + timedelta(days=10, minutes=1))  # closed
    run_survey_jobs(opens + timedelta(days=20))
    assert mail.outbox == []
    assert SurveyRound.objects.get(pk=survey_round.pk).closed_at == survey_round.closes_at


def test_paused_alliance_opens_no_round(team):
    SurveySettings.objects.create(alliance=team, paused=True)
    run_survey_jobs(at("2026-12-01", 10))
    assert not SurveyRound.objects.filter(alliance=team).exists()


def test_unsubscribe_from_email_stops_reminders(client, team):
    survey_round_open(team)
    run_job("send_survey_emails")
    message = mail.outbox[0]
    url = message.extra_headers["List-Unsubscribe"].strip("<>").removeprefix("http://testserver")
    page = client.get(url)
    assert page.status_code == 200
    contact = Contact.objects.get(email=message.to[0])
    assert contact.pulse_unsubscribed_at is None  # a GET (a scanner) changes nothing
    one_click = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200
    contact.refresh_from_db()
    assert contact.pulse_unsubscribed_at is not None
    assert not SurveyInvitation.objects.filter(contact=contact, next_email_at__isnull=False)


def test_a_stale_form_gets_a_plain_explanation_not_djangos_csrf_page(team):
    from django.test import Client

    survey_round = survey_round_open(team)
    run_job("send_survey_emails")
    strict = Client(enforce_csrf_checks=True)
    answer_url = strict.get(links_in(mail.outbox[0])[0])["Location"]
    data = {f"q{q.pk}": "5" if q.is_trust else "3" for q in survey_round.questions.all()}
    page = strict.post(answer_url, data)  # no CSRF token
    assert page.status_code == 403
    assert b"Please send your answers again" in page.content
    assert page["Referrer-Policy"] == "no-referrer"
    assert Response.objects.count() == 0


def test_an_off_cycle_round_stands_in_for_the_periods_scheduled_round(team, world):
    opened = at("2026-11-27", 10)
    services.round_open_off_cycle(
        alliance=team, user=world.ada, reason="The partner reorganised its sales team", now=opened
    )
    run_survey_jobs(at("2026-12-01", 10))  # the off-cycle round is still open
    run_survey_jobs(at("2026-12-08", 10))  # closed now, but it was this period's round
    assert list(SurveyRound.objects.filter(alliance=team).values_list("kind", flat=True)) == [
        RoundKind.OFF_CYCLE
    ]
    run_survey_jobs(at("2027-01-01", 10))
    assert SurveyRound.objects.filter(alliance=team, kind=RoundKind.SCHEDULED).count() == 1


def test_no_referrer_pages_still_post_with_the_csrf_token_but_only_under_s(team, world):
    """Browsers send "Origin: null" and no Referer from a no-referrer page; the survey form
    must still work (over HTTPS too), on its CSRF token alone, and nowhere else."""
    from django.test import Client

    survey_round = survey_round_open(team)
    run_job("send_survey_emails")
    browser = Client(enforce_csrf_checks=True, HTTP_ORIGIN="null")
    answer_url = browser.get(links_in(mail.outbox[0])[0], secure=True)["Location"]
    form = browser.get(answer_url, secure=True)
    token = form.context["csrf_token"]
    data = {f"q{q.pk}": "5" if q.is_trust else "3" for q in survey_round.questions.all()}
    assert browser.post(answer_url, data, secure=True).status_code == 403  # no token
    sent = browser.post(answer_url, {**data, "csrfmiddlewaretoken": token}, secure=True)
    assert sent.status_code == 302
    assert Response.objects.count() == 1
    browser.force_login(world.ada)
    elsewhere = browser.post(
        "/accounts/logout/", {"csrfmiddlewaretoken": browser.cookies["csrftoken"].value}
    )
    assert elsewhere.status_code == 403  # Origin: null is refused outside /s/
