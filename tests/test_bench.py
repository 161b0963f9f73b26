"""``make bench``: the dataset generators, the liveness probe, the one-query yardstick and
the pieces of the load test (its tokens, the respondents' form helper, the final check)."""

import importlib
import io
import json
import os
import random
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.urls import clear_url_caches

from alliances.management.commands.bench_data import BENCH_EMAIL, BENCH_PASSWORD, BENCH_SLUG
from alliances.models import Alliance, Contact, Side
from alliances.tokens import token_hash
from bench.load import THANKS, AnswerPage, Stored, mismatches, replace_section, stored
from bench.run import LOAD_SECTION, ROOT
from governance.models import ActionItem, GovernanceBody, Meeting, Risk
from scorecards.models import AllianceHealth, CornerScore, Kpi, Light, RoundHealth
from surveys.models import (
    Answer,
    Response,
    RoundQuestion,
    SurveyInvitation,
    SurveyLink,
    SurveyRound,
)
from tests.conftest import need_services


@pytest.fixture
def bench_data(db):
    out = io.StringIO()
    call_command("bench_data", "--alliances", "3", "--months", "4", stdout=out)
    return out.getvalue()


def test_bench_data_is_what_the_pipeline_writes(bench_data):
    assert "survey rounds and answers" in bench_data  # timings per phase
    alliances = list(Alliance.objects.filter(lead_organization__slug=BENCH_SLUG))
    assert len(alliances) == 3
    assert {a.partner_organization_id is not None for a in alliances} == {True}
    assert Contact.objects.filter(side=Side.LEAD).exists()
    assert Contact.objects.filter(side=Side.PARTNER).exists()
    rounds = SurveyRound.objects.values("alliance").annotate(n=Count("pk"))
    assert {row["n"] for row in rounds} == {4}
    assert not SurveyRound.objects.filter(closed_at__isnull=True).exists()
    assert RoundQuestion.objects.count() == 4 * 3 * 9  # the trust anchor and 8 statements
    # Both sides answer, each answer row matches its response, and invitations are used up.
    assert set(Response.objects.values_list("side", flat=True)) == {Side.LEAD, Side.PARTNER}
    answered = SurveyInvitation.objects.filter(responded_on__isnull=False)
    assert answered.count() == Response.objects.count()
    assert Answer.objects.count() == Response.objects.count() * 9
    for answer in Answer.objects.select_related("response", "question")[:50]:
        assert (answer.side, answer.function) == (answer.response.side, answer.response.function)
        assert answer.round_id == answer.response.round_id == answer.question.round_id
        low, high = (0, 10) if answer.kind == "trust" else (1, 5)
        assert answer.value is None or low <= answer.value <= high
    assert not SurveyInvitation.objects.filter(sent_at__isnull=True).exists()
    # Scored, lit and snapshotted by the real jobs.
    assert RoundHealth.objects.count() == SurveyRound.objects.count()
    assert CornerScore.objects.filter(view=Side.PARTNER).exists()
    assert Light.objects.values("round").distinct().count() == SurveyRound.objects.count()
    assert AllianceHealth.objects.count() == 3
    # The one-pager has governance and a scorecard to show.
    governed = [a for a in alliances if a.stage > 1]
    assert governed
    for model in (GovernanceBody, Meeting, ActionItem, Risk, Kpi):
        assert model.objects.exists(), model.__name__


def test_bench_data_refuses_a_database_that_has_it(bench_data):
    answers = Answer.objects.count()
    with pytest.raises(CommandError):
        call_command("bench_data", "--alliances", "1", "--months", "1", stdout=io.StringIO())
    assert Answer.objects.count() == answers


def test_the_bench_user_signs_in_and_describe_reports_the_dataset(bench_data):
    assert Client().login(username=BENCH_EMAIL, password=BENCH_PASSWORD)
    out = io.StringIO()
    call_command("bench_data", "--describe", stdout=out)
    described = json.loads(out.getvalue())
    assert described["organization"] == BENCH_SLUG
    assert described["alliances"] == 3
    alliance = Alliance.objects.get(pk=described["alliance"])
    assert described["months"] == 4
    assert described["rows"]["surveys.Answer"] == Answer.objects.count()
    assert alliance.lead_organization.slug == BENCH_SLUG


def test_describe_without_bench_data_exits_1(db):
    with pytest.raises(SystemExit) as exited:
        call_command("bench_data", "--describe", stdout=io.StringIO())
    assert exited.value.code == 1


# --- /livez and /bench/one-query ---------------------------------------------------------


def test_livez_answers_without_database_or_session(db, client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/livez")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert "no-cache" in response["Cache-Control"]
    assert "Set-Cookie" not in response.headers


@pytest.fixture
def bench_views(settings):
    """Mount the bench views as ``CONCORD_BENCH_VIEWS=1`` does (urls.py reads the setting
    when imported), and unmount them afterwards."""
    import config.urls

    def mount(enabled: bool):
        settings.BENCH_VIEWS = enabled
        importlib.reload(config.urls)
        clear_url_caches()

    yield mount
    settings.BENCH_VIEWS = False
    importlib.reload(config.urls)
    clear_url_caches()


def test_one_query_view_runs_exactly_one_query(db, bench_views, django_assert_num_queries):
    bench_views(True)
    with django_assert_num_queries(1):
        response = Client().get("/bench/one-query")
    assert response.status_code == 200
    assert response.content == str(Alliance.objects.count()).encode()


def test_one_query_view_is_not_there_unless_enabled(db, bench_views):
    bench_views(False)
    assert Client().get("/bench/one-query").status_code == 404


# --- the load test (bench/load.py, bench/locustfile.py) ------------------------------------


@pytest.fixture
def load_data(db, tmp_path):
    path = tmp_path / "load-data.json"
    call_command(
        "bench_load_data", "--alliances", "2", "--months", "1", "--output", str(path),
        stdout=io.StringIO(),
    )  # fmt: skip
    return json.loads(path.read_text())


def open_rounds():
    return SurveyRound.objects.filter(closed_at__isnull=True)


def test_load_data_gives_each_open_invitation_one_token_stored_only_as_its_hash(load_data):
    assert open_rounds().count() == 2
    invitations = SurveyInvitation.objects.filter(round__in=open_rounds())
    assert invitations.count() == len(load_data["tokens"]) == 2 * 12
    assert not invitations.filter(responded_on__isnull=False).exists()
    assert not invitations.filter(next_email_at__isnull=False).exists()  # nothing left to send
    links = SurveyLink.objects.filter(invitation__in=invitations)
    assert sorted(links.values_list("token_hash", flat=True)) == sorted(
        token_hash(t) for t in load_data["tokens"]
    )
    assert links.values("invitation").distinct().count() == invitations.count()
    assert not SurveyLink.objects.filter(token_hash__in=load_data["tokens"]).exists()
    assert set(load_data["alliances"]) == set(
        Alliance.objects.filter(lead_organization__slug=BENCH_SLUG).values_list("pk", flat=True)
    )
    key = load_data["api_key"]
    listed = Client().get(
        f"/api/v1/organizations/{BENCH_SLUG}/alliances/", HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    assert listed.status_code == 200


def respond(client: Client, token: str):
    """What a locust respondent does, with the same helpers: the answer page's form, filled
    in by ``AnswerPage.answers``, posted as a browser does under ``no-referrer``."""
    link = client.get(f"/s/{token}/")
    assert link.status_code == 302
    assert link["Location"].startswith("/s/a/")
    page = client.get(link["Location"])
    assert page.status_code == 200
    form = AnswerPage.parse(page.content.decode())
    return client.post(link["Location"], form.answers(random.Random(8)), HTTP_ORIGIN="null")


def test_the_respondents_form_helper_sends_a_response_that_is_stored(load_data):
    client = Client(enforce_csrf_checks=True)
    token = load_data["tokens"][0]
    sent = respond(client, token)
    assert sent.status_code == 302
    assert sent["Location"] == "/s/done/"
    assert THANKS in client.get("/s/done/").content.decode()
    response = Response.objects.get(round__in=open_rounds())
    questions = RoundQuestion.objects.filter(round=response.round).count()
    assert Answer.objects.filter(response=response).count() == questions == 9
    invitation = SurveyLink.objects.get(token_hash=token_hash(token)).invitation
    assert invitation.responded_on is not None
    # The token is used up: a second person with it gets the neutral page.
    assert Client().get(f"/s/{token}/").status_code == 404


def test_the_form_helper_needs_the_csrf_token(load_data):
    client = Client(enforce_csrf_checks=True)
    link = client.get(f"/s/{load_data['tokens'][0]}/")
    page = client.get(link["Location"]).content.decode()
    answers = AnswerPage.parse(page).answers(random.Random(8))
    del answers["csrfmiddlewaretoken"]
    assert client.post(link["Location"], answers, HTTP_ORIGIN="null").status_code == 403
    assert not Response.objects.filter(round__in=open_rounds()).exists()
    with pytest.raises(ValueError, match="not an answer form"):
        AnswerPage.parse(Client().get("/accounts/login/").content.decode())


def results(accepted: list[str], **overrides) -> dict:
    return {
        "failures": [],
        "accepted": accepted,
        "respondents_started": len(accepted),
        "respondents_finished": len(accepted),
        "out_of_tokens": 0,
        **overrides,
    }


def test_the_load_check_compares_accepted_submissions_with_stored_responses(load_data):
    need_services(redis=False)  # the check's SQL is PostgreSQL's
    tokens = load_data["tokens"]
    for token in tokens[:3]:
        assert respond(Client(), token).status_code == 302
    with connection.cursor() as cursor:
        found = stored(cursor, tokens[:3])
    assert found == Stored(responses=3, used_invitations=3, accepted_used=3, incomplete=0)
    assert mismatches(results(tokens[:3]), found) == []
    # A response the clients were not told about (a lost one) …
    with connection.cursor() as cursor:
        found = stored(cursor, tokens[:2])
    assert found == Stored(responses=3, used_invitations=3, accepted_used=2, incomplete=0)
    assert mismatches(results(tokens[:2]), found) == [
        "3 responses stored, 2 submissions accepted",
        "3 invitations used, 2 accepted",
    ]
    # … an accepted token whose response is not there, a failed request, a cut-short user.
    with connection.cursor() as cursor:
        found = stored(cursor, [*tokens[:3], tokens[5]])
    problems = mismatches(
        results(
            [*tokens[:3], tokens[5]],
            failures=[["survey: submit", "HTTP 500, expected 302", 2]],
            respondents_started=7,
        ),
        found,
    )
    assert problems == [
        "2 × survey: submit: HTTP 500, expected 302",
        "3 respondents were stopped mid-submission",
        "3 responses stored, 4 submissions accepted",
        "3 invitations used, 4 accepted",
        "only 3 of 4 accepted tokens are used up",
    ]


def test_the_load_section_replaces_its_predecessor_and_keeps_the_page_benchmark():
    pages = "# Benchmarks\n\n## Latest run\n\n### Page latency\n\n| a | b |\n"
    first = replace_section(pages, "## Load\n\nrun 1\n")
    assert first == pages + "\n## Load\n\nrun 1\n"
    second = replace_section(first, "## Load\n\nrun 2\n")
    assert second == pages + "\n## Load\n\nrun 2\n"
    # The page benchmark rewrites the rest of the file and keeps the Load section it finds.
    assert LOAD_SECTION.search(second).group() == "## Load\n\nrun 2\n"
    assert replace_section("## Load\n\nold\n\n## Later\n\nkept\n", "## Load\n\nnew") == (
        "## Later\n\nkept\n\n## Load\n\nnew\n"
    )


@pytest.mark.django_db(transaction=True)
def test_the_locust_scenario_runs_briefly_and_every_accepted_submission_is_stored(
    live_server, settings, tmp_path
):
    """bench/locustfile.py for a few seconds against the test server, in a process of its
    own (locust patches its process with gevent)."""
    need_services(redis=False)  # concurrent writes through the live server's threads
    settings.TRUSTED_PROXY_COUNT = 1  # as bench/load.py runs gunicorn: each person's address
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True  # as with DEBUG=0
    data, out = tmp_path / "load-data.json", tmp_path / "results.json"
    call_command(
        "bench_load_data", "--alliances", "2", "--months", "1", "--output", str(data),
        stdout=io.StringIO(),
    )  # fmt: skip
    locust = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "locust", "-f", "bench/locustfile.py", "--headless",
         "--users", "5", "--spawn-rate", "5", "--run-time", "4s", "--stop-timeout", "10",
         "--host", live_server.url, "--only-summary"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "CONCORD_LOAD_DATA": str(data),
             "CONCORD_LOAD_RESULTS": str(out)},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.exists(), locust.stderr[-3000:]
    results = json.loads(out.read_text())
    assert results["failures"] == [], locust.stderr[-3000:]
    assert results["users"] == {"Respondent": 3, "Manager": 2}
    assert {"survey: submit", "survey: thanks", "sign in: submit", "portfolio"} <= set(
        results["times"]
    )
    accepted = results["accepted"]
    assert accepted
    assert results["respondents_started"] == results["respondents_finished"] == len(accepted)
    assert Response.objects.filter(round__in=open_rounds()).count() == len(accepted)
    used = SurveyInvitation.objects.filter(round__in=open_rounds(), responded_on__isnull=False)
    assert set(used.values_list("links__token_hash", flat=True)) == {
        token_hash(t) for t in accepted
    }
