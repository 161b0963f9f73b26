"""Which statements a round asks: two per corner, rotating, stage-relevant ones preferred,
the bank's edits and retirements never rewriting what past rounds asked."""

import math
from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from surveys import services
from surveys.defaults import DEFAULT_QUESTIONS
from surveys.models import Corner, Question, QuestionKind, RoundQuestion, SurveyRound
from tests.factories import survey_round_open

START = timezone.make_aware(datetime(2027, 1, 1, 9))


def month(index: int) -> datetime:
    return START.replace(year=2027 + index // 12, month=index % 12 + 1)


def bank_of(spec: dict[str, list[tuple[int, ...]]]) -> list[Question]:
    """Unsaved questions with ids: ``{corner: [stages of item 1, stages of item 2, …]}``."""
    bank, pk = [], 0
    for corner, items in spec.items():
        for stages in items:
            pk += 1
            bank.append(Question(pk=pk, corner=corner, text=f"{corner} {pk}", stages=list(stages)))
    return bank


def default_bank() -> list[Question]:
    return [
        Question(pk=pk, key=item.key, corner=item.corner, text=item.text, stages=list(item.stages))
        for pk, item in enumerate(DEFAULT_QUESTIONS, start=1)
    ]


def simulate(bank: list[Question], *, stage: int, rounds: int) -> list[list[Question]]:
    """What ``rounds`` monthly rounds in a row ask, as the opening job computes it."""
    last_asked, round_times, asked = {}, [], []
    for index in range(rounds):
        opens_at = month(index)
        chosen = services.choose_questions(
            bank, stage=stage, last_asked=dict(last_asked), round_times=list(round_times)
        )
        for question in chosen:
            last_asked[question.pk] = opens_at
        round_times.append(opens_at)
        asked.append(chosen)
    return asked


def by_corner(questions) -> dict[str, set[int]]:
    corners: dict[str, set[int]] = {corner: set() for corner in Corner.values}
    for question in questions:
        corners[question.corner].add(question.pk)
    return corners


# --- the choice itself ---------------------------------------------------------------------------


@pytest.mark.parametrize("stage", [1, 2, 3, 4, 5])
def test_default_bank_never_asks_the_same_set_twice_in_a_row(stage):
    rounds = simulate(default_bank(), stage=stage, rounds=12)
    for chosen in rounds:
        corners = by_corner(chosen)
        assert all(len(ids) == services.ITEMS_PER_CORNER for ids in corners.values())
    for before, after in zip(rounds, rounds[1:], strict=False):
        for corner, ids in by_corner(after).items():
            assert ids != by_corner(before)[corner], corner


@pytest.mark.parametrize(
    "stages",
    [
        [(1,), (1,), (2,)],  # three items, two relevant
        [(1,), (2,), (2,)],  # three items, one relevant
        [(1,), (1,), (1,), (2,)],
        [(2,), (2,), (2,)],  # none relevant
    ],
)
def test_a_small_corner_still_changes_its_pair_every_round(stages):
    """With three or four items a corner can always ask a pair it did not ask last time,
    however the stage preference weighs them."""
    bank = bank_of({corner: stages for corner in Corner.values})
    rounds = simulate(bank, stage=1, rounds=12)
    for before, after in zip(rounds, rounds[1:], strict=False):
        for corner, ids in by_corner(after).items():
            assert ids != by_corner(before)[corner]


def test_a_corner_with_just_two_items_asks_both_every_time():
    bank = bank_of({corner: [(1,), (2,)] for corner in Corner.values})
    for chosen in simulate(bank, stage=1, rounds=3):
        assert len(chosen) == services.ITEMS_PER_CORNER * len(Corner.values)


def test_stage_relevant_items_come_first_among_the_never_asked():
    bank = bank_of({corner: [(2,), (2,), (2,), (1, 3), (3,)] for corner in Corner.values})
    chosen = services.choose_questions(bank, stage=3, last_asked={}, round_times=[])
    assert all(3 in q.stages for q in chosen)
    assert len(chosen) == 8


def test_least_recently_asked_come_first():
    bank = bank_of({corner: [(2,)] * 4 for corner in Corner.values})
    times = [month(i) for i in range(3)]
    # In each corner: item 1 asked in the last round, item 2 two rounds ago, item 3 three
    # rounds ago, item 4 never.
    last_asked = {}
    for question in bank:
        offset = (question.pk - 1) % 4
        if offset < 3:
            last_asked[question.pk] = times[2 - offset]
    chosen = services.choose_questions(bank, stage=1, last_asked=last_asked, round_times=times)
    assert sorted((q.pk - 1) % 4 for q in chosen) == [2, 2, 2, 2, 3, 3, 3, 3]


def test_retired_items_are_never_chosen():
    bank = bank_of({corner: [(1,)] * 3 for corner in Corner.values})
    for question in bank[::3]:
        question.retired_at = START
    for chosen in simulate(bank, stage=1, rounds=4):
        assert not any(q.retired_at for q in chosen)
        assert len(chosen) == 8


# --- rounds as the job opens them ----------------------------------------------------------------


@pytest.fixture
def alliance(world):
    SurveyRound.objects.filter(alliance=world.shared).delete()
    return world.shared


def open_and_close(alliance, index: int) -> SurveyRound:
    survey_round = survey_round_open(alliance, now=month(index))
    SurveyRound.objects.filter(pk=survey_round.pk).update(closed_at=survey_round.closes_at)
    return survey_round


def asked(survey_round) -> set[int]:
    return set(
        survey_round.questions.filter(kind=QuestionKind.LIKERT).values_list("question", flat=True)
    )


def test_twelve_rounds_rotate_and_each_asks_the_anchor_and_two_per_corner(alliance):
    rounds = [open_and_close(alliance, i) for i in range(12)]
    for survey_round in rounds:
        questions = list(survey_round.questions.all())
        assert len(questions) == services.ROUND_SIZE
        assert questions[0].kind == QuestionKind.TRUST and questions[0].position == 0
        corners = [q.corner for q in questions[1:]]
        assert sorted(corners) == sorted(Corner.values * services.ITEMS_PER_CORNER)
    for before, after in zip(rounds, rounds[1:], strict=False):
        assert asked(before) != asked(after)
    everything = set().union(*(asked(r) for r in rounds))
    assert len(everything) > 2 * len(asked(rounds[0]))  # the bank is actually used


def test_retiring_an_item_removes_it_from_future_rounds(alliance):
    first = open_and_close(alliance, 0)
    second = open_and_close(alliance, 1)
    # The item first asked comes back after a break; retire it before it can.
    returning = Question.objects.get(pk=min(asked(first)))
    services.question_retire(question=returning, now=month(1))
    later = [open_and_close(alliance, i) for i in range(2, 8)]
    assert all(returning.pk not in asked(r) for r in later)
    assert returning.pk in asked(first) and second  # the past stays as it was
    assert RoundQuestion.objects.filter(round=first, question=returning).exists()


def test_an_organisations_own_item_gets_asked(alliance, world):
    corner = Corner.VALUE
    own = services.question_save(
        question=Question(
            organization=world.northwind,
            corner=corner,
            text="Our joint pipeline reviews change what we sell next quarter.",
            stages=[alliance.stage],
        ),
        user=world.ada,
    )
    in_corner = Question.objects.filter(
        organization=world.northwind, corner=corner, retired_at__isnull=True
    ).count()
    within = math.ceil(in_corner / services.ITEMS_PER_CORNER)
    rounds = [open_and_close(alliance, i) for i in range(within)]
    assert any(own.pk in asked(r) for r in rounds)
    asked_as = RoundQuestion.objects.filter(question=own).first()
    assert asked_as.text == own.text and asked_as.corner == corner


def test_past_rounds_keep_their_wording(alliance, world):
    survey_round = open_and_close(alliance, 0)
    item = survey_round.questions.filter(kind=QuestionKind.LIKERT).first().question
    original = item.text
    item.text = "A reworded statement nobody was asked."
    with pytest.raises(ValidationError, match="Retire it and add a new one"):
        services.question_save(question=item, user=world.ada)
    item.refresh_from_db()
    assert item.text == original

    services.question_retire(question=item, now=month(1))
    Question.objects.filter(pk=item.pk).update(text="Changed behind the bank's back.")
    asked_as = survey_round.questions.get(question=item)
    assert asked_as.text == original
    assert open_and_close(alliance, 1).questions.filter(question=item).count() == 0

    never_asked = (
        Question.objects.filter(organization=world.northwind, retired_at__isnull=True)
        .exclude(asked__isnull=False)
        .first()
    )
    never_asked.text = "Still unasked, so it may be reworded."
    services.question_save(question=never_asked, user=world.ada)
    never_asked.refresh_from_db()
    assert never_asked.text == "Still unasked, so it may be reworded."


def test_a_corner_keeps_enough_items_to_fill_a_round(world):
    bank = Question.objects.filter(
        organization=world.northwind, corner=Corner.RELATIONAL, retired_at__isnull=True
    )
    *retirable, last_two_a, last_two_b = list(bank)
    for question in retirable:
        services.question_retire(question=question, now=START)
    with pytest.raises(ValidationError, match="keep at least"):
        services.question_retire(question=last_two_a, now=START)
    assert bank.all().count() == services.ITEMS_PER_CORNER
    alliance = world.shared
    SurveyRound.objects.filter(alliance=alliance).delete()
    survey_round = survey_round_open(alliance, now=START + timedelta(days=400))
    relational = survey_round.questions.filter(corner=Corner.RELATIONAL)
    assert set(relational.values_list("question", flat=True)) == {last_two_a.pk, last_two_b.pk}
