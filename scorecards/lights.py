"""Traffic lights as plain rules: a colour and the words that explain it.

A light is never colour alone: every colour has a symbol and a word (see ``Color``), and
every light carries the reasons for its colour in words a steering committee understands.
"""

from django.db import models


class Color(models.TextChoices):
    GREEN = "green", "Green"
    YELLOW = "yellow", "Yellow"
    RED = "red", "Red"
    GREY = "grey", "Not enough data"

    @property
    def symbol(self) -> str:
        return {"green": "●", "yellow": "▲", "red": "■", "grey": "○"}[self.value]

    @property
    def rank(self) -> int:
        """How bad: grey 0 (says nothing), green 1, yellow 2, red 3."""
        return {"grey": 0, "green": 1, "yellow": 2, "red": 3}[self.value]


def worse(a: "Color", b: "Color") -> "Color":
    return a if Color(a).rank >= Color(b).rank else b


def threshold_color(
    value: float | None, *, green_from: float, red_below: float, higher_is_better: bool = True
) -> Color:
    """The colour of a value against two thresholds.

    Higher is better: green at or above ``green_from``, red below ``red_below``, yellow
    between. Lower is better (e.g. days to resolve an issue): green at or below
    ``green_from``, red above ``red_below``, yellow between. No value: grey.
    """
    if value is None:
        return Color.GREY
    if higher_is_better:
        if value >= green_from:
            return Color.GREEN
        return Color.RED if value < red_below else Color.YELLOW
    if value <= green_from:
        return Color.GREEN
    return Color.RED if value > red_below else Color.YELLOW
