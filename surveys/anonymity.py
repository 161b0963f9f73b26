"""The rules that keep small groups anonymous (DESIGN §5), as plain functions.

A breakdown splits a round's responses into cells that together make up a total that is
shown too (by side, by function). A cell with fewer than ``MIN_CELL`` responses is hidden
("not enough responses"). Hiding it is not enough when the total is shown: total minus the
shown cells gives the hidden cells back. So while the hidden cells together hold between 1
and ``MIN_CELL - 1`` responses, the smallest shown cell is hidden as well.
"""

MIN_CELL = 3


def hidden_cells(cells: dict[str, int], *, minimum: int = MIN_CELL) -> set[str]:
    """The cells of one partition that must not be shown. ``cells`` maps key → responses."""
    if sum(cells.values()) < minimum:
        return {key for key, n in cells.items() if n > 0}
    hidden = {key for key, n in cells.items() if 0 < n < minimum}
    while 0 < sum(cells[key] for key in hidden) < minimum:
        shown = [key for key, n in cells.items() if n > 0 and key not in hidden]
        hidden.add(min(shown, key=lambda key: (cells[key], key)))
    return hidden


def total_shown(total: int, *, minimum: int = MIN_CELL) -> bool:
    return total >= minimum
