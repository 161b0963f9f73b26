"""gunicorn, a Celery worker and beat as real processes on PostgreSQL and Redis.

Beat ticks the heartbeat job into Redis, the worker runs it against the database, and
gunicorn's /healthz reports the database, the broker and that heartbeat. Runs in CI
(CONCORD_REQUIRE_SERVICES=1); skipped where PostgreSQL and Redis are not configured.
"""

import email
import email.policy
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import need_services

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def start(stack: ExitStack, name: str, args: list[str], env: dict, logs: Path):
    log = open(logs / f"{name}.log", "wb")  # noqa: SIM115 - closed by the ExitStack
    stack.callback(log.close)
    process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def stop():
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()

    stack.callback(stop)
    return process


def process_env(tmp_path: Path, **extra: str) -> dict:
    """The environment of a real process: production settings on the test's database and
    Redis, work files under ``tmp_path``."""
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "test-secret-key-for-real-process-test-0123456789",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.REDIS_URL,
        "CONCORD_TICK_SECONDS": "1",
        "CONCORD_VAR_DIR": str(tmp_path / "var"),
        **extra,
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    env.pop("EMAIL_HOST", None)
    return env


def worker_args() -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "config", "worker", "-c", "1", "-l", "INFO"]


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_healthz_reports_heartbeat_run_by_beat_through_worker(tmp_path):
    need_services()
    port = free_port()
    env = process_env(tmp_path)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    with ExitStack() as stack:
        start(
            stack,
            "gunicorn",
            [str(BIN / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2"],
            env,
            tmp_path,
        )
        start(stack, "worker", worker_args(), env, tmp_path)
        start(
            stack,
            "beat",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "-l",
                "INFO",
                "-s",
                str(tmp_path / "beat-schedule"),
            ],
            env,
            tmp_path,
        )
        url = f"http://127.0.0.1:{port}/healthz"
        deadline = time.monotonic() + 90
        status, body = None, {}
        while time.monotonic() < deadline:
            try:
                status, body = get_json(url)
            except (urllib.error.URLError, ConnectionError, json.JSONDecodeError):
                status, body = None, {}
            if status == 200 and body.get("heartbeat") == "ok":
                break
            time.sleep(1)
        logs = {p.name: p.read_text(errors="replace")[-2000:] for p in tmp_path.glob("*.log")}
        assert status == 200, (status, body, logs)
        assert body["database"] == "ok"
        assert body["broker"] == "ok"
        assert body["heartbeat"] == "ok", (body, logs)
        assert body["jobs"]["heartbeat"]["runs"] >= 1
        assert body["last_job_run"]
        # gunicorn serves real pages with production settings and collected static files.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/") as page:  # noqa: S310
            html = page.read().decode()
            assert page.status == 200
            assert "Sign in to Concord" in html
            assert "Content-Security-Policy" in page.headers


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_worker_sends_the_invitations_of_a_newly_opened_round(world, settings, tmp_path):
    """Opening a round enqueues ``send_survey_emails`` on commit; a real worker process
    picks it up from Redis and writes each participant's invitation to its outbox."""
    need_services()
    from surveys.models import SurveyInvitation
    from surveys.tasks import send_survey_emails
    from tests.factories import ContactFactory, survey_round_open

    outbox = tmp_path / "outbox"
    env = process_env(tmp_path, EMAIL_FILE_PATH=str(outbox), SITE_URL="http://127.0.0.1")
    settings.CELERY_TASK_ALWAYS_EAGER = False  # this process only enqueues
    send_survey_emails.app.control.purge()  # nothing left over from an earlier run
    alliance = world.shared
    ContactFactory.create_batch(3, alliance=alliance)
    with ExitStack() as stack:
        start(stack, "worker", worker_args(), env, tmp_path)
        survey_round = survey_round_open(alliance)
        invitations = SurveyInvitation.objects.filter(round=survey_round)
        expected = set(invitations.values_list("contact__email", flat=True))
        assert len(expected) == 5
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and invitations.filter(sent_at__isnull=True).exists():
            time.sleep(0.5)
        logs = {p.name: p.read_text(errors="replace")[-3000:] for p in tmp_path.glob("*.log")}
        assert not invitations.filter(sent_at__isnull=True).exists(), logs
    messages = [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(outbox.glob("*.eml"))
    ]
    assert sorted(str(m["to"]) for m in messages) == sorted(expected)
    for message in messages:
        assert alliance.name in str(message["subject"])
        body = message.get_body(preferencelist=("plain",)).get_content()
        assert "http://127.0.0.1/s/" in body
    assert all(i.last_emailed_at and i.attempts == 0 for i in invitations)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_worker_delivers_a_signed_webhook(world, settings, tmp_path, receiver):
    """A stage change commits its event; a real worker process takes the delivery from
    Redis and POSTs it, signed, to a real HTTP server."""
    need_services()
    from alliances import services, webhooks
    from alliances.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
    from alliances.tasks import deliver_webhook
    from tests.conftest import verify

    env = process_env(tmp_path, WEBHOOKS_ALLOW_HTTP="1", WEBHOOKS_ALLOW_PRIVATE_NETWORKS="1")
    settings.CELERY_TASK_ALWAYS_EAGER = False  # this process only enqueues
    deliver_webhook.app.control.purge()
    endpoint = webhooks.endpoint_save(
        endpoint=WebhookEndpoint(
            organization=world.northwind, url=receiver.url, events=["alliance.stage_changed"]
        )
    )
    with ExitStack() as stack:
        start(stack, "worker", worker_args(), env, tmp_path)
        services.stage_advance(
            alliance=world.shared,
            user=world.ada,
            organization=world.northwind,
            note="Ready",
            override_reason="Go",
        )
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not receiver.requests:
            time.sleep(0.5)
        logs = {p.name: p.read_text(errors="replace")[-3000:] for p in tmp_path.glob("*.log")}
        assert len(receiver.requests) == 1, logs
        while time.monotonic() < deadline:
            delivery.refresh_from_db()
            if delivery.status == DeliveryStatus.SUCCEEDED:
                break
            time.sleep(0.2)
    body = verify(endpoint.secret, receiver.requests[0])
    assert body["type"] == "alliance.stage_changed"
    assert body["data"]["alliance"]["id"] == world.shared.pk
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.last_status_code == 200
