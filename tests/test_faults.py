"""Faults on the real topology (gunicorn, Celery worker and beat, PostgreSQL, Redis, an SMTP
server on loopback), each test asserting first that the fault really happened:

- a worker SIGKILLed in the middle of sending invitations;
- Redis stopped while people answer and managers open rounds;
- the SMTP server refusing connections;
- PostgreSQL restarted under gunicorn;
- two beats ticking at once.

Runs in CI (CONCORD_REQUIRE_SERVICES=1).
"""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.utils import timezone

from tests.conftest import need_services
from tests.topology import (
    Browser,
    SmtpSink,
    Topology,
    answer_survey,
    api_call,
    close_window,
    enqueue_only,
    free_port,
    pulse_world,
    round_open_now,
)

INVITATION = "two minutes on how the alliance is going"


# --- a. a worker killed mid-send ------------------------------------------------------------


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_send_leaves_no_one_without_and_no_one_twice(tmp_path, settings):
    """40 invitations through a slow SMTP server; the worker (and its pool) is SIGKILLed
    part-way. A new worker and beat finish the job once the dead run's lease is over."""
    need_services()
    enqueue_only(settings)
    from surveys.models import SurveyInvitation

    world = pulse_world(name="Kill", contacts_per_side=20, due=False)
    emails = {c.email for c in world.contacts}
    with ExitStack() as stack:
        sink = SmtpSink(delay=0.15).accept()
        stack.callback(sink.refuse)
        topo = Topology(stack, tmp_path)
        topo.use_sink(sink)
        worker = topo.worker()
        survey_round, _ = round_open_now(world.alliance)
        invitations = SurveyInvitation.objects.filter(round=survey_round)
        assert invitations.count() == 40
        # The sweep a worker runs when a round opens (as the job does, without beat yet).
        from surveys.tasks import send_survey_emails

        send_survey_emails.delay([survey_round.pk])
        topo.wait_for(
            lambda: len(sink.received(INVITATION)) >= 8,
            timeout=60,
            what="the worker to be part-way through the batch",
            every=0.05,
        )
        worker.kill(signal.SIGKILL)
        worker.popen.wait(timeout=10)
        time.sleep(1)  # the message in flight, if the sink took it, is recorded by now
        marked = invitations.filter(sent_at__isnull=False).count()
        delivered = len(sink.received(INVITATION))
        assert 0 < marked < 40 and delivered < 40, (marked, delivered, topo.logs())
        assert delivered - marked <= 1  # at most the message in flight is unmarked
        stranded = invitations.filter(sent_at__isnull=True, claimed_until__gt=timezone.now())
        assert stranded.count() == 40 - marked, "the dead run's batch is still leased"

        # The dead run's lease (15 minutes) runs out; a new worker and beat take over.
        stranded.update(claimed_until=timezone.now() - timedelta(seconds=1))
        topo.worker("worker-restarted")
        topo.beat()
        topo.wait_for(
            lambda: not invitations.filter(sent_at__isnull=True).exists(),
            timeout=90,
            what="every invitation to be marked sent after the restart",
        )
        time.sleep(3)  # a few more sweeps: nothing more may go out
        counts = sink.recipients(INVITATION)
        logs = topo.logs()
    assert set(counts) == emails, (set(emails) - set(counts), logs)
    assert max(counts.values()) <= 2, counts
    assert sum(n - 1 for n in counts.values()) <= 1, counts  # only the message in flight
    for invitation in invitations:
        assert invitation.sent_at and invitation.reminders_sent == 0, invitation
        assert invitation.claimed_until is None and invitation.attempts == 0


# --- b. Redis stopped -----------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of this test's own on a free port, so stopping it harms nobody."""

    def __init__(self, stack: ExitStack, tmp_path: Path):
        self.port = free_port()
        self.args = [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ]
        self.log = tmp_path / "redis.log"
        self.process = None
        stack.callback(self.stop)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def ping(self) -> bool:
        result = subprocess.run(
            ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
        )
        return result.stdout.strip() == "PONG"

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not self.ping():
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_redis_down_pages_and_answers_work_and_the_sweep_catches_up(tmp_path, settings):
    """With Redis (broker, cache, sessions' cache) stopped, the survey pages answer and
    store, the pages and API work, and a round opened meanwhile (whose send task could not
    be enqueued) has its invitations sent by the periodic sweep once Redis is back."""
    need_services()
    enqueue_only(settings)
    from surveys.models import Response, SurveyInvitation, SurveyRound

    answering = pulse_world(name="Answering", due=False)
    opening = pulse_world(name="Opening", due=False)
    survey_round, links = round_open_now(answering.alliance, links=True)
    with ExitStack() as stack:
        redis = PrivateRedis(stack, tmp_path)
        redis.start()
        sink = SmtpSink().accept()
        stack.callback(sink.refuse)
        topo = Topology(
            stack, tmp_path, REDIS_URL=redis.url, CELERY_BROKER_URL=redis.url, EMAIL_TIMEOUT="5"
        )
        topo.use_sink(sink)
        topo.collectstatic()
        topo.gunicorn()
        worker, beat = topo.worker(), topo.beat()
        browser = Browser(topo.base_url)
        assert browser.get("/accounts/login/").status == 200
        topo.wait_for(
            lambda: " ready." in worker.tail() and "Sending due task" in beat.tail(),
            timeout=60,
            what="the worker and beat to be connected",
        )

        redis.stop()
        assert not redis.ping()
        health = browser.get("/healthz")
        assert health.status == 503 and "broker" in health.text, (health.status, health.text)

        # People keep answering: every link works and every answer is stored.
        for link in links:
            page = answer_survey(Browser(topo.base_url), link)
            assert page.status == 302 and page.location.endswith("/s/done/"), (
                page.status,
                page.text[:300],
                topo.logs(),
            )
        assert Response.objects.filter(round=survey_round).count() == len(links)
        assert browser.get("/accounts/login/").status == 200
        # A manager opens an off-cycle round through the API: stored, its send task lost.
        status, body = api_call(
            topo.base_url,
            "POST",
            f"/api/v1/organizations/{opening.lead.slug}/alliances/{opening.alliance.pk}/rounds/",
            opening.key,
            {"reason": "Reorganisation at the partner"},
        )
        assert status == 201, (status, body, topo.logs())
        opened = SurveyRound.objects.get(alliance=opening.alliance)
        invitations = SurveyInvitation.objects.filter(round=opened)
        assert invitations.count() == 4
        assert "could not enqueue survey emails" in topo.processes["gunicorn"].tail(20000)
        time.sleep(2)
        assert not sink.received(), "nothing can be sent while the broker is down"

        # Redis returns; the worker and beat that ran through the outage reconnect, and
        # the sweep sends what could not be enqueued.
        redis.start()
        recipients = {c.email for c in opening.contacts}
        topo.wait_for(
            lambda: set(sink.recipients(INVITATION)) == recipients,
            timeout=60,
            what="the sweep to send the round opened while Redis was down",
        )
        topo.wait_for(
            lambda: not invitations.filter(sent_at__isnull=True).exists(),
            timeout=10,
            what="the invitations to be marked sent",
        )
        assert browser.get("/healthz").status == 200
        assert worker.alive and beat.alive
        assert "Connection to broker lost" in worker.tail(50000), "the worker saw the outage"
    assert sorted(sink.recipients(INVITATION).values()) == [1] * len(recipients)


# --- c. SMTP refusing connections -----------------------------------------------------------


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_smtp_refusing_connections_retries_with_backoff_then_delivers(tmp_path, settings):
    """The mail server refuses connections: the send task backs off (EMAIL_RETRY_SECONDS,
    capped well inside the broker's visibility timeout) and delivers once it is back."""
    need_services()
    enqueue_only(settings)
    from surveys.models import SurveyInvitation
    from surveys.tasks import MAX_RETRY_DELAY, send_survey_emails

    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert visibility > MAX_RETRY_DELAY
    world = pulse_world(name="Refused", due=False)
    emails = {c.email for c in world.contacts}
    with ExitStack() as stack:
        sink = SmtpSink()  # not listening: connections to its port are refused
        stack.callback(sink.refuse)
        topo = Topology(stack, tmp_path, EMAIL_RETRY_SECONDS="2")
        topo.use_sink(sink)
        topo.worker()  # no beat: only the task's own retries can deliver
        survey_round, _ = round_open_now(world.alliance)
        invitations = SurveyInvitation.objects.filter(round=survey_round)
        started = timezone.now()
        send_survey_emails.delay([survey_round.pk])
        worker = topo.processes["worker"]
        topo.wait_for(
            lambda: worker.tail(20000).count("Retry in") >= 2,
            timeout=30,
            what="the send task to retry twice",
        )
        refused = list(invitations)
        assert all(i.sent_at is None and "Connection refused" in i.last_error for i in refused), [
            i.last_error for i in refused
        ]
        assert all(i.attempts == 0 and i.failed_at is None for i in refused)  # no address blamed
        assert all(i.next_email_at > started for i in refused)  # backed off
        # Each retry waits for the postponed emails to be due again: EMAIL_RETRY_SECONDS.
        delays = [float(d) for d in re.findall(r"Retry in ([\d.]+)s", worker.tail(20000))]
        assert len(delays) >= 2 and all(2 <= d <= MAX_RETRY_DELAY for d in delays), delays

        sink.accept()
        topo.wait_for(
            lambda: not invitations.filter(sent_at__isnull=True).exists(),
            timeout=30,
            what="the retried task to deliver once the server is back",
        )
    assert sorted(sink.recipients(INVITATION).elements()) == sorted(emails)


# --- d. PostgreSQL restarted ----------------------------------------------------------------


class PrivatePostgres:
    """A PostgreSQL cluster of this test's own (initdb in a temporary folder, a free port),
    so restarting it harms nobody. Runs as the ``postgres`` user when the test runs as
    root, since PostgreSQL refuses to run as root."""

    def __init__(self, stack: ExitStack):
        binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        self.bin = binaries[-1].parent if binaries else None
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="concord-pg-"))
        stack.callback(shutil.rmtree, self.dir, ignore_errors=True)
        self.data = self.dir / "data"
        self.as_user = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        stack.callback(self.stop)

    def run(self, *args: str) -> None:
        subprocess.run(
            [*self.as_user, *args], check=True, capture_output=True, cwd=self.dir, timeout=120
        )

    def init(self) -> None:
        self.run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.dir / "pg.log"),
            "-w",
            "start",
        )

    def restart(self) -> None:
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        self.start()

    def stop(self) -> None:
        if self.bin and (self.data / "postmaster.pid").exists():
            subprocess.run(
                [*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate"]
                + ["stop"],
                capture_output=True,
                timeout=60,
            )

    def postmaster_pid(self) -> str:
        return (self.data / "postmaster.pid").read_text().split()[0]

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_postgres_restart_costs_no_failed_request(tmp_path, settings):
    """gunicorn holds persistent, health-checked connections to a PostgreSQL that is
    restarted: the next requests, survey answers among them, all succeed."""
    need_services()
    if not list(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")):
        pytest.fail("no pg_ctl under /usr/lib/postgresql/*/bin for a private PostgreSQL")
    world = pulse_world(name="Restart", due=False)
    _, links = round_open_now(world.alliance, links=True)
    with ExitStack() as stack:
        postgres = PrivatePostgres(stack)
        postgres.init()
        # A copy of this test's database (schema and world) in the private cluster.
        name = "concord_restart"
        db = settings.DATABASES["default"]
        postgres.run(
            "createdb", "-h", "127.0.0.1", "-p", str(postgres.port), "-U", "postgres", name
        )
        dump = subprocess.run(
            ["pg_dump", "-Fc", "-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432)]
            + ["-U", db["USER"] or "postgres", db["NAME"]],
            check=True,
            capture_output=True,
            timeout=120,
        )
        subprocess.run(
            ["pg_restore", "--no-owner", "-h", "127.0.0.1", "-p", str(postgres.port)]
            + ["-U", "postgres", "-d", name],
            input=dump.stdout,
            check=True,
            capture_output=True,
            timeout=120,
        )
        topo = Topology(stack, tmp_path, DATABASE_URL=postgres.url(name))
        topo.collectstatic()
        topo.gunicorn(workers=2)
        browser = Browser(topo.base_url)
        for _ in range(6):  # both gunicorn workers open their persistent connection
            assert browser.get("/healthz").status == 200, topo.logs()

        with psycopg.connect(postgres.url(name), autocommit=True) as connection:
            held = connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> "
                "pg_backend_pid()",
                [name],
            ).fetchone()[0]
        assert held >= 1, "gunicorn holds connections that the restart will break"
        before = postgres.postmaster_pid()
        postgres.restart()
        assert postgres.postmaster_pid() != before, "PostgreSQL really restarted"

        statuses = [browser.get("/healthz").status for _ in range(6)]
        for link in links:
            page = answer_survey(Browser(topo.base_url), link)
            statuses.append(page.status)
        statuses += [browser.get("/accounts/login/").status for _ in range(4)]
        assert all(status in (200, 302) for status in statuses), (statuses, topo.logs())
        with psycopg.connect(postgres.url(name), autocommit=True) as connection:
            stored = connection.execute("SELECT count(*) FROM surveys_response").fetchone()[0]
        assert stored == len(links)


# --- e. two beats ---------------------------------------------------------------------------


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_beats_open_one_round_and_send_each_email_once(tmp_path, settings):
    """Two beats tick every job twice as often: still one round per alliance and period,
    one invitation per person, one score and one alert email per manager."""
    need_services()
    enqueue_only(settings)
    from scorecards.models import Alert, RoundHealth
    from surveys.models import SurveyInvitation, SurveyRound
    from tests.factories import survey_answer_all

    worlds = [pulse_world(name=f"Twice{n}") for n in range(2)]
    with ExitStack() as stack:
        sink = SmtpSink().accept()
        stack.callback(sink.refuse)
        topo = Topology(stack, tmp_path, TIME_ZONE=worlds[0].time_zone)
        topo.use_sink(sink)
        topo.worker()
        first, second = topo.beat("beat-1"), topo.beat("beat-2")
        emails = {c.email for w in worlds for c in w.contacts}
        topo.wait_for(
            lambda: set(sink.recipients(INVITATION)) == emails,
            timeout=60,
            what="the invitations of both alliances",
        )
        rounds = {w.alliance.pk: SurveyRound.objects.get(alliance=w.alliance) for w in worlds}
        for survey_round in rounds.values():
            survey_answer_all(survey_round, likert=1, trust=0)
        close_window(SurveyRound.objects.filter(pk__in=[r.pk for r in rounds.values()]))
        topo.wait_for(
            lambda: (
                RoundHealth.objects.filter(round__in=rounds.values()).count() == 2
                and Alert.objects.count() > 0
            ),
            timeout=60,
            what="both rounds scored and alerted",
        )
        time.sleep(4)  # several more double ticks
        assert first.alive and second.alive, topo.logs()
        for beat in (first, second):  # the fault: both beats really ticked the jobs
            assert beat.tail(100000).count("Sending due task open_rounds") >= 5, topo.logs()
        counts = sink.recipients(INVITATION)
        alert_mail = Counter(
            str(m["to"]) for m in sink.received() if INVITATION not in str(m["subject"])
        )
        managers = {c.email for w in worlds for c in w.contacts if c.function == "alliance_manager"}
        logs = topo.logs()
    assert SurveyRound.objects.filter(alliance__in=[w.alliance for w in worlds]).count() == 2
    assert sorted(counts.values()) == [1] * len(emails), counts
    assert SurveyInvitation.objects.filter(round__in=rounds.values()).count() == len(emails)
    assert RoundHealth.objects.count() == 2
    assert dict(alert_mail) == dict.fromkeys(managers, 1), (alert_mail, logs)
