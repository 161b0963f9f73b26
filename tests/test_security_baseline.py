"""The security baseline: ``check --deploy`` with production settings, the production cookies
and HSTS, the Content-Security-Policy, password rules, session rotation on sign-in, CSRF on
every state change (htmx and the API's session calls included), and the sign-in cool-off.

Production settings are read from ``config/settings.py`` in a subprocess with ``DEBUG=0``, as
a server would; requests are then made here with exactly those values."""

import json
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib.auth.signals import user_logged_in
from django.contrib.sessions.backends.cached_db import SessionStore
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.template import engines
from django.test import Client
from django.urls import path

from alliances.models import AuditEvent, MemberInvitation, User
from tests.factories import PASSWORD
from tests.test_invitations import invite_member, signup  # noqa: F401  (a fixture)
from tests.test_tenancy_walker import (  # noqa: F401  (walker_world is a fixture)
    POST_BODY,
    ids_for,
    tenant_routes,
    url_for,
    walk,
    walker_world,
)

BASE_DIR = Path(django_settings.BASE_DIR)
HOST = "concord.example.com"
CSRF_REJECTED_TEMPLATE = "form_expired.html"  # alliances.ops_views.csrf_failure's page


def production_env(tmp_path, **extra) -> dict:
    """The environment of a production server, without the services (SQLite will do)."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CONCORD_VAR_DIR": str(tmp_path / "var"),
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": HOST,
        **extra,
    }


def run(args, env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(autouse=True)
def _empty_cache():
    """The sign-in counts live in the cache; each test starts from none."""
    cache.clear()
    yield
    cache.clear()


# --- check --deploy ------------------------------------------------------------------------


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    args = ["manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    clean = run(args, production_env(tmp_path))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "no issues (0 silenced)" in clean.stdout
    # The check has teeth: a production setting gone wrong makes it fail.
    weakened = run(args, production_env(tmp_path, SECURE_HSTS_SECONDS="0"))
    assert weakened.returncode != 0 and "security.W004" in weakened.stderr


def test_djangos_own_csrf_middleware_is_installed():
    """security.W003 is clean because Django's middleware itself is there, not silenced."""
    assert "django.middleware.csrf.CsrfViewMiddleware" in django_settings.MIDDLEWARE
    assert not getattr(django_settings, "SILENCED_SYSTEM_CHECKS", [])


# --- production cookies and headers ---------------------------------------------------------

SECURITY_SETTINGS = [
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_SAMESITE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "X_FRAME_OPTIONS",
    "ALLOWED_HOSTS",
]


@pytest.fixture(scope="module")
def production_settings(tmp_path_factory):
    """The security settings ``config/settings.py`` makes with DEBUG=0."""
    tmp_path = tmp_path_factory.mktemp("production")
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{name: getattr(settings, name) for name in {SECURITY_SETTINGS!r}}}))"
    )
    done = run(["-c", code], production_env(tmp_path))
    assert done.returncode == 0, done.stderr
    values = json.loads(done.stdout.strip().splitlines()[-1])
    values["SECURE_PROXY_SSL_HEADER"] = tuple(values["SECURE_PROXY_SSL_HEADER"])
    return values


def test_production_settings_turn_the_protections_on(production_settings):
    assert production_settings == {
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SECURE": True,
        "CSRF_COOKIE_SAMESITE": "Lax",
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 60 * 60 * 24 * 365,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
        "X_FRAME_OPTIONS": "DENY",
        "ALLOWED_HOSTS": [HOST],
    }


def test_production_responses_carry_hsts_and_secure_cookies(world, settings, production_settings):
    for name, value in production_settings.items():
        setattr(settings, name, value)
    browser = Client(enforce_csrf_checks=True, HTTP_HOST=HOST)
    plain = browser.get("/accounts/login/")
    assert plain.status_code == 301 and plain["Location"] == f"https://{HOST}/accounts/login/"
    # Behind the proxy, which says the client came over HTTPS.
    https = {"HTTP_X_FORWARDED_PROTO": "https"}
    page = browser.get("/accounts/login/", **https)
    assert page.status_code == 200
    assert page["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert page["X-Content-Type-Options"] == "nosniff"
    assert page["X-Frame-Options"] == "DENY"
    csrf_cookie = page.cookies["csrftoken"]
    assert csrf_cookie["secure"] and csrf_cookie["samesite"] == "Lax"
    signed_in = browser.post(
        "/accounts/login/",
        {
            "username": world.ada.email,
            "password": PASSWORD,
            "csrfmiddlewaretoken": csrf_cookie.value,
        },
        HTTP_ORIGIN=f"https://{HOST}",
        **https,
    )
    assert signed_in.status_code == 302
    session_cookie = signed_in.cookies[django_settings.SESSION_COOKIE_NAME]
    assert session_cookie["secure"] and session_cookie["httponly"]
    assert session_cookie["samesite"] == "Lax"
    assert signed_in.cookies["csrftoken"]["secure"]


# --- Content-Security-Policy ----------------------------------------------------------------

SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)


def script_src(response) -> list[str]:
    policy = dict(
        (part.strip().split(" ", 1) + [""])[:2]
        for part in response["Content-Security-Policy"].split(";")
        if part.strip()
    )
    return policy["script-src"].split()


def assert_csp_holds(response, where: str) -> None:
    sources = script_src(response)
    assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources, where
    assert all(s == "'self'" or s.startswith("'nonce-") for s in sources), (where, sources)
    nonces = {s[len("'nonce-") : -1] for s in sources if s.startswith("'nonce-")}
    for attributes in SCRIPT.findall(response.content.decode()):
        if "src=" in attributes or 'type="application/json"' in attributes:
            continue  # a file from 'self', or data (json_script) that never runs
        nonce = re.search(r'nonce="([^"]+)"', attributes)
        assert nonce and nonce.group(1) in nonces, (where, attributes)


@pytest.mark.usefixtures("walker_world")
def test_every_page_has_a_csp_without_unsafe_inline_scripts(world, client):
    client.force_login(world.ada)
    pages = 0
    for route in tenant_routes():
        if route.is_api:
            continue
        url = url_for(route, ids_for(route, world.northwind, world.shared))
        response = client.get(url)
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            assert_csp_holds(response, url)
            pages += 1
    for url in ("/accounts/login/", "/accounts/password_reset/", "/s/done/"):
        response = Client().get(url)
        assert response.status_code == 200
        assert_csp_holds(response, url)
    assert pages >= 20


def _inline_script_page(request):
    template = engines["django"].from_string(
        '<script nonce="{{ csp_nonce }}">document.title = "ok";</script>'
    )
    return HttpResponse(template.render({}, request))


urlpatterns = [path("inline/", _inline_script_page)]


@pytest.mark.urls(__name__)
def test_an_inline_script_runs_only_with_the_requests_nonce(client):
    first, second = client.get("/inline/"), client.get("/inline/")
    assert_csp_holds(first, "inline")
    nonce = re.search(r'nonce="([^"]+)"', first.content.decode()).group(1)
    assert f"'nonce-{nonce}'" in script_src(first)
    assert len(nonce) >= 16
    assert f"'nonce-{nonce}'" not in script_src(second)  # a new one per response


def test_templates_write_no_inline_script_without_the_nonce():
    offenders = []
    for template in (BASE_DIR / "templates").rglob("*.html"):
        for attributes in SCRIPT.findall(template.read_text()):
            if "src=" not in attributes and "csp_nonce" not in attributes:
                offenders.append(f"{template.relative_to(BASE_DIR)}: <script{attributes}>")
    assert offenders == []


# --- passwords ------------------------------------------------------------------------------

WEAK_PASSWORDS = [
    ("short-1", "too short"),
    ("password123", "too common"),
    ("84736291057", "entirely numeric"),
]


@pytest.mark.parametrize(("weak", "message"), WEAK_PASSWORDS)
def test_password_change_refuses_weak_passwords(world, client, weak, message):
    client.force_login(world.ada)
    response = client.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": weak, "new_password2": weak},
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    world.ada.refresh_from_db()
    assert world.ada.check_password(PASSWORD)


def test_password_change_refuses_a_password_like_the_email_and_takes_a_strong_one(world, client):
    client.force_login(world.ada)
    similar = "ada@northwind.example1"
    data = {"old_password": PASSWORD, "new_password1": similar, "new_password2": similar}
    response = client.post("/accounts/password_change/", data)
    assert "too similar" in response.content.decode()
    strong = "a-lighthouse-in-the-fog-77"
    data = {"old_password": PASSWORD, "new_password1": strong, "new_password2": strong}
    assert client.post("/accounts/password_change/", data).status_code == 302
    world.ada.refresh_from_db()
    assert world.ada.check_password(strong)


def test_signup_refuses_a_password_like_the_email(world, invite_member):  # noqa: F811
    token = invite_member("newbie@northwind.example")
    response = Client().post(f"/join/{token}/", signup(password="newbie@northwind"))
    assert response.status_code == 400
    assert "too similar" in response.content.decode()
    assert not User.objects.filter(email="newbie@northwind.example").exists()
    assert MemberInvitation.objects.get(email="newbie@northwind.example").is_pending


# --- the session on sign-in ------------------------------------------------------------------


def test_signing_in_replaces_a_planted_session_and_the_csrf_token(world):
    """Session fixation: a session id an attacker planted before sign-in is worthless after."""
    planted = SessionStore()
    planted["planted"] = True
    planted.create()
    browser = Client(enforce_csrf_checks=True)
    browser.cookies[django_settings.SESSION_COOKIE_NAME] = planted.session_key
    page = browser.get("/accounts/login/")
    token_before = page.cookies["csrftoken"].value
    response = browser.post(
        "/accounts/login/",
        {"username": world.ada.email, "password": PASSWORD, "csrfmiddlewaretoken": token_before},
    )
    assert response.status_code == 302
    new_key = response.cookies[django_settings.SESSION_COOKIE_NAME].value
    assert new_key != planted.session_key
    assert not SessionStore().exists(planted.session_key)
    assert SessionStore(session_key=new_key)["_auth_user_id"] == str(world.ada.pk)
    assert response.cookies["csrftoken"].value != token_before
    # The attacker's copy of the old id signs nobody in.
    attacker = Client()
    attacker.cookies[django_settings.SESSION_COOKIE_NAME] = planted.session_key
    assert attacker.get("/o/northwind/").status_code == 302


# --- CSRF on every state change -------------------------------------------------------------

# Views the middleware lets through, and who checks them instead.
CSRF_EXEMPT = {
    "api/": "DRF: SessionAuthentication enforces CSRF on session calls (tested below); "
    "token calls carry no ambient credential",
    "s/": "survey pages: surveys.views.public.csrf_protect_no_referrer checks the token",
}
CSRF_EXEMPT_VIEWS = {
    "s/<str:token>/unsubscribe/": "one-click unsubscribe (RFC 8058): the URL's token is the "
    "credential, and mail clients post without a form",
}


def test_only_known_views_skip_the_csrf_middleware():
    exempt = {route for route, view in walk() if getattr(view, "csrf_exempt", False)}
    unexplained = {
        route
        for route in exempt
        if not any(route.startswith(prefix) for prefix in CSRF_EXEMPT)
        and route not in CSRF_EXEMPT_VIEWS
    }
    assert unexplained == set()
    assert any(route.startswith("api/") for route in exempt)  # the rule is exercised


def snapshot() -> dict:
    """Every row of every table, to show that refused requests changed nothing."""
    return {
        model._meta.label: list(model.objects.order_by("pk").values())
        for model in apps.get_models()
    }


def state_changing(routes):
    for route in routes:
        for method in route.methods:
            if method != "GET":
                yield route, method


def request(client, method, url, *, api, **headers):
    if api:
        return client.generic(method, url, json.dumps(POST_BODY), "application/json", **headers)
    return client.post(url, POST_BODY, HTTP_HX_REQUEST="true", **headers)


def csrf_rejected(response) -> bool:
    if response.status_code != 403:
        return False
    if response.get("Content-Type", "").startswith("application/json"):
        return "CSRF" in response.json().get("detail", "")
    return CSRF_REJECTED_TEMPLATE in [t.name for t in response.templates]


@pytest.mark.usefixtures("walker_world")
def test_every_state_change_needs_the_csrf_token_and_the_htmx_header_is_enough(world):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.ada)
    targets = [
        (method, url_for(route, ids_for(route, world.northwind, world.shared)), route.is_api)
        for route, method in state_changing(tenant_routes())
    ]
    assert len(targets) > 100

    before = snapshot()
    refused = [
        (method, url)
        for method, url, api in targets
        if not csrf_rejected(request(browser, method, url, api=api))
    ]
    assert refused == [], "accepted without a CSRF token"
    assert snapshot() == before

    token = browser.get("/o/northwind/portfolio/").cookies["csrftoken"].value
    still_refused = []
    for method, url, api in targets:
        with transaction.atomic():
            response = request(browser, method, url, api=api, HTTP_X_CSRFTOKEN=token)
            transaction.set_rollback(True)
        if csrf_rejected(response):
            still_refused.append((method, url))
    assert still_refused == [], "refused with the token in X-CSRFToken, as htmx sends it"


PUBLIC_FORMS = [
    "/accounts/login/",
    "/accounts/logout/",
    "/accounts/password_change/",
    "/accounts/password_reset/",
    "/join/some-token/",
    "/partner/some-token/",
    "/s/a/some-slot/",
]


@pytest.mark.parametrize("url", PUBLIC_FORMS)
def test_the_forms_outside_organisations_need_the_csrf_token_too(world, url):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.ada)
    before = snapshot()
    response = browser.post(url, {"username": world.ada.email, "password": PASSWORD})
    assert response.status_code == 403
    assert snapshot() == before


# --- sign-in throttling ---------------------------------------------------------------------


def sign_in(client, email, password, **extra):
    return client.post("/accounts/login/", {"username": email, "password": password}, **extra)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def limits(settings):
    settings.LOGIN_FAILURE_LIMIT = 5
    settings.LOGIN_FAILURE_LIMIT_PER_IP = 20
    settings.LOGIN_COOLOFF_SECONDS = 900
    settings.TRUSTED_PROXY_COUNT = 0
    return settings


def test_an_account_cools_off_after_five_failures_even_with_the_right_password(world, limits):
    logins = []
    user_logged_in.connect(lambda **kw: logins.append(kw["user"]), weak=False, dispatch_uid="t")
    try:
        for n in range(5):  # from five addresses: the account's count, not an address's
            failed = sign_in(Client(), world.ada.email, "wrong", REMOTE_ADDR=f"198.51.100.{n}")
            assert failed.status_code == 200
        client = Client()
        refused = sign_in(client, world.ada.email.upper(), PASSWORD, REMOTE_ADDR="192.0.2.1")
        assert refused.status_code == 429
        assert refused["Retry-After"] == "900"
        assert "Too many failed sign-ins" in refused.content.decode()
        assert "paused for 15 minutes" in refused.content.decode()
        assert not signed_in(client) and logins == []
        # Someone else, from the same address, is not held up.
        assert (
            sign_in(client, world.dan.email, PASSWORD, REMOTE_ADDR="192.0.2.1").status_code == 302
        )
    finally:
        user_logged_in.disconnect(dispatch_uid="t")
    # The refused attempt never reached the password check, so it was not logged as one.
    failures = AuditEvent.objects.filter(action="login_failed", actor_email=world.ada.email)
    assert failures.count() == 5


def test_an_address_cools_off_after_twenty_failures_whatever_the_accounts(world, limits):
    for n in range(20):
        sign_in(Client(), f"guess{n}@northwind.example", "wrong", REMOTE_ADDR="203.0.113.7")
    client = Client()
    refused = sign_in(client, world.ada.email, PASSWORD, REMOTE_ADDR="203.0.113.7")
    assert refused.status_code == 429 and not signed_in(client)
    assert sign_in(client, world.ada.email, PASSWORD, REMOTE_ADDR="203.0.113.8").status_code == 302


def test_a_forged_forwarded_for_does_not_buy_a_fresh_count(world, limits):
    limits.LOGIN_FAILURE_LIMIT = 1000
    limits.LOGIN_FAILURE_LIMIT_PER_IP = 3
    limits.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.1"
    for forged in ("1.1.1.1", "2.2.2.2", "3.3.3.3"):
        sign_in(
            Client(),
            world.ada.email,
            "wrong",
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=f"{forged}, 203.0.113.7",
        )
    for forged in ("4.4.4.4", "", "203.0.113.8"):
        header = f"{forged}, 203.0.113.7" if forged else "203.0.113.7"
        client = Client()
        refused = sign_in(
            client, world.ada.email, PASSWORD, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=header
        )
        assert refused.status_code == 429 and not signed_in(client), header
    # The proxy's view of another client is another count.
    other = sign_in(
        Client(), world.ada.email, PASSWORD, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="203.0.113.9"
    )
    assert other.status_code == 302


def test_after_the_cool_off_the_right_password_works_and_clears_the_count(world, limits):
    limits.LOGIN_COOLOFF_SECONDS = 1
    for _ in range(5):
        sign_in(Client(), world.ada.email, "wrong")
    assert sign_in(Client(), world.ada.email, PASSWORD).status_code == 429
    time.sleep(1.2)
    client = Client()
    assert sign_in(client, world.ada.email, PASSWORD).status_code == 302 and signed_in(client)
    limits.LOGIN_COOLOFF_SECONDS = 900
    for _ in range(4):
        assert sign_in(Client(), world.ada.email, "wrong").status_code == 200
    assert sign_in(Client(), world.ada.email, PASSWORD).status_code == 302
    # Without the reset the four failures before the sign-in would count with these.
    for _ in range(4):
        assert sign_in(Client(), world.ada.email, "wrong").status_code == 200
    assert sign_in(Client(), world.ada.email, PASSWORD).status_code == 302


def test_a_sign_in_does_not_clear_the_addresss_count(world, limits):
    limits.LOGIN_FAILURE_LIMIT_PER_IP = 3
    for n in range(2):
        sign_in(Client(), f"guess{n}@northwind.example", "wrong", REMOTE_ADDR="203.0.113.7")
    assert (
        sign_in(Client(), world.dan.email, PASSWORD, REMOTE_ADDR="203.0.113.7").status_code == 302
    )
    sign_in(Client(), "guess2@northwind.example", "wrong", REMOTE_ADDR="203.0.113.7")
    refused = sign_in(Client(), world.ada.email, PASSWORD, REMOTE_ADDR="203.0.113.7")
    assert refused.status_code == 429


def test_the_admin_login_counts_and_cools_off_too(world, limits):
    world.ada.is_staff = True
    world.ada.save()
    admin_login = "/admin/login/?next=/admin/"
    for _ in range(5):
        failed = Client().post(admin_login, {"username": world.ada.email, "password": "wrong"})
        assert failed.status_code == 200
    client = Client()
    refused = client.post(admin_login, {"username": world.ada.email, "password": PASSWORD})
    assert refused.status_code == 429 and not signed_in(client)
    assert sign_in(Client(), world.ada.email, PASSWORD).status_code == 429  # one account
