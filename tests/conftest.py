"""The suite's shared world, modelled on the demo.

Northwind leads alliances (one with Contoso as partner, one with Litware); Fabrikam has an
alliance of its own. ada is Northwind's admin, dan a Northwind manager, vic a Northwind
viewer, ben Contoso's manager, cy Fabrikam's admin — the outsider for Northwind's data.
"""

import hashlib
import hmac
import json
import os
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings

from alliances import services
from alliances.models import Alliance, Role, Side, Visibility
from tests.factories import (
    ContactFactory,
    JournalEntryFactory,
    OrganizationFactory,
    UserFactory,
    member,
)

REQUIRE_SERVICES = os.environ.get("CONCORD_REQUIRE_SERVICES") == "1"


def need_services(*, postgres: bool = True, redis: bool = True) -> None:
    """Skip a test that needs real services when they are not configured.

    With CONCORD_REQUIRE_SERVICES=1 (set by .ci/run) a missing service is a failure instead.
    """
    missing = []
    if postgres and settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        missing.append("PostgreSQL (DATABASE_URL)")
    if redis and not settings.REDIS_URL:
        missing.append("Redis (REDIS_URL)")
    if missing:
        message = f"needs {' and '.join(missing)}"
        if REQUIRE_SERVICES:
            pytest.fail(f"{message}, and CONCORD_REQUIRE_SERVICES=1 forbids skipping")
        pytest.skip(message)


def pytest_sessionfinish(session, exitstatus):
    """In CI every skip is a failure: nothing may silently not run."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if REQUIRE_SERVICES and skipped and exitstatus == 0:
        reporter.write_line(
            f"CONCORD_REQUIRE_SERVICES=1: {len(skipped)} test(s) skipped; failing the run.",
            red=True,
        )
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    # A fresh dashboards cache per test: a page cached by one test is never served in another.
    # Each test runs in one transaction that never commits: a dashboard's version token is
    # replaced as soon as a row changes (test_dashboard_cache.py checks the real, on-commit way).
    from scorecards import freshness

    monkeypatch.setattr(freshness, "after_commit", lambda flush: flush())
    settings.CACHES = {
        **settings.CACHES,
        "dashboards": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"dashboards-{tmp_path}",
        },
    }
    settings.OUTBOX_PATH = tmp_path / "mail"
    settings.SITE_URL = "http://testserver"
    # The API's throttle counts in the shared cache; tests of it set their own low limit.
    settings.API_RATE_LIMIT = "100000/minute"
    # The default hasher is slow on purpose (about a second per test user); tests need no strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class World:
    northwind: object
    contoso: object
    fabrikam: object
    ada: object
    dan: object
    vic: object
    ben: object
    cy: object
    shared: Alliance  # Northwind leads, Contoso is partner
    litware: Alliance  # Northwind leads, Litware partner (Contoso not a party)
    fabrikam_alliance: Alliance


def add_governance(alliance) -> None:
    """One of each governance record, with a shared and an internal action and risk per side."""
    from datetime import date, timedelta

    from governance import services as gov
    from governance.models import (
        ActionItem,
        Decision,
        Escalation,
        GovernanceBody,
        Meeting,
        Risk,
        RiskCategory,
        Tier,
    )

    lead_contact = alliance.contacts.get(side=Side.LEAD)
    partner_contact = alliance.contacts.get(side=Side.PARTNER)
    body = gov.body_save(
        body=GovernanceBody(
            alliance=alliance, name="Operational council", tier=Tier.OPERATIONAL_COUNCIL
        ),
        members=[lead_contact, partner_contact],
        chair=lead_contact,
    )
    meeting = gov.meeting_record(
        meeting=Meeting(body=body, held_on=date.today() - timedelta(days=10), agenda="Pipeline"),
        attendees=[lead_contact, partner_contact],
    )
    gov.decision_rights_seed(alliance=alliance)
    Decision.objects.create(
        alliance=alliance,
        decision=f"{alliance} decision",
        forum="Operational council",
        decided_on=meeting.held_on,
        meeting=meeting,
    )
    gov.escalation_raise(
        escalation=Escalation(alliance=alliance, title=f"{alliance} escalation"),
        user=None,
        organization=alliance.lead_organization,
    )
    for organization, contact in (
        (alliance.lead_organization, lead_contact),
        (alliance.partner_organization, partner_contact),
    ):
        for visibility in (Visibility.SHARED, Visibility.INTERNAL):
            gov.action_save(
                action=ActionItem(
                    alliance=alliance,
                    author_organization=organization,
                    visibility=visibility,
                    title=f"{organization} {visibility} action",
                    owner=contact,
                    due_on=date.today() + timedelta(days=7),
                ),
                user=None,
            )
            gov.risk_save(
                risk=Risk(
                    alliance=alliance,
                    author_organization=organization,
                    visibility=visibility,
                    title=f"{organization} {visibility} risk",
                    category=RiskCategory.DEPENDENCY,
                    likelihood=3,
                    impact=4,
                    owner=contact,
                ),
                user=None,
                organization=organization,
            )


def add_survey(alliance) -> None:
    """A closed round in which every contact answered, and the lead's bank of questions."""
    from datetime import timedelta

    from django.utils import timezone

    from surveys.models import SurveyRound
    from tests.factories import survey_answer_all, survey_round_open

    opened = timezone.now() - timedelta(days=40)
    survey_round = survey_round_open(alliance, now=opened)
    survey_answer_all(survey_round, now=opened + timedelta(days=1), comment="Solid month.")
    SurveyRound.objects.filter(pk=survey_round.pk).update(closed_at=survey_round.closes_at)


@pytest.fixture
def world(db) -> World:
    northwind = OrganizationFactory(name="Northwind", slug="northwind")
    contoso = OrganizationFactory(name="Contoso", slug="contoso")
    fabrikam = OrganizationFactory(name="Fabrikam", slug="fabrikam")
    litware_org = OrganizationFactory(name="Litware", slug="litware")
    wingtip = OrganizationFactory(name="Wingtip", slug="wingtip")
    ada = UserFactory(email="ada@northwind.example", full_name="Ada Lovelace")
    dan = UserFactory(email="dan@northwind.example", full_name="Dan Manager")
    vic = UserFactory(email="vic@northwind.example", full_name="Vic Viewer")
    ben = UserFactory(email="ben@contoso.example", full_name="Ben Partner")
    cy = UserFactory(email="cy@fabrikam.example", full_name="Cy Outsider")
    member(ada, northwind, Role.ADMIN)
    member(dan, northwind, Role.MANAGER)
    member(vic, northwind, Role.VIEWER)
    member(ben, contoso, Role.MANAGER)
    member(cy, fabrikam, Role.ADMIN)

    def make(lead, partner, name, user):
        alliance = services.alliance_create(
            organization=lead, user=user, name=name, partner_name=partner.name
        )
        alliance.partner_organization = partner
        alliance.save()
        return alliance

    shared = make(northwind, contoso, "Northwind–Contoso Cloud", ada)
    litware = make(northwind, litware_org, "Northwind–Litware Retail", ada)
    fabrikam_alliance = make(fabrikam, wingtip, "Fabrikam–Wingtip Logistics", cy)
    for alliance in (shared, litware, fabrikam_alliance):
        lead, partner = alliance.lead_organization, alliance.partner_organization
        ContactFactory(alliance=alliance, side=Side.LEAD, name=f"{lead} Sponsor")
        ContactFactory(alliance=alliance, side=Side.PARTNER, name=f"{partner} Sponsor")
        JournalEntryFactory(alliance=alliance, author_organization=lead, body=f"{lead} shared")
        JournalEntryFactory(
            alliance=alliance,
            author_organization=lead,
            visibility=Visibility.INTERNAL,
            body=f"{lead} internal secret",
        )
        JournalEntryFactory(
            alliance=alliance,
            author_organization=partner,
            visibility=Visibility.INTERNAL,
            body=f"{partner} internal secret",
        )
        alliance.adaptation_triggers.create(condition=f"{alliance} trigger")
        add_governance(alliance)
        add_survey(alliance)
    return World(
        northwind, contoso, fabrikam, ada, dan, vic, ben, cy, shared, litware, fabrikam_alliance
    )


@pytest.fixture
def client_for(client):
    """Log the test client in as someone: ``client_for(world.ada)``."""

    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def alliance(world):
    """The shared alliance without its world history (no survey rounds), in execution, with
    an alliance manager per side: for tests that build the rounds they need."""
    from alliances.models import ContactFunction, Stage
    from surveys.models import SurveyRound
    from tests.factories import ContactFactory

    alliance = world.shared
    SurveyRound.objects.filter(alliance=alliance).delete()
    for side in (Side.LEAD, Side.PARTNER):
        ContactFactory(alliance=alliance, side=side, function=ContactFunction.ALLIANCE_MANAGER)
    alliance.stage = Stage.EXECUTION
    alliance.save()
    return alliance


# --- a webhook receiver: a real HTTP server on loopback -----------------------------------


class Receiver:
    """What the local server was sent, and what it answers next."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answer = 200
        self.url = ""

    @property
    def bodies(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]


@pytest.fixture
def receiver(settings):
    settings.WEBHOOKS_ALLOW_HTTP = True
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    recorder = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            recorder.requests.append(
                {
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                }
            )
            self.send_response(recorder.answer)
            self.end_headers()
            self.wfile.write(b"thanks")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/concord"
    yield recorder
    server.shutdown()
    server.server_close()


def verify(secret: str, request: dict, *, tolerance: int = 300) -> dict:
    """The receiver's check, written from the documentation, not from Concord's code."""
    header = request["headers"]["concord-signature"]
    fields = dict(part.split("=", 1) for part in header.split(","))
    timestamp = int(fields["t"])
    signed = str(timestamp).encode() + b"." + request["body"]
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, fields["v1"]), "signature does not match"
    assert abs(time.time() - timestamp) <= tolerance, "timestamp not recent"
    return json.loads(request["body"])
