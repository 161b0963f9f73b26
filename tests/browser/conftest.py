"""Browser tests: Playwright drives Debian's Chromium against a live server on the demo data.

The demo is seeded once for the whole package (about ten seconds) and committed, and the live
server runs in a thread for the package's lifetime; the database is flushed when the package
is done. That is why these tests do not use pytest-django's ``live_server``: it flushes the
database after every test. Each test still runs inside pytest-django's ``db`` transaction,
which gets the test database created and keeps what a test writes itself to that test.

Chromium is Debian's (``/usr/bin/chromium``, or the path in ``CONCORD_BROWSER``), never a
browser build of Playwright's own. Without it the tests skip, and CONCORD_REQUIRE_SERVICES=1
(tests/conftest.py) turns that skip into a failure, so CI always runs them.

A failed test leaves a screenshot of each of its pages in ``$TMPDIR/concord-browser/``.
"""

import os
import re
import tempfile
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.management import call_command
from django.db import connections
from django.test.testcases import LiveServerThread
from django.test.utils import override_settings
from playwright.sync_api import expect

from tests.browser.helpers import DESKTOP, Problems

BROWSER = os.environ.get("CONCORD_BROWSER") or "/usr/bin/chromium"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu"]
SCREENSHOTS = Path(tempfile.gettempdir()) / "concord-browser"
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Explicit waits (actions, ``expect``) give up after this long (ms); none should need a second.
TIMEOUT = 5_000
expect.set_options(timeout=TIMEOUT)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep the test's outcome on the item, so the page fixture knows whether it failed."""
    report = yield
    if report.when == "call":
        item.browser_test_failed = report.failed
    return report


@pytest.fixture(scope="package")
def playwright_sync():
    """Playwright's sync API, with Django's async-safety check relaxed while it runs.

    The sync API keeps an asyncio event loop running in this thread (in a greenlet) for as
    long as Playwright is started, and Django refuses ORM calls from a thread with a running
    event loop (SynchronousOnlyOperation). The tests' ORM calls are plain synchronous code
    that never runs inside that loop, so the check is a false alarm here; it is relaxed only
    while this package runs (``DJANGO_ALLOW_ASYNC_UNSAFE``) and restored afterwards.
    """
    if not os.access(BROWSER, os.X_OK):
        pytest.skip(f"needs Chromium at {BROWSER}: apt-get install chromium, or CONCORD_BROWSER")
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            yield playwright


@pytest.fixture(scope="package")
def browser(playwright_sync):
    browser = playwright_sync.chromium.launch(executable_path=BROWSER, args=BROWSER_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def demo(playwright_sync, django_db_setup, django_db_blocker, tmp_path_factory) -> Path:
    """The demo data, seeded once and committed so the live server's thread sees it; returns
    the folder of the emails the seeding sent (the open round's survey links are there).

    The database stays unblocked for the package (the server's thread needs it too) and is
    flushed at the end, so no test after this package sees the demo. The survey pages' rate
    limit counts in the cache, which on Redis other test runs share: it is lifted here, so a
    busy minute elsewhere cannot turn the survey into "please wait" (its own tests cover it).
    """
    outbox = tmp_path_factory.mktemp("demo-outbox")
    with (
        django_db_blocker.unblock(),
        override_settings(
            PASSWORD_HASHERS=FAST_HASHERS,
            CELERY_TASK_ALWAYS_EAGER=True,
            MAILERS={"default": {"BACKEND": "alliances.mail.OutboxEmailBackend"}},
            OUTBOX_PATH=outbox,
            SURVEY_RATE_LIMIT=1_000_000,
        ),
    ):
        try:
            call_command("seed_demo", stdout=StringIO())
            yield outbox
        finally:
            for alias in connections:
                call_command("flush", database=alias, interactive=False, verbosity=0)
            # While an event loop runs in a thread (Playwright's does, in this one), Django
            # gives the thread other connections than it has outside: close those here, or
            # the test database cannot be dropped at the end of the session.
            connections.close_all()


@pytest.fixture(scope="package")
def live_url(demo) -> str:
    """The app served by a thread, static files included, found as runserver finds them
    (nothing has to be collected first). An in-memory SQLite test database is shared with the
    thread, as Django's LiveServerTestCase does."""
    shared = {
        conn.alias: conn
        for conn in connections.all()
        if conn.vendor == "sqlite" and conn.is_in_memory_db()
    }
    for conn in shared.values():
        conn.inc_thread_sharing()
    server = LiveServerThread("127.0.0.1", StaticFilesHandler, connections_override=shared, port=0)
    server.daemon = True
    with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "127.0.0.1"]):
        server.start()
        server.is_ready.wait()
        try:
            if server.error:
                raise server.error
            yield f"http://127.0.0.1:{server.port}"
        finally:
            server.terminate()
            for conn in shared.values():
                conn.dec_thread_sharing()


@pytest.fixture
def new_page(browser, live_url, db, request):
    """Open a page in a fresh browser profile (no cookies) on the live server:
    ``new_page()`` on a desktop screen, ``new_page(**helpers.PHONE)`` on a phone's.

    Each page records its problems (``page.problems``, see ``helpers.assert_no_problems``).
    ``db`` wraps the test in a transaction on the test's own connection. On PostgreSQL the
    server's thread has connections of its own: it never sees what a test writes (data the
    pages need comes from the demo), and what the pages write stays until the package ends.
    An in-memory SQLite database is one connection for both, so there what the pages write is
    rolled back after each test. Tests that change data pick records no other test relies on.
    """
    contexts = []

    def open_page(**options):
        context = browser.new_context(base_url=live_url, **(options or DESKTOP))
        context.set_default_timeout(TIMEOUT)
        contexts.append(context)
        page = context.new_page()
        page.problems = Problems(page)
        return page

    yield open_page
    if getattr(request.node, "browser_test_failed", False):
        SCREENSHOTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
        pages = [page for context in contexts for page in context.pages]
        for number, page in enumerate(pages, start=1):
            path = SCREENSHOTS / f"{name}-{number}.png"
            page.screenshot(path=path, full_page=True)
            print(f"screenshot: {path}")
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    """A desktop page on the live server, signed in as nobody."""
    return new_page()
