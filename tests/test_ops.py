"""Operations: /healthz, the run_jobs command, the Celery task, and the dev outbox."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from alliances.jobs import PERIODIC_JOBS
from alliances.mail import send_templated
from alliances.models import JobRun
from alliances.tasks import run_periodic_job
from tests.factories import UserFactory

OUTBOX_MAILERS = {"default": {"BACKEND": "alliances.mail.OutboxEmailBackend"}}


def run_jobs(*args):
    call_command("run_jobs", *args, stdout=io.StringIO())


def health(client=None):
    response = (client or Client()).get("/healthz")
    return response.status_code, response.json()


# --- /healthz ------------------------------------------------------------------------------


def test_healthz_reports_database_broker_and_a_stale_heartbeat_before_any_run(db):
    status, body = health()
    assert status == 200
    assert body["status"] == "ok"
    assert body["database"] == "ok" and body["broker"] == "ok"
    assert body["heartbeat"] == "stale"
    assert body["last_job_run"] is None


def test_healthz_heartbeat_is_ok_after_run_jobs(db):
    run_jobs()
    status, body = health()
    assert status == 200
    assert body["heartbeat"] == "ok"
    assert body["last_job_run"] is not None
    assert body["jobs"]["heartbeat"]["runs"] == 1 and body["jobs"]["heartbeat"]["ok"]


def test_healthz_heartbeat_goes_stale_when_jobs_stop(db, settings):
    run_jobs()
    JobRun.objects.filter(name="heartbeat").update(
        last_finished_at=timezone.now() - settings.HEARTBEAT_STALE_AFTER - timedelta(seconds=1)
    )
    status, body = health()
    assert status == 200  # the web tier still works; monitors alert on the field
    assert body["heartbeat"] == "stale"


def test_healthz_with_an_unreachable_broker_is_503(db, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    status, body = health()
    assert status == 503
    assert body["status"] == "error"
    assert body["broker"] == "error"
    assert body["database"] == "ok"


def test_healthz_needs_no_login_and_is_not_cached(db):
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


# --- run_jobs ------------------------------------------------------------------------------


def test_run_jobs_twice_is_harmless(db):
    run_jobs()
    run_jobs()
    assert sorted(JobRun.objects.values_list("name", flat=True)) == sorted(
        job.name for job in PERIODIC_JOBS
    )
    assert set(JobRun.objects.values_list("runs", flat=True)) == {2}
    run = JobRun.objects.get(name="heartbeat")
    assert run.last_error == ""
    assert run.last_finished_at >= run.last_started_at


def test_run_jobs_now_sets_the_clock(db, settings):
    run_jobs("--now", "2026-12-01T09:00")
    run = JobRun.objects.get(name="heartbeat")
    assert run.last_now == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    run_jobs("--now", "2027-01-15T10:30:00+02:00")
    run.refresh_from_db()
    assert run.last_now == datetime(2027, 1, 15, 8, 30, tzinfo=UTC)
    run_jobs("--now", "2027-02-01")
    run.refresh_from_db()
    assert run.last_now == datetime(2027, 2, 1, 0, 0, tzinfo=UTC)
    assert run.runs == 3


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01T09:00", "2026-12-01T25:00", ""])
def test_run_jobs_with_a_bad_now_is_a_clear_error(db, value):
    with pytest.raises(CommandError) as error:
        run_jobs("--now", value)
    assert "not an ISO date-time" in str(error.value)
    assert not JobRun.objects.exists()


def test_run_jobs_with_an_unknown_job_is_a_clear_error(db):
    with pytest.raises(CommandError) as error:
        run_jobs("--job", "nope")
    assert "Unknown job(s): nope" in str(error.value) and "heartbeat" in str(error.value)
    run_jobs("--job", "heartbeat")
    assert JobRun.objects.get(name="heartbeat").runs == 1


def test_the_celery_task_runs_a_job_in_eager_mode(db, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    result = run_periodic_job.delay("heartbeat")
    assert result.successful()
    run = JobRun.objects.get(name="heartbeat")
    assert run.runs == 1 and run.last_finished_at is not None
    run_periodic_job.delay("heartbeat")
    run.refresh_from_db()
    assert run.runs == 2


# --- the dev outbox ------------------------------------------------------------------------


@pytest.fixture
def outbox(settings, tmp_path):
    settings.MAILERS = OUTBOX_MAILERS
    settings.OUTBOX_PATH = tmp_path / "outbox"
    settings.DEBUG = True
    return settings.OUTBOX_PATH


def send_invitation_like_email():
    send_templated(
        to=["someone@example.com"],
        template="member_invitation",
        context={
            "invitation": {
                "organization": "Northwind",
                "email": "someone@example.com",
                "get_role_display": "Viewer",
            },
            "link": "http://testserver/join/abc123/",
            "inviter": "Ada",
        },
    )


def test_outbox_backend_writes_eml_files_and_staff_read_them(db, outbox, client):
    send_invitation_like_email()
    files = list(outbox.glob("*.eml"))
    assert len(files) == 1
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    response = client.get("/dev/outbox/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Ada invited you to Northwind on Concord" in page
    assert "someone@example.com" in page
    assert 'href="http://testserver/join/abc123/"' in page


def test_outbox_is_empty_before_any_mail(db, outbox, client):
    client.force_login(UserFactory(is_staff=True))
    response = client.get("/dev/outbox/")
    assert response.status_code == 200
    assert "No emails yet." in response.content.decode()


def test_outbox_is_hidden_from_non_staff_and_without_debug(db, outbox, client, settings):
    send_invitation_like_email()
    client.force_login(UserFactory(is_staff=False))
    assert client.get("/dev/outbox/").status_code == 404
    client.force_login(UserFactory(is_staff=True))
    settings.DEBUG = False
    assert client.get("/dev/outbox/").status_code == 404
    assert Client().get("/dev/outbox/").status_code == 302  # anonymous: sign in first


@pytest.mark.parametrize(
    "template, context",
    [
        ("escalation_moved", {"escalation": {"title": "R&D <x>"}, "alliance": {"name": "A&B"}}),
        ("steering_digest", {"alliance": {"name": "A&B"}, "round": {"label": "May <2026>"}}),
        ("partner_invitation", {"alliance": {"name": "A&B"}, "inviter": "Q&A"}),
    ],
)
def test_email_subjects_are_plain_text_not_html_escaped(template, context):
    """A subject is plain text: "R&D" stays "R&D", never "R&amp;D"."""
    from django.template.loader import render_to_string

    subject = render_to_string(f"emails/{template}_subject.txt", context)
    assert "&amp;" not in subject and "&lt;" not in subject and "A&B" in subject
