"""Lights from stored scores: which thresholds apply, and the rules of DESIGN §6.

A corner's (or the trust anchor's) light starts from its thresholds: green at or above
``green_from``, red below ``red_below``, yellow between. Two rules raise it to at least
yellow: *declining* (10 points or more below the mean of the previous three rounds) and a
*perception gap* (15 points or more between the two sides). Fewer than 3 responses make it
grey, "not enough data", whatever the score. The response rate has a light of its own
(below 80% yellow, below 50% red) and marks the round's scores as low-confidence. Every
light keeps the reasons for its colour as sentences.
"""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Q

from alliances.models import Alliance, Side

from .lights import Color, threshold_color, worse
from .models import CornerScore, Metric, RoundHealth, Threshold, View
from .models.health import SCORE_METRICS

MIN_RESPONSES = 3
DECLINE_POINTS = 10
DECLINE_WINDOW = 3
GAP_POINTS = 15
RATE_GREEN_FROM = 80
RATE_RED_BELOW = 50


@dataclass(frozen=True)
class Thresholds:
    green_from: float = 70
    red_below: float = 50

    def describe(self, score: float) -> str:
        if score >= self.green_from:
            return f"at or above {self.green_from:g}, where green starts"
        if score < self.red_below:
            return f"below {self.red_below:g}, where red begins"
        return f"between {self.red_below:g} and {self.green_from:g}"


DEFAULT_THRESHOLDS = Thresholds()


class ThresholdBook:
    """The thresholds of many alliances, read in one query. The most specific row wins:
    alliance and stage, alliance, the lead organisation's for the stage, its default."""

    def __init__(self, alliances: list[Alliance]):
        self.rows: dict[tuple, Thresholds] = {}
        leads = {a.lead_organization_id for a in alliances}
        for row in Threshold.objects.filter(
            Q(alliance__isnull=True, organization_id__in=leads)
            | Q(alliance_id__in=[a.pk for a in alliances])
        ):
            key = ("alliance", row.alliance_id) if row.alliance_id else ("org", row.organization_id)
            self.rows[(*key, row.stage)] = Thresholds(row.green_from, row.red_below)

    def for_alliance(self, alliance: Alliance, stage: int) -> Thresholds:
        return threshold_lookup(self.rows, alliance, stage)[0]


def threshold_lookup(rows: dict, alliance: Alliance, stage: int) -> tuple[Thresholds, str]:
    """The thresholds that apply to ``alliance`` at ``stage`` among ``rows`` (a
    ``ThresholdBook``'s), and the level that set them: "alliance_stage", "alliance",
    "organization_stage", "organization" or "default"."""
    for level, key in (
        ("alliance_stage", ("alliance", alliance.pk, stage)),
        ("alliance", ("alliance", alliance.pk, None)),
        ("organization_stage", ("org", alliance.lead_organization_id, stage)),
        ("organization", ("org", alliance.lead_organization_id, None)),
    ):
        if key in rows:
            return rows[key], level
    return DEFAULT_THRESHOLDS, "default"


@dataclass
class RoundFacts:
    """What is stored about one closed round of one alliance."""

    round_id: int
    period_start: date
    stage: int
    health: RoundHealth | None
    scores: dict[tuple[str, str], CornerScore] = field(default_factory=dict)

    def cell(self, metric: str, view: str = View.ALL) -> CornerScore | None:
        return self.scores.get((metric, view))

    def score(self, metric: str, view: str = View.ALL) -> float | None:
        """The score if it can be judged: shown, and resting on at least 3 people."""
        cell = self.cell(metric, view)
        if cell is None or cell.score is None or cell.responses < MIN_RESPONSES:
            return None
        return cell.score


def alliance_histories(alliances: list[Alliance], *, until=None) -> dict[int, list[RoundFacts]]:
    """Each alliance's closed rounds, oldest first, with their stored scores: two queries.
    With ``until``, only the rounds closed by then (to replay the past)."""
    health = RoundHealth.objects.filter(alliance__in=alliances).select_related("round")
    scores = CornerScore.objects.filter(alliance__in=alliances).exclude(view=View.FUNCTION)
    if until is not None:
        health = health.filter(round__closed_at__lte=until)
        scores = scores.filter(round__closed_at__lte=until)
    facts: dict[int, RoundFacts] = {}
    for row in health.order_by("opens_at", "round_id"):
        facts[row.round_id] = RoundFacts(row.round_id, row.period_start, row.stage, row)
    for cell in scores:
        if cell.round_id in facts:
            facts[cell.round_id].scores[(cell.metric, cell.view)] = cell
    histories: dict[int, list[RoundFacts]] = {a.pk: [] for a in alliances}
    for fact in facts.values():
        histories[fact.health.alliance_id].append(fact)
    return histories


@dataclass
class LightDraft:
    metric: str
    view: str
    color: Color
    score: float | None
    reasons: list[str]
    rules: list[str]


def _score_light(
    alliance: Alliance, history: list[RoundFacts], index: int, metric: str, thresholds: Thresholds
) -> LightDraft:
    facts = history[index]
    label = Metric(metric).label
    cell = facts.cell(metric)
    score = facts.score(metric)
    if score is None:
        people = cell.responses if cell else 0
        reason = (
            f"Only {people} {'person' if people == 1 else 'people'} answered: not enough to judge."
            if people
            else "No answers this round."
        )
        return LightDraft(metric, View.ALL, Color.GREY, None, [reason], ["insufficient"])
    color = threshold_color(score, green_from=thresholds.green_from, red_below=thresholds.red_below)
    reasons = [f"{label} scored {score:.0f}, {thresholds.describe(score)}."]
    rules = ["threshold"]
    previous = [
        s for s in (f.score(metric) for f in history[max(0, index - DECLINE_WINDOW) : index])
    ]
    if len(previous) == DECLINE_WINDOW and None not in previous:
        mean = sum(previous) / DECLINE_WINDOW
        if score <= mean - DECLINE_POINTS:
            color = worse(color, Color.YELLOW)
            reasons.append(
                f"It is {mean - score:.0f} points below the average of the previous three "
                f"rounds ({mean:.0f}): declining."
            )
            rules.append("declining")
    lead, partner = facts.score(metric, View.LEAD), facts.score(metric, View.PARTNER)
    if lead is not None and partner is not None and abs(lead - partner) >= GAP_POINTS:
        color = worse(color, Color.YELLOW)
        reasons.append(
            f"{alliance.party_name(Side.LEAD)}'s people score it {lead:.0f}, "
            f"{alliance.party_name(Side.PARTNER)}'s {partner:.0f}: the two sides see it "
            f"{abs(lead - partner):.0f} points apart."
        )
        rules.append("gap")
    if facts.health and facts.health.low_confidence:
        reasons.append("Read with care: too few of those asked answered this round.")
    return LightDraft(metric, View.ALL, color, score, reasons, rules)


def _side_light(
    alliance: Alliance, facts: RoundFacts, metric: str, view: str, thresholds: Thresholds
) -> LightDraft:
    side = Side.LEAD if view == View.LEAD else Side.PARTNER
    score = facts.score(metric, view)
    if score is None:
        return LightDraft(
            metric,
            view,
            Color.GREY,
            None,
            [f"Too few answers from {alliance.party_name(side)} to show on their own."],
            ["insufficient"],
        )
    color = threshold_color(score, green_from=thresholds.green_from, red_below=thresholds.red_below)
    reason = (
        f"{alliance.party_name(side)}'s people score it {score:.0f}, {thresholds.describe(score)}."
    )
    return LightDraft(metric, view, color, score, [reason], ["threshold"])


def _rate_light(facts: RoundFacts) -> LightDraft:
    health = facts.health
    rate = health.response_rate if health else None
    if rate is None:
        return LightDraft(
            Metric.RESPONSE_RATE,
            View.ALL,
            Color.GREY,
            None,
            ["Nobody was asked."],
            ["insufficient"],
        )
    color = threshold_color(rate, green_from=RATE_GREEN_FROM, red_below=RATE_RED_BELOW)
    reasons = [
        f"{health.responded} of {health.invited} people answered ({rate:.0f}%); "
        f"a healthy alliance reaches {RATE_GREEN_FROM}%."
    ]
    if rate < RATE_RED_BELOW:
        reasons.append("Fewer than half answered, so this round's scores are low-confidence.")
    return LightDraft(Metric.RESPONSE_RATE, View.ALL, color, rate, reasons, ["response_rate"])


def round_lights(
    alliance: Alliance, history: list[RoundFacts], index: int, book: ThresholdBook
) -> list[LightDraft]:
    """Every light of the round at ``history[index]``."""
    facts = history[index]
    thresholds = book.for_alliance(alliance, facts.stage)
    drafts = [_score_light(alliance, history, index, m, thresholds) for m in SCORE_METRICS]
    drafts += [
        _side_light(alliance, facts, metric, view, thresholds)
        for metric in SCORE_METRICS
        for view in (View.LEAD, View.PARTNER)
    ]
    drafts.append(_rate_light(facts))
    return drafts
