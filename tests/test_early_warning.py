"""Early warning: the decline detector, the alert lifecycle of simulate(), evaluate_warnings."""

import random
import re
from functools import cache
from io import StringIO

import pytest
from django.core.management import call_command

from scorecards.detector import WARM_UP, Observation, declines, simulate, standard_error
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


@pytest.mark.parametrize("seed", range(10))
def test_a_clear_sustained_decline_is_signalled_within_a_few_rounds(seed):
    rng = random.Random(seed)
    history = rounds(*noisy(75, 12, rng), *noisy(75, 12, rng, slide=4))

    signals = declines(history)

    assert not any(signals[:12])
    assert True in signals[12:]
    assert signals.index(True) - 12 <= 5  # a fall of about 20 points


def test_pure_noise_around_a_level_is_not_a_decline():
    signalled = 0
    for seed in range(20):
        rng = random.Random(seed)
        signalled += sum(declines(rounds(*noisy(75, 36, rng))))
    assert signalled == 0  # 60 corner-years of noise


def test_nothing_is_signalled_during_the_warm_up():
    assert not any(declines(rounds(80, 80, 40, 40, 40, 40)[:WARM_UP]))


def test_after_a_signal_the_detector_waits_for_a_recovery():
    baseline = [75] * 6
    history = rounds(*baseline, 50, 50, 50, 50, 50, 50, 50, 50, 75, 75, 50, 50, 50)

    signals = declines(history)

    # One signal for the first fall, none while it stays down (the baseline does not
    # follow it down), and a new one only after two rounds back at the baseline.
    assert [i for i, s in enumerate(signals) if s] == [7, 17]


def test_grey_rounds_neither_raise_nor_reset():
    assert declines(rounds(None, None, None)) == [False, False, False]
    assert simulate(rounds(*[None] * 10)) == [set()] * 10

    fall = [75] * 6 + [58, 58, 58, 58]
    interleaved = [75] * 6 + [58, None, 58, None, None, 58, 58]
    signals = declines(rounds(*fall))
    with_grey = declines(rounds(*interleaved))

    scored = [s for s, o in zip(with_grey, interleaved, strict=True) if o is not None]
    assert scored == signals
    assert sum(signals) == 1
    assert not any(s for s, o in zip(with_grey, interleaved, strict=True) if o is None)


def test_grey_rounds_do_not_count_towards_a_sustained_green():
    # red, green, grey, red: the grey round neither completes nor breaks the green run,
    # so the red alert is still open and the second red raises nothing.
    history = rounds(60, 60, 45, 75, None, 45, 75, None, 75, 45)
    assert alerts(history, "red") == [2, 9]


def test_a_score_oscillating_around_50_raises_one_alert():
    history = rounds(*[49, 51] * 18)

    raised = simulate(history)

    assert sum(len(kinds) for kinds in raised) == 1
    assert raised[0] == {"red"}


def test_a_sustained_return_to_green_allows_a_new_alert():
    one_green = rounds(75, 75, 45, 45, 75, 45)
    assert alerts(one_green, "red") == [2]

    two_greens = rounds(75, 75, 45, 45, 75, 75, 45)
    assert alerts(two_greens, "red") == [2, 6]


def test_a_decline_alert_stays_open_until_a_sustained_green():
    history = rounds(*[80] * 6, 62, 62, 62, 62, 80, 80, *[80] * 6, 62, 62, 62, 62)

    decline_alerts = alerts(history, "decline")

    assert len(decline_alerts) == 2
    assert 6 < decline_alerts[0] < 10 and decline_alerts[1] > 17


def test_thin_rounds_need_a_bigger_drop_than_thick_ones():
    assert standard_error(Observation(60, 3, 20)) > standard_error(Observation(60, 12, 20))
    # Unknown spread is not treated as precise, and a lucky narrow spread is not believed.
    assert standard_error(Observation(60, 8, None)) == standard_error(Observation(60, 8, 20))
    assert standard_error(Observation(60, 3, 0)) == standard_error(Observation(60, 3, 12))

    baseline = rounds(*[75] * 6, responses=8)
    thick = declines(baseline + rounds(60, 60, 60, responses=12))
    thin = declines(baseline + rounds(60, 60, 60, responses=3))

    assert any(thick)
    assert not any(thin)
    assert any(declines(baseline + rounds(45, 45, 45, responses=3)))


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

    assert concord.median_delay <= plain.median_delay - 1
    assert concord.caught_before_plain >= 0.4
    assert concord.false_alerts_per_year < plain.false_alerts_per_year
    assert any_change.false_alerts_per_year > 10 * concord.false_alerts_per_year
    assert by_kind["decline"] <= 0.15  # the detector's own share


@pytest.mark.xfail(
    strict=True,
    reason="Not met on the realistic cohort (README, 'Early warning'): a healthy corner at "
    "60-65 dips below 50 now and then and the red rule alerts on it (0.2-0.3 per "
    "alliance-year over four corners, whatever the detector does); the detector gains "
    "1-2 rounds over score < 50, not always 2.",
)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_default_cohort_meets_the_issue_target(seed):
    by_rule, _ = results(seed)
    concord, plain = by_rule[CONCORD], by_rule[PLAIN]

    assert concord.median_delay <= plain.median_delay - 2
    assert concord.false_alerts_per_year <= 0.1
