"""What the browser scenarios share: signing in, the problems a page reports, axe-core, PDFs."""

import email
import email.policy
import io
import re
from pathlib import Path

from django.utils import timezone
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from alliances.demo_data import DEMO_PASSWORD
from alliances.models import Alliance
from alliances.tokens import token_hash
from surveys.models import SurveyLink

AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
# The rule sets the check runs: WCAG 2.1 A and AA, and axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}

ADA = "ada@northwind.example"  # Northwind's admin
SAM = "sam@northwind.example"  # Northwind's viewer (steering): reads, never changes
BEN = "ben@contoso.example"  # Contoso's manager: the partner's side of shared alliances


class Problems:
    """What went wrong in a page while a test drove it: console errors (CSP violations are
    among them), uncaught exceptions, failed requests and error answers to sub-requests."""

    def __init__(self, page: Page):
        self.found: list[str] = []
        self.console_errors: list[tuple[str, str]] = []  # (text, url of the source)
        # Documents answered 4xx on purpose (a form with errors, a used survey link); Chromium
        # logs each as "Failed to load resource", which is the page's status, not a problem.
        self.error_documents: set[str] = set()
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.found.append(f"page error: {error}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _console(self, message):
        if message.type == "error":
            self.console_errors.append((message.text, message.location.get("url", "")))

    def _failed(self, request):
        if request.url.endswith("/favicon.svg") and "ERR_ABORTED" in (request.failure or ""):
            # Chromium fetches the icon again as htmx pushes each URL, and drops the fetch
            # when the next push comes first: the browser's housekeeping, not the page's.
            return
        self.found.append(f"request failed: {request.method} {request.url}: {request.failure}")

    def _response(self, response):
        if response.status < 400:
            return
        if response.request.resource_type == "document":
            self.error_documents.add(response.url)
        else:  # what a page loads, and what htmx fetches, may not fail
            self.found.append(f"HTTP {response.status}: {response.request.url}")

    @property
    def items(self) -> list[str]:
        console = [
            f"console error: {text} ({url or 'the page'})"
            for text, url in self.console_errors
            if not (text.startswith("Failed to load resource") and url in self.error_documents)
        ]
        return console + self.found


def assert_no_problems(page: Page) -> None:
    """No console error, CSP violation, uncaught exception or failed request so far."""
    problems = page.problems.items
    assert problems == [], "the browser reported problems:\n" + "\n".join(problems)


def alliance_path(name: str, organization: str = "northwind") -> str:
    """The address of a demo alliance's page (its one-pager) as ``organization`` sees it."""
    alliance = Alliance.objects.get(name=name)
    return f"/o/{organization}/alliances/{alliance.pk}/"


def login(page: Page, email_address: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the login form, as a person would, and wait for the page it leads to."""
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email_address)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign in")).to_have_count(0)
    page.wait_for_load_state()  # what the landing page loads, so leaving it aborts nothing


def axe_violations(page: Page, *, impacts=("serious", "critical")) -> list[str]:
    """axe-core's violations of these impacts on the page as it is now: for each, the rule id,
    impact and axe's summary, then each offending element's selector and what is wrong with it.

    The script is evaluated through the DevTools protocol, which the page's
    Content-Security-Policy does not govern, so the policy stays as the app sends it.
    """
    page.evaluate(AXE_SOURCE)
    results = page.evaluate(
        "tags => axe.run(document, {resultTypes: ['violations'],"
        " runOnly: {type: 'tag', values: tags}})",
        AXE_TAGS,
    )
    lines = []
    for violation in results["violations"]:
        if violation["impact"] not in impacts:
            continue
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            checks = node["any"] or node["all"] or node["none"]
            why = checks[0]["message"] if checks else ""
            lines.append(f"  {' '.join(node['target'])}: {why}")
    return lines


def assert_accessible(page: Page) -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    violations = axe_violations(page)
    assert violations == [], f"axe-core on {page.url}:\n" + "\n".join(violations)


def pdf_pages(page: Page, paper: str) -> int:
    """How many pages the page prints on, on paper of that format ("A4", "Letter")."""
    page.emulate_media(media="print")
    pdf = page.pdf(format=paper, print_background=True)
    return len(PdfReader(io.BytesIO(pdf)).pages)


def mark_window(page: Page) -> None:
    """Leave a marker on ``window`` that only survives if the page is not reloaded."""
    page.evaluate("() => { window.__concordNoReload = true; }")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("() => window.__concordNoReload === true"), "the page was reloaded"


def unused_survey_link(outbox: Path) -> str | None:
    """The path (``/s/<token>/``) of a survey link in the outbox whose invitation is still open
    and unanswered, from the newest email that has one."""
    now = timezone.now()
    for message_file in sorted(outbox.glob("*.eml"), reverse=True):
        message = email.message_from_bytes(message_file.read_bytes(), policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        for token in re.findall(r"/s/([\w-]+)/(?!unsubscribe)", body.get_content() if body else ""):
            link = (
                SurveyLink.objects.select_related("invitation__round")
                .filter(token_hash=token_hash(token))
                .first()
            )
            if link and link.invitation.responded_on is None and link.invitation.round.is_open(now):
                return f"/s/{token}/"
    return None


def expect_charts_drawn(page: Page, selector: str = "[data-figure]", *, at_least: int = 1) -> None:
    """Wait until every chart placeholder matching ``selector`` holds a plotly chart (plotly
    marks the element ``js-plotly-plot`` and draws into an ``svg.main-svg``)."""
    charts = page.locator(selector)
    if at_least:
        expect(charts.nth(at_least - 1)).to_be_attached()
    for chart in charts.all():
        expect(chart).to_have_class(re.compile(r"\bjs-plotly-plot\b"))
        expect(chart.locator("svg.main-svg").first).to_be_attached()
