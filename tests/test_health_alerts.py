"""Lights and alerts from stored scores: each rule alone and together, alerts rare and once,
resolved by a sustained return to green, escalation up the ladder, the renewal signal."""

from datetime import date, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from alliances.jobs import run_job
from alliances.models import ContactFunction, Stage
from governance.models import ActionItem, ActionSource, Escalation, Rung
from governance.services import decision_rights_seed
from scorecards.alerts import threshold_check
from scorecards.lights import Color
from scorecards.models import (
    Alert,
    AlertKind,
    AlertStatus,
    CornerScore,
    Light,
    Metric,
    RoundHealth,
    Threshold,
    View,
)
from scorecards.models.health import CORNER_METRICS
from surveys.models import SurveyRound

CORNERS = [m.value for m in CORNER_METRICS]


def month(index: int) -> date:
    """The first day of the month ``index`` months after January 2024."""
    return date(2024 + index // 12, index % 12 + 1, 1)


def add_round(alliance, index, scores, *, responses=8, lead=None, partner=None, rate=90.0):
    """A closed round with stored scores: ``scores`` maps metric → everyone's score (a
    number for every corner and the trust anchor when given as one number)."""
    if not isinstance(scores, dict):
        scores = {metric: scores for metric in [*CORNERS, Metric.TRUST]}
    start = month(index)
    opens = timezone.make_aware(datetime.combine(start, datetime.min.time())) + timedelta(hours=9)
    survey_round = SurveyRound.objects.create(
        alliance=alliance,
        period_start=start,
        period_end=month(index + 1) - timedelta(days=1),
        stage=alliance.stage,
        opens_at=opens,
        closes_at=opens + timedelta(days=10),
        closed_at=opens + timedelta(days=10),
    )
    invited = max(round(responses * 100 / rate), responses) if rate else 0
    RoundHealth.objects.create(
        alliance=alliance,
        round=survey_round,
        period_start=start,
        opens_at=opens,
        stage=alliance.stage,
        invited=invited,
        invited_lead=invited // 2,
        invited_partner=invited - invited // 2,
        responded=responses,
        responded_lead=responses // 2,
        responded_partner=responses - responses // 2,
        response_rate=100 * responses / invited if invited else None,
        low_confidence=responses < 3 or (invited and 100 * responses / invited < 50),
    )
    for metric, score in scores.items():
        CornerScore.objects.create(
            alliance=alliance,
            round=survey_round,
            metric=metric,
            view=View.ALL,
            score=score,
            responses=responses,
            mean_square=None if score is None else score**2 + 15**2,
        )
        for view, values in ((View.LEAD, lead), (View.PARTNER, partner)):
            if values and metric in values:
                CornerScore.objects.create(
                    alliance=alliance,
                    round=survey_round,
                    metric=metric,
                    view=view,
                    score=values[metric],
                    responses=4,
                )
    return survey_round


def check(alliance, when=None):
    return threshold_check(now=when or timezone.now(), alliance_ids=[alliance.pk])


def light(survey_round, metric=Metric.RELATIONAL, view=View.ALL) -> Light:
    return Light.objects.get(round=survey_round, metric=metric, view=view)


# --- lights ----------------------------------------------------------------------------------


def test_threshold_bands_and_their_reasons(alliance):
    r = add_round(alliance, 0, {**dict.fromkeys(CORNERS, 75), Metric.VALUE: 55, "trust": 40})
    check(alliance)
    assert light(r, Metric.STRATEGIC).color == Color.GREEN
    assert light(r, Metric.VALUE).color == Color.YELLOW
    assert light(r, Metric.TRUST).color == Color.RED
    assert "between 50 and 70" in light(r, Metric.VALUE).reasons[0]


def test_too_few_responses_is_grey_and_never_alerts(alliance):
    for i in range(3):
        add_round(alliance, i, 30, responses=2)
    check(alliance)
    latest = SurveyRound.objects.filter(alliance=alliance).order_by("-opens_at").first()
    assert light(latest).color == Color.GREY
    assert "Only 2 people answered" in light(latest).reasons[0]
    assert not Alert.objects.exclude(metric=Metric.RESPONSE_RATE).exists()


def test_declining_raises_the_light_to_yellow(alliance):
    for i in range(3):
        add_round(alliance, i, 90)
    r = add_round(alliance, 3, 78)
    check(alliance)
    assert light(r).color == Color.YELLOW
    assert "declining" in light(r).rules
    assert "12 points below the average of the previous three rounds (90)" in light(r).reasons[1]


def test_a_perception_gap_raises_the_light_to_yellow(alliance):
    r = add_round(alliance, 0, 80, lead={"relational": 88}, partner={"relational": 70})
    check(alliance)
    assert light(r).color == Color.YELLOW
    assert "18 points apart" in " ".join(light(r).reasons)
    assert light(r, view=View.LEAD).color == Color.GREEN
    assert light(r, view=View.PARTNER).color == Color.GREEN


def test_response_rate_light(alliance):
    r = add_round(alliance, 0, 80, responses=6, rate=75)
    check(alliance)
    assert light(r, Metric.RESPONSE_RATE).color == Color.YELLOW
    r2 = add_round(alliance, 1, 80, responses=4, rate=40)
    check(alliance)
    assert light(r2, Metric.RESPONSE_RATE).color == Color.RED
    assert "low-confidence" in " ".join(light(r2, Metric.RESPONSE_RATE).reasons)
    assert "Read with care" in " ".join(light(r2).reasons)


def test_alliance_and_stage_thresholds_override_the_organisations(alliance, world):
    Threshold.objects.create(organization=world.northwind, green_from=80, red_below=60)
    r = add_round(alliance, 0, 75)
    check(alliance)
    assert light(r).color == Color.YELLOW
    Threshold.objects.create(
        organization=world.northwind, alliance=alliance, stage=Stage.EXECUTION, green_from=70
    )
    check(alliance)
    assert light(r).color == Color.GREEN


# --- alerts ----------------------------------------------------------------------------------


def test_turning_red_raises_one_alert_with_a_review_action_and_one_email_each(alliance):
    add_round(alliance, 0, 80)
    add_round(alliance, 1, {**dict.fromkeys(CORNERS, 80), "relational": 25, "trust": 80})
    check(alliance)
    check(alliance)
    alert = Alert.objects.get(kind=AlertKind.RED)
    assert (alert.metric, alert.from_color, alert.to_color) == ("relational", "green", "red")
    assert alert.action.source == ActionSource.ALERT
    assert alert.action.due_on == timezone.localdate() + timedelta(days=14)
    assert ActionItem.objects.filter(source=ActionSource.ALERT).count() == 1
    managers = alliance.contacts.filter(function=ContactFunction.ALLIANCE_MANAGER)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(c.email.lower() for c in managers)
    assert "Relational trust" in mail.outbox[0].body


def test_a_plain_change_to_yellow_raises_nothing(alliance):
    add_round(alliance, 0, 75)
    add_round(alliance, 1, 66)
    check(alliance)
    assert not Alert.objects.exists()


def test_a_score_hovering_at_the_red_line_raises_at_most_one_alert(alliance):
    for i, score in enumerate([52, 49, 51, 48, 52, 49, 51, 49]):
        add_round(alliance, i, {"relational": score, **dict.fromkeys(["strategic"], 80)})
        check(alliance)
    assert Alert.objects.filter(metric="relational", kind=AlertKind.RED).count() <= 1


def test_a_red_light_within_noise_of_the_line_alerts_nobody(alliance):
    r = add_round(alliance, 0, {"relational": 45, "strategic": 80})
    check(alliance)
    assert light(r).color == Color.RED  # the light says what the score is
    assert not Alert.objects.filter(kind=AlertKind.RED).exists()  # the alert waits


def test_a_score_swinging_through_red_raises_one_alert(alliance):
    for i, score in enumerate([25, 55, 28, 60, 25, 55, 30, 60]):
        add_round(alliance, i, {"relational": score, **dict.fromkeys(["strategic"], 80)})
        check(alliance)
    assert Alert.objects.filter(metric="relational", kind=AlertKind.RED).count() == 1


def test_a_sustained_return_to_green_resolves_the_alert(alliance):
    add_round(alliance, 0, 25)
    check(alliance)
    assert Alert.objects.filter(status=AlertStatus.OPEN).exists()
    add_round(alliance, 1, 75)
    check(alliance)
    assert Alert.objects.filter(status=AlertStatus.OPEN).exists()  # one green is not enough
    add_round(alliance, 2, 78)
    check(alliance)
    assert not Alert.objects.exclude(status=AlertStatus.RESOLVED).exists()
    assert "Back to green" in Alert.objects.first().resolution


def test_red_two_rounds_running_escalates_then_every_second_red_round_moves_it_up(alliance):
    decision_rights_seed(alliance=alliance)
    add_round(alliance, 0, {"operational": 25})
    check(alliance)
    add_round(alliance, 1, {"operational": 22})
    check(alliance)
    check(alliance)
    health = Escalation.objects.filter(alliance=alliance, alerts__isnull=False).distinct()
    escalation = health.get()
    assert escalation.rung == Rung.ALLIANCE_MANAGERS  # as the health row says
    assert escalation.decision_right.decision_type == "Alliance health warnings"
    assert escalation.sla_days == escalation.decision_right.sla_days
    add_round(alliance, 2, {"operational": 24})
    check(alliance)
    escalation.refresh_from_db()
    assert escalation.rung == Rung.ALLIANCE_MANAGERS  # a third red round: no new step yet
    add_round(alliance, 3, {"operational": 23})
    check(alliance)
    check(alliance)
    escalation.refresh_from_db()
    assert escalation.rung == Rung.STEERING_COMMITTEE
    assert health.count() == 1
    assert escalation.moves.count() == 1


def test_a_move_up_keeps_a_long_alert_reason_within_its_column(alliance):
    """PostgreSQL refuses a value longer than the column; the move keeps what fits."""
    from governance.models import EscalationMove
    from scorecards.alerts import _escalate

    decision_rights_seed(alliance=alliance)
    survey_round = add_round(alliance, 0, {"operational": 25})
    alert = Alert.objects.create(
        alliance=alliance,
        metric=Metric.OPERATIONAL,
        period_start=survey_round.period_start,
        round=survey_round,
        kind=AlertKind.ESCALATED,
        to_color=Color.RED,
        reason="Operational integration has been red for a long time. " * 8,
    )
    escalation = _escalate(alliance, alert, now=timezone.now())
    alert.escalation = escalation
    alert.save()
    _escalate(alliance, alert, now=timezone.now())
    move = EscalationMove.objects.get(escalation=escalation)
    limit = EscalationMove._meta.get_field("reason").max_length
    assert len(alert.reason) > limit and move.reason == alert.reason[:limit]


def test_two_corners_red_for_two_quarters_recommends_a_renewal_review(alliance):
    for i in range(6):
        add_round(alliance, i, {"strategic": 40, "value": 45, "relational": 75, "trust": 70})
    check(alliance)
    check(alliance)
    renewal = Alert.objects.get(kind=AlertKind.RENEWAL)
    assert renewal.metric == Metric.ALLIANCE
    assert "renew, restructure or exit" in renewal.reason


def test_jobs_score_closed_rounds_once(world):
    """The job finds rounds closed since its last run (the world has one per alliance)."""
    run_job("score_closed_rounds")
    computed = RoundHealth.objects.count()
    assert computed == SurveyRound.objects.filter(closed_at__isnull=False).count() > 0
    lights = Light.objects.count()
    assert lights > 0
    run_job("score_closed_rounds")
    assert (RoundHealth.objects.count(), Light.objects.count()) == (computed, lights)


# --- divergence ------------------------------------------------------------------------------


def value_kpi(alliance, value: float):
    from scorecards.kpis import month_start
    from scorecards.models import Kpi, KpiGroup, KpiValue

    kpi = Kpi.objects.create(
        alliance=alliance, group=KpiGroup.VALUE, name="Pipeline", green_from=100, red_below=50
    )
    KpiValue.objects.create(kpi=kpi, month=month_start(timezone.localdate()), value=value)
    return kpi


def divergence(alliance):
    return Light.objects.filter(alliance=alliance, metric=Metric.ALLIANCE, rules=["divergence"])


def test_green_numbers_with_a_red_relationship_are_flagged(alliance):
    value_kpi(alliance, 140)
    add_round(alliance, 0, {"strategic": 60, "operational": 45, "relational": 75, "value": 72})
    check(alliance)
    (signal,) = divergence(alliance)
    assert signal.color == Color.YELLOW
    assert "the numbers look fine, the relationship does not" in signal.reasons[0]
    assert not Alert.objects.filter(metric=Metric.ALLIANCE).exists()  # a flag, not an alert


def test_lagging_numbers_with_a_healthy_relationship_are_flagged(alliance):
    value_kpi(alliance, 40)
    add_round(alliance, 0, 80)
    check(alliance)
    (signal,) = divergence(alliance)
    assert "none of the value KPIs is green (Pipeline)" in signal.reasons[0]


def test_no_divergence_when_numbers_and_relationship_agree(alliance):
    value_kpi(alliance, 140)
    add_round(alliance, 0, 80)
    check(alliance)
    assert not divergence(alliance).exists()


def test_the_health_tab_shows_the_divergence(alliance, client_for, world):
    value_kpi(alliance, 140)
    add_round(alliance, 0, {"strategic": 60, "operational": 45, "relational": 75, "value": 72})
    check(alliance)
    page = client_for(world.ben).get(f"/o/contoso/alliances/{alliance.pk}/health/")
    assert "Divergence:" in page.content.decode()


def test_rules_combine_into_the_worst_colour_with_every_reason(alliance):
    for i in range(3):
        add_round(alliance, i, 92)
    # Green by threshold, but declining and with a perception gap: yellow, three reasons.
    r = add_round(alliance, 3, 78, lead={"relational": 88}, partner={"relational": 68})
    check(alliance)
    assert light(r).color == Color.YELLOW
    assert light(r).rules == ["threshold", "declining", "gap"]
    assert len(light(r).reasons) == 3
    # Red by threshold: the other rules cannot make it any better.
    r = add_round(alliance, 4, 40, lead={"relational": 50}, partner={"relational": 30})
    check(alliance)
    assert light(r).color == Color.RED
    assert {"threshold", "declining", "gap"} <= set(light(r).rules)


def test_a_threshold_change_alerts_by_email_after_the_request(
    alliance, world, django_capture_on_commit_callbacks
):
    from scorecards import services

    add_round(alliance, 0, 80)
    check(alliance)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.threshold_save(
            organization=world.northwind,
            alliance=alliance,
            green_from=100,
            red_below=100,
            user=world.ada,
        )
    assert Alert.objects.filter(kind=AlertKind.RED).exists()
    assert mail.outbox == []  # nothing sent inside the save
    for callback in callbacks:
        callback()  # the task, run eagerly here
    assert len(mail.outbox) == 2  # one per alliance manager


def test_the_daily_check_runs_once_a_day_whatever_else_wrote_lights(alliance, monkeypatch):
    from scorecards import jobs
    from scorecards.models import DailyCheck

    calls = []
    real = jobs.alerts.threshold_check
    monkeypatch.setattr(
        jobs.alerts, "threshold_check", lambda **kw: calls.append(kw["now"]) or real(**kw)
    )
    morning = timezone.make_aware(datetime(2026, 11, 24, 0, 1))
    add_round(alliance, 0, 80)
    check(alliance, morning)  # lights written today by another job first
    calls.clear()
    jobs.daily_threshold_check(now=morning)
    jobs.daily_threshold_check(now=morning + timedelta(hours=3))
    assert calls == [morning]
    jobs.daily_threshold_check(now=morning + timedelta(days=1))
    assert len(calls) == 2
    assert DailyCheck.objects.filter(finished_at__isnull=False).count() == 2


def test_a_failed_or_abandoned_daily_check_is_retried(alliance, monkeypatch):
    from scorecards import jobs
    from scorecards.models import DailyCheck

    morning = timezone.make_aware(datetime(2026, 11, 24, 0, 1))

    def boom(**kw):
        raise RuntimeError("database went away")

    monkeypatch.setattr(jobs.alerts, "threshold_check", boom)
    with pytest.raises(RuntimeError):
        jobs.daily_threshold_check(now=morning)
    assert not DailyCheck.objects.exists()  # the claim was given back
    DailyCheck.objects.create(day=morning.date(), claimed_at=morning)  # a worker that died
    monkeypatch.undo()
    jobs.daily_threshold_check(now=morning + timedelta(minutes=5))
    assert DailyCheck.objects.get().finished_at is None  # still someone else's
    jobs.daily_threshold_check(now=morning + timedelta(hours=2))
    assert DailyCheck.objects.get().finished_at is not None  # stale: taken over
