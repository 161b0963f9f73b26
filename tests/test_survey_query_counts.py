"""The managers' survey pages cost the same number of queries however much they show."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alliances.models import Side
from surveys import services
from surveys.models import Question, SurveyRound
from tests.factories import ContactFactory
from tests.test_survey_manage_views import run_round

CEILING = 25


def queries(client, url) -> int:
    client.get(url)  # warm up: the session and anything cached per process
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, url
    assert len(context.captured_queries) <= CEILING, url
    return len(context.captured_queries)


def test_rounds_list_is_flat(world, client_for, django_assert_num_queries):
    alliance = world.shared
    url = f"/o/northwind/alliances/{alliance.pk}/surveys/"
    client = client_for(world.ada)
    ContactFactory(alliance=alliance, side=Side.LEAD, email_failed_at=timezone.now())
    few = queries(client, url)

    for side in (Side.LEAD, Side.PARTNER):
        ContactFactory.create_batch(6, alliance=alliance, side=side)
        ContactFactory.create_batch(
            2, alliance=alliance, side=side, email_failed_at=timezone.now(), email_failure="550"
        )
        ContactFactory(alliance=alliance, side=side, takes_pulse=False)
    for days_ago in (5, 71, 102, 133):
        run_round(alliance, days_ago=days_ago, answering={Side.LEAD: 4, Side.PARTNER: 3})
    assert SurveyRound.objects.filter(alliance=alliance).count() == 5
    with django_assert_num_queries(few):
        assert client.get(url).status_code == 200


def test_round_detail_is_flat(world, client_for, django_assert_num_queries):
    alliance = world.shared
    SurveyRound.objects.filter(alliance=alliance).delete()
    for side in (Side.LEAD, Side.PARTNER):
        ContactFactory.create_batch(2, alliance=alliance, side=side)
    small = run_round(
        alliance, days_ago=40, answering={Side.LEAD: 3, Side.PARTNER: 3}, comment="ok"
    )
    client = client_for(world.ada)
    for suffix in ("", "results.csv"):
        few = queries(client, f"/o/northwind/alliances/{alliance.pk}/surveys/{small.pk}/{suffix}")

        for side in (Side.LEAD, Side.PARTNER):
            ContactFactory.create_batch(10, alliance=alliance, side=side)
        SurveyRound.objects.exclude(pk=small.pk).filter(alliance=alliance).delete()
        large = run_round(
            alliance, days_ago=5, answering={Side.LEAD: 12, Side.PARTNER: 11}, comment="fine"
        )
        assert large.responses.count() == 23
        with django_assert_num_queries(few):
            url = f"/o/northwind/alliances/{alliance.pk}/surveys/{large.pk}/{suffix}"
            assert client.get(url).status_code == 200


def test_question_bank_is_flat(world, client_for, django_assert_num_queries):
    url = "/o/northwind/surveys/"
    client = client_for(world.dan)
    few = queries(client, url)

    now = timezone.now()
    for n in range(30):
        question = services.question_save(
            question=Question(
                organization=world.northwind, corner="value", text=f"Own item {n}.", stages=[1, 2]
            ),
            user=world.dan,
        )
        if n % 3 == 0:
            services.question_retire(question=question, now=now)
    run_round(world.shared, days_ago=5, answering={Side.LEAD: 1})
    with django_assert_num_queries(few):
        assert client.get(url).status_code == 200
