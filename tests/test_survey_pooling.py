"""Pooling thin breakdowns over a fixed block of rounds without giving anyone away."""

from surveys.anonymity import hidden_cells, pooled_hidden_cells


def test_forced_cells_are_hidden_and_the_complement_rule_still_applies():
    assert hidden_cells({"lead": 6, "partner": 6}, forced={"partner"}) == {"partner"}
    # Forcing a 2 hides 2 people: the smallest other cell goes too, or "all" minus the rest
    # would give them back.
    assert hidden_cells({"a": 6, "b": 2, "c": 5}, forced={"b"}) == {"b", "c"}
    assert hidden_cells({"a": 6, "b": 0}, forced={"b"}) == set()


def test_a_pool_is_shown_when_the_thin_rounds_together_are_big_enough():
    rounds = [{"lead": 3, "partner": 1}, {"lead": 3, "partner": 1}, {"lead": 4, "partner": 1}]
    assert pooled_hidden_cells(rounds) == set()


def test_a_pool_hides_a_cell_whose_hidden_rounds_would_come_back_by_subtraction():
    """Round 1 shows the partner's 3 people; rounds 2 and 3 hid theirs (1 each). Pooled minus
    round 1 would give those 2 people back, so the pooled partner cell is hidden; and as the
    pooled total minus the lead would give it back anyway, the lead goes too."""
    rounds = [{"lead": 5, "partner": 3}, {"lead": 5, "partner": 1}, {"lead": 5, "partner": 1}]
    assert hidden_cells(rounds[0]) == set()
    assert hidden_cells(rounds[1]) == {"lead", "partner"}
    assert pooled_hidden_cells(rounds) == {"lead", "partner"}


def test_a_pool_keeps_cells_whose_remainders_are_big_enough():
    rounds = [
        {"sales": 4, "delivery": 1, "product": 1},
        {"sales": 4, "delivery": 1, "product": 2},
        {"sales": 4, "delivery": 1, "product": 1},
    ]
    # Rounds 1 and 3 hide all three groups (delivery and product are 2 people together, so
    # sales goes too); round 2 shows sales. Every remainder is 3 or more.
    assert pooled_hidden_cells(rounds) == set()
    thin = [{"sales": 4, "delivery": 1}, {"sales": 4, "delivery": 0}, {"sales": 4}]
    assert pooled_hidden_cells(thin) == {"sales", "delivery"}
