"""The rules that keep small groups anonymous (DESIGN §5), as plain functions.

A breakdown splits a round's responses into cells that together make up a total that is
shown too (by side, by function). A cell with fewer than ``MIN_CELL`` responses is hidden
("not enough responses"). Hiding it is not enough when the total is shown: total minus the
shown cells gives the hidden cells back. So while the hidden cells together hold between 1
and ``MIN_CELL - 1`` responses, the smallest shown cell is hidden as well.
"""

MIN_CELL = 3
POOL_ROUNDS = 3


def hidden_cells(
    cells: dict[str, int], *, minimum: int = MIN_CELL, forced: frozenset | set = frozenset()
) -> set[str]:
    """The cells of one partition that must not be shown. ``cells`` maps key → responses;
    ``forced`` names cells to hide whatever their size (the complement rule then applies
    to them too)."""
    if sum(cells.values()) < minimum:
        return {key for key, n in cells.items() if n > 0}
    hidden = {key for key, n in cells.items() if 0 < n < minimum or (n and key in forced)}
    while 0 < sum(cells[key] for key in hidden) < minimum:
        shown = [key for key, n in cells.items() if n > 0 and key not in hidden]
        hidden.add(min(shown, key=lambda key: (cells[key], key)))
    return hidden


def pooled_hidden_cells(per_round: list[dict[str, int]], *, minimum: int = MIN_CELL) -> set[str]:
    """The cells to hide in a breakdown pooled over several rounds (``per_round``: each
    round's cells), given that each round's own breakdown was shown under ``hidden_cells``.

    A cell's *remainder* is its responses in the rounds where it was hidden: the pooled
    cell minus the rounds that showed it gives exactly those back. So a shown pooled cell
    needs a remainder of 0 or at least ``minimum``; and the hidden pooled cells, which the
    pooled total minus the shown ones gives back as a group, need the same of their
    remainders together.
    """
    pooled: dict[str, int] = {}
    remainder: dict[str, int] = {}
    for cells in per_round:
        hidden = hidden_cells(cells, minimum=minimum)
        for key, n in cells.items():
            pooled[key] = pooled.get(key, 0) + n
            remainder[key] = remainder.get(key, 0) + (n if key in hidden else 0)
    forced = {key for key, n in remainder.items() if 0 < n < minimum}
    hidden = hidden_cells(pooled, minimum=minimum, forced=forced)
    while 0 < sum(remainder[key] for key in hidden) < minimum:
        helpful = [key for key in pooled if key not in hidden and remainder[key] > 0]
        if not helpful:
            return {key for key, n in pooled.items() if n > 0}
        hidden.add(min(helpful, key=lambda key: (remainder[key], key)))
    return hidden


def total_shown(total: int, *, minimum: int = MIN_CELL) -> bool:
    return total >= minimum
