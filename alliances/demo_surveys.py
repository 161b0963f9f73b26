"""The demo's pulse-survey history: how each alliance's people answer, as plain tables.

Read by ``python manage.py seed_demo``. A level is a corner's mean score (0–100, DESIGN §6)
on one side; the answers are drawn around it with noise, so the rounds look like real ones.
The trust anchor follows relational trust. Every alliance not listed in ``STORIES`` answers
like ``HEALTHY``.
"""

from dataclasses import dataclass, field

from alliances.models import Side

HISTORY_ROUNDS = 24  # the last 24 monthly rounds, or fewer for a younger alliance

STRATEGIC, OPERATIONAL, RELATIONAL, VALUE = "strategic", "operational", "relational", "value"


@dataclass(frozen=True)
class Level:
    """A mean score that stays at ``start`` until ``begins`` (0 = the first round, 1 = the
    latest) and then moves in a straight line to ``end`` at the latest round."""

    start: float
    end: float | None = None
    begins: float = 0.0

    def at(self, progress: float) -> float:
        if self.end is None or progress <= self.begins:
            return self.start
        return self.start + (self.end - self.start) * (progress - self.begins) / (1 - self.begins)


@dataclass(frozen=True)
class SurveyStory:
    pattern: str  # for the README and the tests: healthy, declining, perception gap, …
    lead: dict[str, Level]  # corner → level, as the lead's people answer
    partner: dict[str, Level] = field(default_factory=dict)  # empty: as the lead
    response_rate: dict[str, float] = field(
        default_factory=lambda: {Side.LEAD: 0.9, Side.PARTNER: 0.85}
    )
    open_now: bool = False  # its current round opened a few days ago and is still open

    def level(self, side: str, corner: str, progress: float) -> float:
        levels = self.partner if side == Side.PARTNER and self.partner else self.lead
        return levels[corner].at(progress)


def steady(strategic: float, operational: float, relational: float, value: float):
    """Four levels that do not move."""
    return {
        STRATEGIC: Level(strategic),
        OPERATIONAL: Level(operational),
        RELATIONAL: Level(relational),
        VALUE: Level(value),
    }


HEALTHY = SurveyStory("healthy", lead=steady(80, 77, 82, 78))

STORIES: dict[str, SurveyStory] = {
    # The flagship: healthy, and the one whose round is open, so both ada and ben can answer.
    "Northwind + Contoso Cloud Co-Sell": SurveyStory(
        "healthy",
        lead={
            STRATEGIC: Level(83),
            OPERATIONAL: Level(76),
            RELATIONAL: Level(84),
            VALUE: Level(78, 81),
        },
        open_now=True,
    ),
    # Contoso's IoT strategy moved away from the offer: trust erodes first, then the daily work.
    "Connected Field Service with Contoso": SurveyStory(
        "declining",
        lead={
            STRATEGIC: Level(80, 58, begins=0.4),
            OPERATIONAL: Level(80, 44, begins=0.3),
            RELATIONAL: Level(82, 38),
            VALUE: Level(76, 56, begins=0.2),
        },
        partner={
            STRATEGIC: Level(78, 55, begins=0.4),
            OPERATIONAL: Level(79, 42, begins=0.3),
            RELATIONAL: Level(80, 36),
            VALUE: Level(77, 58, begins=0.2),
        },
    ),
    # Contoso runs an ecosystem of launch partners; Northwind, the partner, feels like one of
    # many and doubts that its effort pays off. Each side's view is stable; they differ.
    "Contoso Manufacturing Cloud Launch": SurveyStory(
        "perception gap",
        lead=steady(82, 76, 80, 80),
        partner=steady(55, 72, 74, 54),
    ),
    # The partner that skips meetings also skips surveys: too few answers to trust the scores.
    "Retail Demand Sensing with Contoso": SurveyStory(
        "poor response rate",
        lead={
            STRATEGIC: Level(74),
            OPERATIONAL: Level(70),
            RELATIONAL: Level(73),
            VALUE: Level(70, 60, begins=0.5),
        },
        response_rate={Side.LEAD: 0.6, Side.PARTNER: 0.22},
    ),
    # Waiting on the legal teams shows in the daily work, not in the relationship.
    "Contoso Data Platform Connector": SurveyStory(
        "healthy",
        lead={**steady(81, 0, 80, 76), OPERATIONAL: Level(78, 72)},
    ),
    "Wingtip Cold-Chain Logistics": SurveyStory(
        "healthy",
        lead=steady(84, 79, 85, 80),
        response_rate={Side.LEAD: 0.93, Side.PARTNER: 0.9},
    ),
}

# Of the Likert items answered, this share is "not applicable" (more for some functions).
NOT_APPLICABLE = 0.03
NOT_APPLICABLE_FUNCTIONS = {"legal_finance": 0.12, "other": 0.08, "marketing": 0.06}
COMMENT_SHARE = 0.1  # of the responses, those with a comment
# On which day after opening people answer (weights for days 0–8): most in the first days,
# a few more after each reminder (days 3 and 7).
RESPONSE_DAYS = (30, 20, 10, 12, 7, 4, 3, 9, 5)

# Short comments, by how the respondent's answers lean (their mean score).
COMMENTS = {
    "good": (
        "The monthly check-ins are finally short and useful.",
        "Joint pipeline reviews have made a real difference this quarter.",
        "Good month. The other team answered every question within a day.",
        "Our counterparts flagged a delivery risk early, which saved us a week.",
        "Customers notice that we show up as one team now.",
        "Happy with how the last escalation was handled: quick and fair.",
    ),
    "mixed": (
        "Fine overall, but decisions still wait for the steering committee too often.",
        "Hard to judge value yet; the numbers lag by a quarter.",
        "The people are great; the shared tools are not.",
        "We agreed the plan, now we need the resources that go with it.",
        "Handoffs between support teams are better but not solved.",
    ),
    "poor": (
        "We heard about the roadmap change from a customer, not from the partner.",
        "Three meetings cancelled in a row. It is hard to see this as a priority for them.",
        "Commitments from the last council were not kept and nobody explained why.",
        "The effort on our side is not matched by the leads we receive.",
        "It feels like we are one of many partners, not a strategic one.",
        "I would not bet on a renewal if things stay like this.",
    ),
}
