"""Early warning: a significant decline of one corner against the alliance's own baseline.

Pure Python, no database: the threshold job feeds it a corner's stored round scores, and
``python manage.py evaluate_warnings`` feeds it a synthetic cohort.

The detector is a one-sided CUSUM on standardised drops below a baseline:

- The **baseline** is the mean of the first ``WARM_UP`` scored rounds and then follows the
  alliance slowly (an EWMA with weight ``BASELINE_WEIGHT``; one round moves it by at most
  ``BASELINE_STEP_CAP`` standard errors times that weight, so an odd round barely counts).
- Each round's **drop** is ``(baseline − score) / se``. The standard error ``se`` says how
  far the score could be off by chance: ``sqrt(spread² / responses + ROUND_TO_ROUND²)``.
  The first term is the sampling error of the mean of ``responses`` people (a thin round
  counts less); the second is the genuine month-to-month movement of a healthy corner,
  which no number of respondents removes.
- The **CUSUM** adds up drops beyond an allowance of ``K`` standard errors and signals when
  the sum reaches its threshold: one bad round rarely signals, several clearly low rounds
  in a row do.
- It runs twice: on the corner's own score (``LEVEL_H``, high: a whole alliance sliding),
  and on the corner *against the alliance's other corners* in the same rounds
  (``RELATIVE_H``, low). The month's mood, the season and who happened to answer move all
  corners together; subtracting the others removes that noise, so a corner falling away
  from the rest is seen early without more false alarms.
- **Grey rounds** (``score`` None) are skipped: they neither add to the sum nor reset it,
  nor move the baseline.
- **Hysteresis**: a signal resets the sum and the detector goes quiet with its baseline
  frozen at the pre-decline level (it does not chase the decline), until the corner has
  **recovered** — within ``RECOVERY_BAND`` standard errors of that baseline for
  ``RECOVERY_ROUNDS`` scored rounds in a row. Only then can a new decline be signalled.

A red *alert* (not the red light) also waits until noise cannot explain the score
(``red_confirmed``). ``simulate`` adds the red rule and the alerts' lifecycle: the
behaviour the threshold job implements with stored alerts.
"""

from dataclasses import dataclass
from math import sqrt

from .lights import Color, threshold_color

# Scored rounds that establish the baseline before a decline can be signalled. Four or fewer
# make it a coin toss (one unusual month sets it, and every later round is judged against
# that); six is half a year, during which red alerts still work.
WARM_UP = 6

# How fast the baseline follows the alliance once established: an EWMA weight of 0.1 keeps
# about the last ten rounds in view — slow next to a slide of a few points a round, fast
# enough to follow a slow drift or a new normal within a year.
BASELINE_WEIGHT = 0.1
# One round moves the baseline by at most this many standard errors (times the weight).
BASELINE_STEP_CAP = 2.0

# Spread (SD) of individual 0–100 answers: assumed when unknown, and the prior that an
# observed spread is shrunk towards, with the weight of SPREAD_PRIOR_WEIGHT respondents —
# three people who happen to answer alike do not make their mean exact. Likert answers
# typically spread 15–25 points. No spread below SPREAD_FLOOR is believed.
DEFAULT_SPREAD = 20.0
SPREAD_PRIOR_WEIGHT = 4
SPREAD_FLOOR = 12.0

# Genuine round-to-round movement of a healthy corner, in points (one SD): mood, a bad
# week, a holiday, who happened to answer. It keeps a round of twelve from looking exact.
ROUND_TO_ROUND = 5.0

# CUSUM allowance and decision interval, in standard errors. K = 0.5 is the classic choice
# for a shift of about one standard error (~5 points on a typical round); H trades delay
# for false alerts and was chosen with ``evaluate_warnings`` over several seeds (README).
K = 0.5
# The CUSUM on the corner's own level signals at LEVEL_H; the one on the corner against
# the alliance's other corners (which removes what moves all corners together) at
# RELATIVE_H: far less noise, so it can be both earlier and quieter.
LEVEL_H = 8.0
RELATIVE_H = 2.1
# A red alert needs the score below the red line by this many standard errors.
RED_CONFIRM_Z = 2.0

# Recovery re-arms the detector: within RECOVERY_BAND standard errors of the baseline for
# RECOVERY_ROUNDS scored rounds in a row (one good round could be luck).
RECOVERY_BAND = 1.0
RECOVERY_ROUNDS = 2

# simulate(): an open alert is resolved by this many green rounds in a row (grey rounds
# neither count nor break the run).
SUSTAINED_GREEN_ROUNDS = 2


@dataclass(frozen=True)
class Observation:
    score: float | None  # the corner's 0–100 score in that round; None = insufficient data
    responses: int  # respondents the score rests on
    spread: float | None = None  # SD of the individual 0–100 answers behind it, if known


def standard_error(observation: Observation) -> float:
    """How much this round's score could differ from the alliance's level by chance."""
    responses = max(observation.responses, 1)
    if observation.spread is None:
        variance = DEFAULT_SPREAD**2
    else:
        observed = max(observation.spread, SPREAD_FLOOR) ** 2
        variance = (responses * observed + SPREAD_PRIOR_WEIGHT * DEFAULT_SPREAD**2) / (
            responses + SPREAD_PRIOR_WEIGHT
        )
    return sqrt(variance / responses + ROUND_TO_ROUND**2)


def _cusum(history: list[Observation], *, h: float) -> list[bool]:
    """The one-sided CUSUM of the module docstring over one series, signalling at ``h``."""
    signals = [False] * len(history)
    warm_up: list[float] = []
    baseline: float | None = None
    cusum = 0.0
    signalled = False  # a decline was signalled and the corner has not recovered yet
    recovered_rounds = 0
    for index, observation in enumerate(history):
        if observation.score is None:
            continue
        if baseline is None:
            warm_up.append(observation.score)
            if len(warm_up) == WARM_UP:
                baseline = sum(warm_up) / WARM_UP
            continue
        se = standard_error(observation)
        if signalled:
            near = observation.score >= baseline - RECOVERY_BAND * se
            recovered_rounds = recovered_rounds + 1 if near else 0
            signalled = recovered_rounds < RECOVERY_ROUNDS
            continue
        cusum = max(0.0, cusum + (baseline - observation.score) / se - K)
        if cusum >= h:
            signals[index] = True
            signalled, recovered_rounds, cusum = True, 0, 0.0
            continue
        cap = BASELINE_STEP_CAP * se
        baseline += BASELINE_WEIGHT * max(-cap, min(cap, observation.score - baseline))
    return signals


def relative_to_peers(
    history: list[Observation], peers: list[list[Observation]]
) -> list[Observation]:
    """The corner against the mean of the alliance's other corners in the same round (plus
    50, to stay on the familiar scale). Mood, the season and who happened to answer move
    all corners together; a corner falling away from the others is what is left."""
    relative = []
    for observation, others in zip(history, peers, strict=True):
        scores = [o.score for o in others if o.score is not None]
        if observation.score is None or not scores:
            relative.append(Observation(None, observation.responses, None))
            continue
        relative.append(
            Observation(
                observation.score - sum(scores) / len(scores) + 50,
                observation.responses,
                observation.spread,
            )
        )
    return relative


def declines(
    history: list[Observation], peers: list[list[Observation]] | None = None
) -> list[bool]:
    """For each round (oldest first), True when a significant decline is signalled there:
    against the alliance's own baseline (``LEVEL_H``), or — given the other corners of the
    same rounds as ``peers`` — against the other corners (``RELATIVE_H``)."""
    signals = _cusum(history, h=LEVEL_H)
    if peers is not None:
        relative = _cusum(relative_to_peers(history, peers), h=RELATIVE_H)
        signals = [a or b for a, b in zip(signals, relative, strict=True)]
    return signals


def red_confirmed(observation: Observation, *, red_below: float) -> bool:
    """A red score that noise cannot explain: below the red line by more than
    ``RED_CONFIRM_Z`` standard errors. A red light says "below 50"; a red *alert* needs to
    be sure, or healthy corners that hover near 50 would raise one now and then."""
    if observation.score is None:
        return False
    return observation.score + RED_CONFIRM_Z * standard_error(observation) < red_below


def simulate(
    history: list[Observation],
    *,
    peers: list[list[Observation]] | None = None,
    green_from: float = 70,
    red_below: float = 50,
) -> list[set[str]]:
    """The alerts Concord raises on one corner, per round: ``"red"`` and/or ``"decline"``.

    A red alert is raised when the light turns red and ``red_confirmed`` (beyond noise); a
    decline alert when ``declines()`` signals. At most one alert of each kind is open; both
    are resolved by ``SUSTAINED_GREEN_ROUNDS`` green rounds in a row. Grey rounds change
    nothing. The threshold job (``scorecards.alerts``) applies the same rules to stored
    scores and alerts.
    """
    signals = declines(history, peers)
    raised: list[set[str]] = []
    open_kinds: set[str] = set()
    green_run = 0
    for observation, decline in zip(history, signals, strict=True):
        kinds: set[str] = set()
        color = threshold_color(observation.score, green_from=green_from, red_below=red_below)
        if color != Color.GREY:
            green_run = green_run + 1 if color == Color.GREEN else 0
            if green_run >= SUSTAINED_GREEN_ROUNDS:
                open_kinds.clear()
            if (
                color == Color.RED
                and red_confirmed(observation, red_below=red_below)
                and "red" not in open_kinds
            ):
                kinds.add("red")
            if decline and "decline" not in open_kinds:
                kinds.add("decline")
            open_kinds |= kinds
        raised.append(kinds)
    return raised
