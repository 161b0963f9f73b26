"""Small groups stay anonymous: suppressed cells, the complement rule, pooling over rounds,
comments only with enough responses, and a schema with no way back to a person."""

from datetime import timedelta

import pytest
from django.db import connection, models
from django.utils import timezone

from alliances.models import ContactFunction, Side
from surveys import selectors
from surveys.anonymity import MIN_CELL, hidden_cells, total_shown
from surveys.models import Answer, Response, RoundQuestion, SurveyInvitation, SurveyRound
from tests.factories import survey_round_open

# --- hidden_cells --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "hidden"),
    [
        ({"lead": 5, "partner": 4}, set()),
        ({"lead": 5, "partner": 2}, {"lead", "partner"}),  # total − lead would give partner
        ({"lead": 3, "partner": 3}, set()),
        ({"lead": 1, "partner": 1}, {"lead", "partner"}),  # total < 3
        ({"lead": 2, "partner": 0}, {"lead"}),
        ({"lead": 4, "partner": 0}, set()),  # an empty cell reveals nobody
        ({}, set()),
        # "everyone but sales" would be 2: sales is hidden with them.
        ({"sales": 3, "marketing": 1, "product": 1}, {"sales", "marketing", "product"}),
        # The smallest shown cell joins the hidden ones until they hold 3 or more.
        ({"sales": 5, "marketing": 3, "product": 1}, {"marketing", "product"}),
        ({"sales": 6, "marketing": 4, "product": 2, "legal": 1}, {"product", "legal"}),
        ({"sales": 6, "marketing": 4, "product": 1, "legal": 0}, {"marketing", "product"}),
        ({"sales": 3, "marketing": 3, "product": 3}, set()),
    ],
)
def test_hidden_cells(cells, hidden):
    assert hidden_cells(cells) == hidden


@pytest.mark.parametrize(
    "cells",
    [
        {"a": 5, "b": 2},
        {"a": 3, "b": 1, "c": 1},
        {"a": 9, "b": 4, "c": 2, "d": 1},
        {"a": 1, "b": 1, "c": 1, "d": 1, "e": 7},
        {"a": 2, "b": 2, "c": 2},
    ],
)
def test_no_group_under_three_can_be_worked_out_from_what_is_shown(cells):
    """Every shown cell has 3 or more; the hidden cells together (what the total minus the
    shown cells gives back, and any shown cell's complement) have 0 or 3 or more."""
    hidden = hidden_cells(cells)
    shown = {key: n for key, n in cells.items() if key not in hidden}
    assert all(n >= MIN_CELL or n == 0 for n in shown.values())
    assert sum(cells[key] for key in hidden) == 0 or sum(cells[key] for key in hidden) >= 3
    total = sum(cells.values())
    for n in shown.values():
        assert total - n == 0 or total - n >= MIN_CELL


def test_total_under_three_is_not_shown():
    assert not total_shown(2)
    assert total_shown(3)


# --- round_results -------------------------------------------------------------------------------


def respond(survey_round, people, *, comment: str = "", likert: int = 4) -> None:
    """Responses straight into the tables: ``people`` is a list of (side, function)."""
    questions = list(survey_round.questions.all())
    for index, (side, function) in enumerate(people):
        response = Response.objects.create(
            round=survey_round,
            side=side,
            function=function,
            submitted_on=survey_round.opens_at.date(),
            comment=f"{comment} {index}" if comment else "",
        )
        Answer.objects.bulk_create(
            Answer(
                response=response,
                question=q,
                round=survey_round,
                kind=q.kind,
                corner=q.corner,
                side=side,
                function=function,
                value=8 if q.is_trust else likert,
            )
            for q in questions
        )


LEAD = (Side.LEAD, ContactFunction.SALES)
PARTNER = (Side.PARTNER, ContactFunction.SALES)


@pytest.fixture
def rounds(world):
    """Closed rounds of the shared alliance, oldest first, made on demand."""
    alliance = world.shared
    SurveyRound.objects.filter(alliance=alliance).delete()
    made = []

    def make(people, **kwargs):
        survey_round = survey_round_open(
            alliance, now=timezone.now() - timedelta(days=400 - 40 * len(made))
        )
        SurveyRound.objects.filter(pk=survey_round.pk).update(closed_at=survey_round.closes_at)
        survey_round.refresh_from_db()
        respond(survey_round, people, **kwargs)
        made.append(survey_round)
        return survey_round

    return make


def cells(breakdown) -> dict[str, tuple[int, bool]]:
    return {cell.key: (cell.responses, cell.hidden) for cell in breakdown.cells}


def test_two_responses_show_nothing_not_even_comments(rounds):
    survey_round = rounds([LEAD, PARTNER], comment="Frank words")
    results = selectors.round_results(survey_round)
    assert results.responses == 2
    assert not results.shown
    assert results.comments == [] and results.overall is None
    assert results.by_side is None and results.by_function is None and results.items == []


def test_three_responses_show_comments_verbatim(rounds):
    survey_round = rounds([LEAD, LEAD, PARTNER], comment="Frank words")
    results = selectors.round_results(survey_round)
    assert results.shown
    assert sorted(results.comments) == ["Frank words 0", "Frank words 1", "Frank words 2"]


def test_a_thin_side_is_hidden_with_its_complement(rounds):
    survey_round = rounds([LEAD] * 5 + [PARTNER] * 2)
    by_side = selectors.round_results(survey_round).by_side
    assert cells(by_side) == {"lead": (5, True), "partner": (2, True)}
    assert all(cell.scores == {} and cell.trust is None for cell in by_side.cells)
    assert by_side.pooled_over == [] and by_side.pooled_label == ""


def test_a_thin_round_is_pooled_with_the_previous_ones_and_labelled(rounds):
    older = rounds([LEAD] * 3 + [PARTNER] * 1)
    previous = rounds([LEAD] * 3 + [PARTNER] * 1)
    survey_round = rounds([LEAD] * 4 + [PARTNER] * 1)
    by_side = selectors.round_results(survey_round).by_side
    assert cells(by_side) == {"lead": (10, False), "partner": (3, False)}
    assert set(by_side.pooled_over) == {survey_round, previous, older}
    label = by_side.pooled_label
    assert label.startswith("Pooled over 3 rounds")
    assert older.label in label and survey_round.label in label
    assert all(cell.scores for cell in by_side.cells)


def test_pooling_stops_at_three_rounds(rounds):
    rounds([LEAD] * 3 + [PARTNER] * 5)  # would help, but is the fourth round back
    rounds([LEAD] * 3)
    rounds([LEAD] * 3)
    survey_round = rounds([LEAD] * 4 + [PARTNER] * 1)
    by_side = selectors.round_results(survey_round).by_side
    assert by_side.pooled_over == []
    assert cells(by_side) == {"lead": (4, True), "partner": (1, True)}


def test_function_breakdown_hides_the_group_everyone_but_sales_would_reveal(rounds):
    survey_round = rounds(
        [(Side.LEAD, ContactFunction.SALES)] * 3
        + [(Side.LEAD, ContactFunction.MARKETING), (Side.PARTNER, ContactFunction.PRODUCT)]
    )
    results = selectors.round_results(survey_round)
    assert all(cell.hidden for cell in results.by_function.cells)
    assert results.overall.responses == 5


# --- the schema ----------------------------------------------------------------------------------


def test_responses_and_answers_point_only_at_rounds_questions_and_responses():
    allowed = {SurveyRound, RoundQuestion, Response}
    for model in (Response, Answer):
        for field in model._meta.get_fields():
            if field.is_relation and field.concrete:
                assert field.related_model in allowed, (model.__name__, field.name)
            if field.is_relation and not field.concrete:
                assert field.related_model in {Answer}, (model.__name__, field.name)
    for model in (SurveyInvitation, Response, Answer):
        for field in model._meta.get_fields():
            if isinstance(field, models.DateTimeField):
                assert model is SurveyInvitation, (model.__name__, field.name)
    invitation_targets = {
        f.related_model for f in SurveyInvitation._meta.get_fields() if f.is_relation
    }
    assert not invitation_targets & {Response, Answer}


def test_response_table_columns_are_exactly_the_anonymous_ones(db):
    with connection.cursor() as cursor:
        columns = {
            column.name
            for column in connection.introspection.get_table_description(
                cursor, Response._meta.db_table
            )
        }
    assert columns == {"id", "round_id", "side", "function", "submitted_on", "comment"}
    assert Response._meta.get_field("submitted_on").get_internal_type() == "DateField"
    assert SurveyInvitation._meta.get_field("responded_on").get_internal_type() == "DateField"
