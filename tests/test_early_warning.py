"""Early warning: the decline detector, the alert lifecycle of simulate(), evaluate_warnings."""

import random
import re
from functools import cache
from io import StringIO

import pytest
from django.core.management import call_command

from scorecards.detector import (
    WARM_UP,
    Observation,
    declines,
    red_confirmed,
    simulate,
    standard_error,
)
from scorecards.management.commands.evaluate_warnings import (
    ANY_CHANGE,
    CONCORD,
    PLAIN,
    cohort,
    concord_false_alerts_by_kind,
    evaluate,
)


def rounds(*scores: float | None, responses: int = 8, spread: float = 20.0) -> list[Observation]:
    return [
        Observation(s, responses if s is not None else 1, spread if s is not None else None)
        for s in scores
    ]


def noisy(level: float, count: int, rng: random.Random, *, slide: float = 0.0) -> list[float]:
    """``count`` rounds around ``level`` (noise like a round of eight), falling by ``slide``."""
    return [level - slide * (i + 1) + rng.gauss(0, 7) for i in range(count)]


def alerts(history: list[Observation], kind: str) -> list[int]:
    return [i for i, kinds in enumerate(simulate(history)) if kind in kinds]


def steady(count: int, level: float = 75.0) -> list[list[Observation]]:
    """The alliance's other three corners, holding at ``level`` round after round."""
    return [[Observation(level, 8, 20.0)] * 3 for _ in range(count)]


def detect(history: list[Observation]) -> list[bool]:
    """The detector as the threshold job runs it, with the other corners as peers."""
    return declines(history, steady(len(history)))


def alliance(rng: random.Random, count: int, *, slide: float = 0.0, onset: int = 0):
    """One corner and its three peers around 75, sharing each month's mood (most of the
    noise, as in a real alliance); the corner falls by ``slide`` a round from ``onset``."""
    corner, peers = [], []
    for i in range(count):
        mood = rng.gauss(0, 6)
        fall = slide * (i - onset + 1) if i >= onset else 0.0
        corner.append(Observation(75 + mood - fall + rng.gauss(0, 3.5), 8, 20.0))
        peers.append([Observation(75 + mood + rng.gauss(0, 3.5), 8, 20.0) for _ in range(3)])
    return corner, peers


@pytest.mark.parametrize("seed", range(10))
def test_a_corner_falling_away_from_the_others_is_signalled_within_a_few_rounds(seed):
    history, peers = alliance(random.Random(seed), 24, slide=4, onset=12)

    signals = declines(history, peers)

    assert not any(signals[:12])
    assert True in signals[12:]
    assert signals.index(True) - 12 <= 5  # a fall of about 20 points


def test_the_whole_alliance_sliding_is_signalled_without_peers_too():
    history = rounds(*[75] * 8, *[75 - 5 * i for i in range(1, 10)])
    signals = declines(history)  # no peers: every corner fell together
    assert True in signals[8:]
    assert signals.index(True) - 8 <= 6


def test_shared_ups_and_downs_are_not_a_decline():
    signalled = 0
    for seed in range(20):
        history, peers = alliance(random.Random(seed), 36)
        signalled += sum(declines(history, peers))
    assert signalled <= 1  # 60 corner-years of noise


def test_nothing_is_signalled_during_the_warm_up():
    assert not any(detect(rounds(80, 80, 40, 40, 40, 40)[:WARM_UP]))


def test_after_a_decline_alert_nothing_more_until_a_recovery():
    history = rounds(*[75] * 6, 55, 55, 55, 55, 55, 55, 55, 55, 75, 75, 55, 55, 55)

    raised = simulate(history, peers=steady(len(history)))

    # One alert for the first fall, none while it stays down (the baseline does not follow
    # it down), and a new one only after two rounds back at the baseline.
    assert [i for i, kinds in enumerate(raised) if "decline" in kinds] == [7, 17]


def test_grey_rounds_neither_raise_nor_reset():
    assert detect(rounds(None, None, None)) == [False, False, False]
    assert simulate(rounds(*[None] * 10)) == [set()] * 10

    fall = [75] * 6 + [58, 58, 58, 58]
    interleaved = [75] * 6 + [58, None, 58, None, None, 58, 58]
    signals = detect(rounds(*fall))
    with_grey = detect(rounds(*interleaved))

    scored = [s for s, o in zip(with_grey, interleaved, strict=True) if o is not None]
    assert scored == signals
    assert sum(signals) == 1
    assert not any(s for s, o in zip(with_grey, interleaved, strict=True) if o is None)


def test_a_red_light_alerts_only_when_noise_cannot_explain_it():
    assert alerts(rounds(75, 75, 45), "red") == []  # red, but within noise of 50
    assert alerts(rounds(75, 75, 25), "red") == [2]
    assert red_confirmed(Observation(30, 12, 20), red_below=50)
    assert not red_confirmed(Observation(30, 3, 30), red_below=50)  # three people, wide


def test_grey_rounds_do_not_count_towards_a_sustained_green():
    # red, green, grey, red: the grey round neither completes nor breaks the green run,
    # so the red alert is still open and the second red raises nothing.
    history = rounds(60, 60, 25, 75, None, 25, 75, None, 75, 25)
    assert alerts(history, "red") == [2, 9]


def test_a_score_oscillating_around_the_red_line_raises_at_most_one_alert():
    near_50 = simulate(rounds(*[49, 51] * 18))
    assert sum(len(kinds) for kinds in near_50) <= 1
    deep = simulate(rounds(*[25, 55] * 18))
    assert sum(len(kinds) for kinds in deep) == 1
    assert deep[0] == {"red"}


def test_a_sustained_return_to_green_allows_a_new_alert():
    one_green = rounds(75, 75, 25, 25, 75, 25)
    assert alerts(one_green, "red") == [2]

    two_greens = rounds(75, 75, 25, 25, 75, 75, 25)
    assert alerts(two_greens, "red") == [2, 6]


def test_a_decline_alert_stays_open_until_a_sustained_green():
    history = rounds(*[80] * 6, 62, 62, 62, 62, 80, 80, *[80] * 6, 62, 62, 62, 62)

    raised = simulate(history, peers=steady(len(history), 80))
    decline_alerts = [i for i, kinds in enumerate(raised) if "decline" in kinds]

    assert len(decline_alerts) == 2
    assert 6 <= decline_alerts[0] < 10 and decline_alerts[1] > 17


def test_thin_rounds_need_a_bigger_drop_than_thick_ones():
    assert standard_error(Observation(60, 3, 20)) > standard_error(Observation(60, 12, 20))
    # Unknown spread is not treated as precise, and a lucky narrow spread is not believed.
    assert standard_error(Observation(60, 8, None)) == standard_error(Observation(60, 8, 20))
    assert standard_error(Observation(60, 3, 0)) == standard_error(Observation(60, 3, 12))

    baseline = rounds(*[75] * 6, responses=8)
    thick = detect(baseline + rounds(64, 64, 64, responses=12))
    thin = detect(baseline + rounds(64, 64, 64, responses=3))

    assert any(thick)
    assert not any(thin)
    assert any(detect(baseline + rounds(50, 50, responses=3)))


def run(*args: str) -> str:
    out = StringIO()
    call_command("evaluate_warnings", *args, stdout=out)
    return out.getvalue()


def test_evaluate_warnings_runs_and_compares_the_three_rules():
    output = run("--alliances", "30", "--months", "24", "--seed", "5")

    for rule in (CONCORD, PLAIN, ANY_CHANGE):
        assert re.search(rf"^{re.escape(rule)}\s+\S+\s+\d+/\d+\s+\d+%\s+[\d.]+", output, re.M)
    assert "median delay" in output and "false" in output
    assert output == run("--alliances", "30", "--months", "24", "--seed", "5")


@cache
def results(seed: int) -> tuple[dict, dict]:
    series = cohort(alliances=200, months=36, seed=seed, deteriorating_share=0.3)
    return {r.rule: r for r in evaluate(series, 36)}, concord_false_alerts_by_kind(series, 36)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_concord_warns_earlier_than_score_below_50_with_fewer_false_alerts(seed):
    """What the default cohort shows (README, "Early warning"), kept from regressing."""
    by_rule, by_kind = results(seed)
    concord, plain, any_change = by_rule[CONCORD], by_rule[PLAIN], by_rule[ANY_CHANGE]

    assert concord.median_delay <= plain.median_delay - 2
    assert concord.caught_before_plain >= 0.5
    assert concord.false_alerts_per_year < plain.false_alerts_per_year
    assert any_change.false_alerts_per_year > 10 * concord.false_alerts_per_year
    assert by_kind["decline"] <= 0.1  # the detector's own share


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_default_cohort_meets_the_issue_target(seed):
    by_rule, _ = results(seed)
    concord, plain = by_rule[CONCORD], by_rule[PLAIN]

    assert concord.median_delay <= plain.median_delay - 2
    assert concord.false_alerts_per_year <= 0.1
