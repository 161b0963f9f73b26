"""``make bench``: the dataset generator, the liveness probe and the one-query yardstick."""

import importlib
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.test import Client
from django.urls import clear_url_caches

from alliances.management.commands.bench_data import BENCH_EMAIL, BENCH_PASSWORD, BENCH_SLUG
from alliances.models import Alliance, Contact, Side
from governance.models import ActionItem, GovernanceBody, Meeting, Risk
from scorecards.models import AllianceHealth, CornerScore, Kpi, Light, RoundHealth
from surveys.models import Answer, Response, RoundQuestion, SurveyInvitation, SurveyRound


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
