"""Materialised scores: exact values from known answers, anonymity in stored cells, and a
recompute that costs the same few queries for any number of alliances."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alliances.models import ContactFunction, Side
from scorecards.models import CornerScore, Metric, RoundHealth, View
from scorecards.scoring import scores_recompute
from surveys import services as surveys
from surveys.models import SurveyRound
from tests.factories import AllianceFactory, ContactFactory, OrganizationFactory, survey_round_open


def answer(survey_round, invitation, *, likert, trust, na_corner=None):
    """Answer while the round was open: a day after it opened."""
    answers = {}
    for q in survey_round.questions.all():
        if q.is_trust:
            answers[q.pk] = trust
        elif q.corner == na_corner:
            answers[q.pk] = None
        else:
            answers[q.pk] = likert
    when = survey_round.opens_at + timedelta(days=1)
    surveys.response_submit(invitation=invitation, answers=answers, comment="", now=when)


def closed_round(alliance, answers_by_side: dict):
    """Open a round, answer it (a list of (likert, trust) per side), close it."""
    survey_round = survey_round_open(alliance, now=timezone.now() - timedelta(days=20))
    for side, values in answers_by_side.items():
        invitations = list(survey_round.invitations.filter(side=side).select_related("round"))
        for invitation, (likert, trust) in zip(invitations, values, strict=False):
            answer(survey_round, invitation, likert=likert, trust=trust)
    SurveyRound.objects.filter(pk=survey_round.pk).update(closed_at=survey_round.closes_at)
    return survey_round


@pytest.fixture
def team(world):
    SurveyRound.objects.filter(alliance=world.shared).delete()
    for side in (Side.LEAD, Side.PARTNER):
        ContactFactory.create_batch(3, alliance=world.shared, side=side)
    return world.shared


def scores(survey_round, view=View.ALL):
    return {
        s.metric: s for s in CornerScore.objects.filter(round=survey_round, view=view, function="")
    }


def test_exact_scores_from_known_answers(team):
    # Lead: likert 5,5,4 → (4,4,3)·25 = 91.67; partner: 2,2,1 → (1,1,0)·25 = 16.67.
    survey_round = closed_round(
        team,
        {Side.LEAD: [(5, 10), (5, 9), (4, 8)], Side.PARTNER: [(2, 3), (2, 4), (1, 2)]},
    )
    assert scores_recompute(now=timezone.now(), round_ids=[survey_round.pk]) == 1
    everyone = scores(survey_round)
    assert everyone[Metric.STRATEGIC].score == pytest.approx((100 + 100 + 75 + 25 + 25 + 0) / 6)
    assert everyone[Metric.TRUST].score == pytest.approx((100 + 90 + 80 + 30 + 40 + 20) / 6)
    assert everyone[Metric.STRATEGIC].responses == 6
    lead = scores(survey_round, View.LEAD)
    partner = scores(survey_round, View.PARTNER)
    assert lead[Metric.VALUE].score == pytest.approx(275 / 3)
    assert partner[Metric.VALUE].score == pytest.approx(50 / 3)
    assert partner[Metric.VALUE].spread == pytest.approx(
        ((2 * (25 - 50 / 3) ** 2 + (50 / 3) ** 2) / 3) ** 0.5
    )
    health = RoundHealth.objects.get(round=survey_round)
    assert (health.invited, health.responded) == (8, 6)
    assert health.response_rate == pytest.approx(75.0)
    assert (health.invited_lead, health.responded_lead) == (4, 3)
    assert health.low_confidence is False


def test_not_applicable_does_not_count(team):
    survey_round = survey_round_open(team, now=timezone.now() - timedelta(days=20))
    invitations = list(survey_round.invitations.select_related("round"))
    answer(survey_round, invitations[0], likert=5, trust=10, na_corner="value")
    answer(survey_round, invitations[1], likert=1, trust=0)
    answer(survey_round, invitations[2], likert=3, trust=5)
    SurveyRound.objects.filter(pk=survey_round.pk).update(closed_at=survey_round.closes_at)
    scores_recompute(now=timezone.now())
    value = scores(survey_round)[Metric.VALUE]
    assert value.score == pytest.approx((0 + 50) / 2)
    assert value.responses == 3  # three people saw the items; one said "not applicable"


def test_small_cells_and_their_complements_are_blank(team):
    ContactFactory(alliance=team, side=Side.LEAD, function=ContactFunction.LEGAL_FINANCE)
    survey_round = closed_round(team, {Side.LEAD: [(4, 8)] * 4, Side.PARTNER: [(2, 3)] * 2})
    scores_recompute(now=timezone.now())
    assert scores(survey_round)[Metric.STRATEGIC].score is not None  # everyone: 6 people
    lead = scores(survey_round, View.LEAD)[Metric.STRATEGIC]
    partner = scores(survey_round, View.PARTNER)[Metric.STRATEGIC]
    assert (lead.responses, partner.responses) == (4, 2)
    assert lead.score is None and partner.score is None  # everyone minus lead = partner
    functions = CornerScore.objects.filter(round=survey_round, view=View.FUNCTION)
    assert functions.exists()
    assert all(s.score is None for s in functions if s.responses < 3)


def test_recompute_is_idempotent(team):
    survey_round = closed_round(team, {Side.LEAD: [(4, 8)] * 3, Side.PARTNER: [(3, 6)] * 3})
    scores_recompute(now=timezone.now())
    first = list(
        CornerScore.objects.order_by("round", "metric", "view", "function").values_list(
            "round", "metric", "view", "function", "score", "responses"
        )
    )
    scores_recompute(now=timezone.now())
    again = list(
        CornerScore.objects.order_by("round", "metric", "view", "function").values_list(
            "round", "metric", "view", "function", "score", "responses"
        )
    )
    assert first == again
    assert RoundHealth.objects.filter(round=survey_round).count() == 1


def alliances_with_rounds(count: int):
    lead = OrganizationFactory()
    for _ in range(count):
        alliance = AllianceFactory(lead_organization=lead)
        for side in (Side.LEAD, Side.PARTNER):
            ContactFactory.create_batch(2, alliance=alliance, side=side)
        closed_round(alliance, {Side.LEAD: [(4, 7)] * 2, Side.PARTNER: [(3, 6)] * 2})


def test_recompute_costs_the_same_queries_for_10_and_for_500_alliances(world):
    def queries(count):
        alliances_with_rounds(count)
        with CaptureQueriesContext(connection) as captured:
            scores_recompute(now=timezone.now())
        return len(captured)

    few = queries(10)
    many = queries(500)
    assert few == many
