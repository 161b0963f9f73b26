"""How early, and how rarely wrongly, do Concord's alerts fire? A synthetic cohort says.

The cohort is drawn at the level of individual answers: each alliance has a panel of
contacts who each answer (or not) every month, two Likert items per corner; a corner's round
score is computed with the real mapping (``surveys.selectors.likert_score``), and fewer than
``MIN_CELL`` responses make the round grey. Healthy alliances hover around their own level
with noise, a shared month-to-month mood, seasonal dips, slow drifts and panel turnover; a
share of alliances has one corner deteriorating from a random onset at a random pace.

Three rules run on every corner: Concord's (``scorecards.detector.simulate``), the plain
"score < 50" rule and "any change to yellow or red". Delays are measured per deteriorating
corner (its onset is known); false alerts are counted over all four corners of an alliance
while it is healthy (a healthy alliance, or a deteriorating one before onset), per
alliance-year.
"""

import random
import statistics
from dataclasses import dataclass
from math import inf

from django.core.management.base import BaseCommand, CommandError

from scorecards.detector import Observation, simulate
from scorecards.lights import Color, threshold_color
from surveys.anonymity import MIN_CELL
from surveys.models import Corner
from surveys.selectors import likert_score

GREEN_FROM = 70
RED_BELOW = 50
ITEMS_PER_CORNER = 2
SUMMER, DECEMBER = (7, 8), (12,)


@dataclass
class CornerSeries:
    alliance: int
    corner: str
    history: list[Observation]
    onset: int | None  # first round whose level is lowered; None for a healthy corner


def _likert(latent: float) -> int:
    return min(5, max(1, round(1 + latent / 25)))


def _alliance(
    rng: random.Random, number: int, *, months: int, deteriorating: bool
) -> list[CornerSeries]:
    corners = [c.value for c in Corner]
    level = rng.uniform(60, 90)
    corner_level = {c: min(90, max(60, level + rng.gauss(0, 4))) for c in corners}
    drift = rng.uniform(-0.2, 0.2) if rng.random() < 0.4 else 0.0  # up to ±7 over 3 years
    summer_dip = rng.uniform(2, 7) if rng.random() < 0.6 else 0.0
    december_dip = rng.uniform(2, 7) if rng.random() < 0.5 else 0.0
    first_month = rng.randrange(12)
    panel_size = rng.randint(5, 14)
    response_rate = rng.uniform(0.4, 0.95)

    def person() -> dict[str, float]:
        general = rng.gauss(0, 8)
        return {c: general + rng.gauss(0, 6) for c in corners}

    panel = [person() for _ in range(panel_size)]

    onset, worse_corner, pace, floor = None, None, 0.0, 0.0
    if deteriorating:
        onset = rng.randint(6, months - 12)
        worse_corner = rng.choice(corners)
        pace = rng.uniform(1.5, 5)
        floor = rng.uniform(20, 40)

    mood = 0.0
    corner_mood = dict.fromkeys(corners, 0.0)
    histories: dict[str, list[Observation]] = {c: [] for c in corners}
    for month in range(months):
        calendar_month = (first_month + month) % 12 + 1
        seasonal = 0.0
        rate = response_rate + rng.gauss(0, 0.08)
        if calendar_month in SUMMER:
            seasonal, rate = -summer_dip, rate - 0.15
        elif calendar_month in DECEMBER:
            seasonal, rate = -december_dip, rate - 0.15
        if rng.random() < 0.04:  # a disrupted month: reorganisation, a holiday, a bad list
            rate *= 0.3
        mood = 0.7 * mood + rng.gauss(0, 2.5)
        panel = [person() if rng.random() < 0.03 else p for p in panel]
        respondents = [p for p in panel if rng.random() < rate]
        for c in corners:
            corner_mood[c] = 0.5 * corner_mood[c] + rng.gauss(0, 1.5)
            true_level = corner_level[c] + drift * month + seasonal + mood + corner_mood[c]
            if c == worse_corner and month >= onset:
                true_level -= min(pace * (month - onset + 1), corner_level[c] - floor)
            answers = [
                _likert(true_level + p[c] + rng.gauss(0, 14))
                for p in respondents
                for _ in range(ITEMS_PER_CORNER)
            ]
            if len(respondents) < MIN_CELL:
                histories[c].append(Observation(None, len(respondents), None))
                continue
            histories[c].append(
                Observation(
                    score=likert_score(statistics.fmean(answers)),
                    responses=len(respondents),
                    spread=statistics.pstdev((v - 1) * 25 for v in answers),
                )
            )
    return [
        CornerSeries(number, c, histories[c], onset if c == worse_corner else None) for c in corners
    ]


def cohort(
    *, alliances: int, months: int, seed: int, deteriorating_share: float
) -> list[CornerSeries]:
    """Every corner of every synthetic alliance; deterministic for a seed."""
    rng = random.Random(seed)  # noqa: S311 — a reproducible simulation, not a secret
    deteriorating = round(alliances * deteriorating_share)
    series: list[CornerSeries] = []
    for number in range(alliances):
        series += _alliance(rng, number, months=months, deteriorating=number < deteriorating)
    return series


def _colors(history: list[Observation]) -> list[Color]:
    return [threshold_color(o.score, green_from=GREEN_FROM, red_below=RED_BELOW) for o in history]


def concord_alerts(history: list[Observation], peers) -> list[int]:
    raised = simulate(history, peers=peers, green_from=GREEN_FROM, red_below=RED_BELOW)
    return [len(kinds) for kinds in raised]


def below_50_alerts(history: list[Observation], peers=None) -> list[int]:
    """An alert each time the score falls below 50 (grey rounds skipped)."""
    alerts, previous = [], Color.GREY
    for color in _colors(history):
        alerts.append(int(color == Color.RED and previous != Color.RED))
        previous = color if color != Color.GREY else previous
    return alerts


def any_change_alerts(history: list[Observation], peers=None) -> list[int]:
    """An alert on each change of colour to yellow or red (grey rounds skipped)."""
    alerts, previous = [], Color.GREY
    for color in _colors(history):
        alerts.append(int(color in (Color.YELLOW, Color.RED) and color != previous))
        previous = color if color != Color.GREY else previous
    return alerts


CONCORD, PLAIN, ANY_CHANGE = "Concord (red + decline)", 'plain "score < 50"', "any change to Y/R"
RULES = {CONCORD: concord_alerts, PLAIN: below_50_alerts, ANY_CHANGE: any_change_alerts}


@dataclass
class RuleResult:
    rule: str
    delays: list[float]  # per deteriorating corner; inf when never alerted after onset
    caught_before_plain: float
    false_alerts: int  # on all four corners of alliances while healthy
    healthy_years: float  # alliance-years of healthy data

    @property
    def median_delay(self) -> float:
        return statistics.median(self.delays) if self.delays else inf

    @property
    def undetected(self) -> int:
        return sum(d == inf for d in self.delays)

    @property
    def false_alerts_per_year(self) -> float:
        """Per healthy alliance-year (four corners)."""
        return self.false_alerts / self.healthy_years if self.healthy_years else 0.0


def _first_alert(alerts: list[int], onset: int) -> float:
    return next((i - onset for i in range(onset, len(alerts)) if alerts[i]), inf)


def _healthy_rounds(series: list[CornerSeries], months: int) -> dict[int, int]:
    """Per alliance, the rounds it was healthy: all of them, or those before the onset."""
    rounds = dict.fromkeys((s.alliance for s in series), months)
    rounds.update({s.alliance: s.onset for s in series if s.onset is not None})
    return rounds


def peers_of(series: list[CornerSeries]) -> dict[int, list[list[Observation]]]:
    """For each corner, the alliance's other corners round by round (as the threshold job
    gives the detector the other stored corner scores)."""
    by_alliance: dict[int, list[CornerSeries]] = {}
    for s in series:
        by_alliance.setdefault(s.alliance, []).append(s)
    peers = {}
    for group in by_alliance.values():
        for s in group:
            others = [o.history for o in group if o is not s]
            peers[id(s)] = [[h[i] for h in others] for i in range(len(s.history))]
    return peers


def evaluate(series: list[CornerSeries], months: int) -> list[RuleResult]:
    healthy = _healthy_rounds(series, months)
    healthy_years = sum(healthy.values()) / 12
    peers = peers_of(series)
    alerts = {
        rule: [(s, fn(s.history, peers[id(s)])) for s in series] for rule, fn in RULES.items()
    }

    def delays(rule: str) -> list[float]:
        return [_first_alert(a, s.onset) for s, a in alerts[rule] if s.onset is not None]

    plain = delays(PLAIN)
    results = []
    for rule in RULES:
        rule_delays = delays(rule)
        before = sum(d < p for d, p in zip(rule_delays, plain, strict=True))
        results.append(
            RuleResult(
                rule=rule,
                delays=rule_delays,
                caught_before_plain=before / len(rule_delays) if rule_delays else 0.0,
                false_alerts=sum(sum(a[: healthy[s.alliance]]) for s, a in alerts[rule]),
                healthy_years=healthy_years,
            )
        )
    return results


def concord_false_alerts_by_kind(series: list[CornerSeries], months: int) -> dict[str, float]:
    """Concord's false alerts per healthy alliance-year, split into red and decline."""
    peers = peers_of(series)
    healthy = _healthy_rounds(series, months)
    years = sum(healthy.values()) / 12
    counts = dict.fromkeys(("red", "decline"), 0)
    for s in series:
        raised = simulate(s.history, peers=peers[id(s)], green_from=GREEN_FROM, red_below=RED_BELOW)
        for kinds in raised[: healthy[s.alliance]]:
            for kind in kinds:
                counts[kind] += 1
    return {kind: count / years for kind, count in counts.items()}


def _rounds(value: float) -> str:
    return "never" if value == inf else f"{value:g}"


LEGEND = (
    "median delay: rounds from onset to the first alert, per deteriorating corner",
    "  (never: more than half undetected within the window).",
    "before <50: share of deteriorations alerted earlier than by the plain rule.",
    "false: alerts while an alliance is healthy (a healthy alliance, or a deteriorating one",
    "  before onset), all four corners, per alliance-year and per corner-year.",
)


class Command(BaseCommand):
    help = (
        "Compare Concord's alert rules with plain threshold rules on a synthetic cohort: "
        "median delay, share caught before 'score < 50', false alerts per healthy "
        "alliance-year."
    )

    def add_arguments(self, parser):
        parser.add_argument("--alliances", type=int, default=200)
        parser.add_argument("--months", type=int, default=36)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--deteriorating-share", type=float, default=0.3)

    def handle(self, *args, alliances, months, seed, deteriorating_share, **options):
        if alliances < 1 or months < 18:
            raise CommandError("Need at least 1 alliance and 18 months.")
        if not 0 <= deteriorating_share <= 1:
            raise CommandError("--deteriorating-share is a share between 0 and 1.")
        series = cohort(
            alliances=alliances,
            months=months,
            seed=seed,
            deteriorating_share=deteriorating_share,
        )
        results = evaluate(series, months)
        scored = [o for s in series for o in s.history]
        grey = sum(o.score is None for o in scored)
        responses = statistics.fmean(o.responses for o in scored)
        deteriorating = sum(s.onset is not None for s in series)
        self.stdout.write(
            f"Cohort: {alliances} alliances × {months} months, seed {seed}; "
            f"{deteriorating} deteriorating corners; mean {responses:.1f} responses per "
            f"round, {grey / len(scored):.1%} of corner-rounds grey."
        )
        header = (
            f"{'rule':<26} {'median delay':>12} {'undetected':>10} {'before <50':>10} "
            f"{'false/alliance-yr':>17} {'false/corner-yr':>15}"
        )
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for r in results:
            self.stdout.write(
                f"{r.rule:<26} {_rounds(r.median_delay):>12} "
                f"{f'{r.undetected}/{len(r.delays)}':>10} {r.caught_before_plain:>10.0%} "
                f"{r.false_alerts_per_year:>17.2f} {r.false_alerts_per_year / 4:>15.3f}"
            )
        by_kind = concord_false_alerts_by_kind(series, months)
        self.stdout.write(
            f"Concord's false alerts per healthy alliance-year: red {by_kind['red']:.2f}, "
            f"decline {by_kind['decline']:.2f}."
        )
        for line in LEGEND:
            self.stdout.write(line)
