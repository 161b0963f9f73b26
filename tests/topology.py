"""The production topology as real processes, for the topology and fault tests.

gunicorn, Celery workers and beats run as their own process groups (so SIGKILL reaches a
prefork worker's children too) on the test's PostgreSQL and Redis; an aiosmtpd server on
loopback stands in for the mail relay and records what it accepted (slowly, or refusing
connections, on demand); a small browser speaks HTTP to gunicorn with its own cookie jar.
Every wait has a deadline and fails with the processes' log tails.
"""

import asyncio
import atexit
import email
import email.policy
import http.client
import json as jsonlib
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode, urlsplit

from aiosmtpd.controller import Controller
from django.utils import timezone

from tests.test_real_processes import BIN, ROOT, free_port, process_env, worker_args

__all__ = ["free_port", "process_env", "worker_args"]

# aiosmtpd logs every SMTP command at INFO.
logging.getLogger("mail.log").setLevel(logging.WARNING)


_collected: Path | None = None  # the session's collected static files


# --- processes ----------------------------------------------------------------------------


class Process:
    """One real process in its own process group, restartable, its output in ``<name>.log``."""

    def __init__(self, name: str, args: list[str], env: dict, logs: Path):
        self.name, self.args, self.env = name, args, env
        self.log_path = logs / f"{name}.log"
        self.popen: subprocess.Popen | None = None

    def start(self) -> "Process":
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                self.args,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole group: a prefork worker's children die with it."""
        if self.popen is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 15) -> None:
        if self.popen is None:
            return
        self.kill(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)
            self.popen.wait(timeout=5)
        self.kill(signal.SIGKILL)  # children a SIGTERM left behind
        self.popen = None

    def tail(self, chars: int = 3000) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]


class Topology:
    """The processes of one test, stopped when its ``ExitStack`` closes."""

    def __init__(self, stack: ExitStack, tmp_path: Path, **env: str):
        self.stack, self.tmp_path = stack, tmp_path
        self.env = process_env(tmp_path, **env)
        self.processes: dict[str, Process] = {}
        self.sink: SmtpSink | None = None
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env["SITE_URL"] = env.get("SITE_URL") or self.base_url

    def set_env(self, **env: str) -> None:
        """Environment for processes started from now on (after ``process_env``, which
        drops an inherited ``EMAIL_HOST``)."""
        self.env.update(env)

    def use_sink(self, sink: "SmtpSink") -> None:
        self.sink = sink
        self.set_env(
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(sink.port),
            EMAIL_USE_TLS="0",
            EMAIL_TIMEOUT="10",
        )

    def start(self, name: str, args: list[str]) -> Process:
        process = Process(name, args, dict(self.env), self.tmp_path)
        self.processes[name] = process
        self.stack.callback(process.stop)
        return process.start()

    def gunicorn(self, *, workers: int = 2) -> Process:
        process = self.start(
            "gunicorn",
            [
                str(BIN / "gunicorn"),
                "config.wsgi",
                "-b",
                f"127.0.0.1:{self.port}",
                "-w",
                str(workers),
                "--timeout",
                "30",
            ],
        )
        self.wait_for(lambda: self._live(), timeout=60, what="gunicorn answering /livez")
        return process

    def _live(self) -> bool:
        try:
            return Browser(self.base_url).get("/livez").status == 200
        except OSError:
            return False

    def worker(self, name: str = "worker") -> Process:
        return self.start(name, worker_args())

    def beat(self, name: str = "beat") -> Process:
        return self.start(
            name,
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
                str(self.tmp_path / f"{name}-schedule"),
            ],
        )

    def collectstatic(self) -> None:
        """The production static files for gunicorn: collected (and compressed, about 25 s)
        once per test session, then linked into each test's ``CONCORD_VAR_DIR``."""
        global _collected
        if _collected is None:
            folder = Path(tempfile.mkdtemp(prefix="concord-static-"))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            subprocess.run(
                [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
                cwd=ROOT,
                env={**self.env, "CONCORD_VAR_DIR": str(folder)},
                check=True,
            )
            _collected = folder / "static"
        target = Path(self.env["CONCORD_VAR_DIR"]) / "static"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.symlink_to(_collected, target_is_directory=True)

    def logs(self) -> str:
        parts = [f"--- {name} ---\n{p.tail()}" for name, p in self.processes.items()]
        if self.sink is not None:
            parts.append(f"--- smtp sink --- {self.sink.summary()}")
        return "\n".join(parts)

    def wait_for(self, predicate: Callable[[], object], *, timeout: float, what: str, every=0.3):
        """Poll until ``predicate()`` is truthy; fail with the log tails at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what}\n{self.logs()}"
                )
            time.sleep(every)


# --- the SMTP sink --------------------------------------------------------------------------


class _Handler:
    def __init__(self, sink: "SmtpSink"):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        if self.sink.delay:
            await asyncio.sleep(self.sink.delay)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.sink.lock:
            self.sink.messages.append(message)
        return "250 Message accepted for delivery"


@dataclass
class SmtpSink:
    """An SMTP server on loopback that records each message it accepted (after ``delay``
    seconds in DATA). ``refuse()`` closes the port, so connections are refused;
    ``accept()`` opens it again on the same port."""

    delay: float = 0.0
    port: int = field(default_factory=free_port)
    messages: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Controller | None = None

    def accept(self) -> "SmtpSink":
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def refuse(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def received(self, subject_contains: str = "") -> list:
        with self.lock:
            return [m for m in self.messages if subject_contains in str(m["subject"])]

    def recipients(self, subject_contains: str = "") -> Counter:
        return Counter(str(m["to"]).lower() for m in self.received(subject_contains))

    def summary(self) -> str:
        with self.lock:
            return f"{len(self.messages)} message(s): " + "; ".join(
                f"{m['to']}: {m['subject']}" for m in self.messages[-10:]
            )


def links_in(message, prefix: str) -> list[str]:
    body = message.get_body(preferencelist=("plain",)).get_content()
    found = re.findall(re.escape(prefix) + r"/s/[A-Za-z0-9_\-]+/(?!unsubscribe)", body)
    return list(dict.fromkeys(found))


# --- HTTP -------------------------------------------------------------------------------------


@dataclass
class Page:
    status: int
    headers: dict
    text: str

    @property
    def location(self) -> str:
        return self.headers.get("location", "")


class Browser:
    """Requests to gunicorn as a browser makes them: its cookies (kept whatever their
    ``Secure`` flag: the test speaks plain HTTP to a production-configured server), no
    redirect followed unless asked."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, *, data=None, json=None, headers=None, follow=False
    ) -> Page:
        parts = urlsplit(self.base_url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
        sent = {"Host": "127.0.0.1", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            body = urlencode(data, doseq=True)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if json is not None:
            body = jsonlib.dumps(json)
            sent["Content-Type"] = "application/json"
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            text = response.read().decode(errors="replace")
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            page = Page(response.status, {k.lower(): v for k, v in response.getheaders()}, text)
        finally:
            connection.close()
        if follow and page.status in (301, 302, 303) and page.location:
            location = urlsplit(page.location)
            return self.request("GET", location.path, follow=True)
        return page

    def get(self, path: str, **kwargs) -> Page:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data: dict, **kwargs) -> Page:
        return self.request("POST", path, data=data, **kwargs)


class FormFields(HTMLParser):
    """The inputs of a page: hidden values, and the values offered by each radio group."""

    def __init__(self, html: str):
        super().__init__()
        self.hidden: dict[str, str] = {}
        self.radios: dict[str, list[str]] = {}
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag != "input":
            return
        attrs = dict(attrs)
        if attrs.get("type") == "hidden":
            self.hidden[attrs["name"]] = attrs.get("value", "")
        elif attrs.get("type") == "radio":
            self.radios.setdefault(attrs["name"], []).append(attrs.get("value", ""))


def answer_survey(browser: Browser, link_path: str, *, choose=min, comment="") -> Page:
    """Follow an invitation link and submit the form, as a person would: GET the link (it
    redirects to the answer page and sets the session), then POST every radio group's
    ``choose`` value with the page's CSRF token. Returns the answer to the POST."""
    landing = browser.get(link_path)
    assert landing.status == 302, (landing.status, landing.text[:500])
    answer_path = urlsplit(landing.location).path
    page = browser.get(answer_path)
    assert page.status == 200, (page.status, page.text[:500])
    fields = FormFields(page.text)
    assert "csrfmiddlewaretoken" in fields.hidden and fields.radios, page.text[:1000]
    data = {**fields.hidden, "comment": comment}
    for name, values in fields.radios.items():
        numbers = [int(v) for v in values if v.isdigit()]
        data[name] = str(choose(numbers))
    return browser.post(answer_path, data)


def enqueue_only(settings) -> None:
    """The test's own process only writes to the database and enqueues; the real workers
    run the tasks. Nothing an earlier run left in the queue is picked up."""
    from config.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.control.purge()


# --- a small world --------------------------------------------------------------------------


def due_schedule(now: datetime) -> tuple[int, str]:
    """An opening day of the month (and a ``TIME_ZONE`` for the processes) such that a
    monthly round with a 28-day window is due at ``now``: opened at 09:00 local on or
    before today, closing weeks later."""
    zone = "UTC"
    local = timezone.localtime(now, timezone=timezone.get_fixed_timezone(0))
    if local.day == 1 and local.hour < 9:
        zone, local = "Etc/GMT-12", local + timedelta(hours=12)  # 12:00–21:00 on the 1st
    opened_today = local.hour >= 9
    return min(local.day if opened_today else local.day - 1, 28), zone


def pulse_world(*, name: str = "Topo", contacts_per_side: int = 2, due: bool = True):
    """An alliance with a partner, its admin (with an API token), contacts on both sides
    (an alliance manager each, who get alert emails) and, with ``due``, survey settings
    under which its round is due now (no reminders). Returns a namespace; ``time_zone``
    is the zone the processes must run in for the round to be due."""
    from alliances import services
    from alliances.api.auth import api_token_create
    from alliances.models import ContactFunction, Membership, Role, Side
    from surveys import services as surveys
    from tests.factories import ContactFactory, OrganizationFactory, UserFactory, member

    lead = OrganizationFactory(name=f"{name} Lead")
    partner = OrganizationFactory(name=f"{name} Partner")
    admin = UserFactory(email=f"admin@{lead.slug}.example")
    member(admin, lead, Role.ADMIN)
    alliance = services.alliance_create(
        organization=lead, user=admin, name=f"{name} Alliance", partner_name=partner.name
    )
    alliance.partner_organization = partner
    alliance.save()
    contacts = []
    for side in (Side.LEAD, Side.PARTNER):
        for index in range(contacts_per_side):
            contacts.append(
                ContactFactory(
                    alliance=alliance,
                    side=side,
                    email=f"{side}{index}@{name.lower()}.example",
                    function=ContactFunction.ALLIANCE_MANAGER
                    if index == 0
                    else ContactFunction.SALES,
                )
            )
    open_day, zone = due_schedule(timezone.now())
    if due:
        surveys.survey_settings_save(
            alliance=alliance,
            user=admin,
            cadence="monthly",
            open_day=open_day,
            window_days=28,
            reminder_days=[],
            paused=False,
        )
    _, key = api_token_create(
        membership=Membership.objects.get(user=admin, organization=lead), name="topology"
    )
    return SimpleNamespace(
        alliance=alliance, lead=lead, admin=admin, contacts=contacts, key=key, time_zone=zone
    )


def api_call(base_url: str, method: str, path: str, key: str, body=None):
    """One API request with a token; returns the status and the decoded body."""
    page = Browser(base_url).request(
        method, path, json=body, headers={"Authorization": f"Bearer {key}"}
    )
    try:
        return page.status, jsonlib.loads(page.text)
    except ValueError:
        return page.status, page.text


def api_get(base_url: str, path: str, key: str):
    return api_call(base_url, "GET", path, key)


def round_open_now(alliance, *, links: bool = False):
    """Open the alliance's round now without asking a worker to send (the test's own
    process enqueues nothing). With ``links``, mark each invitation sent with a link whose
    token the test knows, as if its email had gone out; returns (round, [link paths])."""
    from alliances.tokens import new_token
    from surveys import services as surveys
    from surveys.models import LinkPurpose, SurveyLink

    now = timezone.now()
    schedule = surveys.alliance_schedule(alliance)
    start, end = surveys.period_of(timezone.localdate(now), schedule.cadence)
    plan = surveys.RoundPlan(
        alliance=alliance,
        kind="scheduled",
        period_start=start,
        period_end=end,
        opens_at=now,
        closes_at=now + timedelta(days=schedule.window_days),
        reminder_days=(),
    )
    (survey_round,) = surveys.rounds_open([plan], now=now, send=False)
    paths = []
    if links:
        survey_round.invitations.update(sent_at=now, last_emailed_at=now, next_email_at=None)
        for invitation in survey_round.invitations.all():
            token, token_hash = new_token()
            SurveyLink.objects.create(
                invitation=invitation,
                token_hash=token_hash,
                purpose=LinkPurpose.INVITATION,
                created_at=now,
            )
            paths.append(f"/s/{token}/")
    return survey_round, paths


def close_window(rounds) -> None:
    """End these rounds' answer windows now, as time passing would: a second ago, or just
    after opening for a round opened less than a second ago (a window never ends before it
    opens: the ``round_closes_after_opening`` constraint)."""
    from django.db.models import F, Value
    from django.db.models.functions import Greatest

    rounds.update(
        closes_at=Greatest(
            F("opens_at") + timedelta(milliseconds=1),
            Value(timezone.now() - timedelta(seconds=1)),
        )
    )
