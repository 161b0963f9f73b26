"""Periodic health jobs. Each decides from the database what is due."""

from datetime import datetime, time

from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from surveys.models import SurveyRound

from . import alerts, kpis, scoring
from .models import Light, RoundHealth


def score_closed_rounds(*, now: datetime) -> None:
    """Rounds closed since the last run get their scores, then their lights and alerts.
    A round counts as scored once its ``RoundHealth`` exists, so a rerun finds nothing."""
    unscored = SurveyRound.objects.filter(closed_at__isnull=False).exclude(
        Exists(RoundHealth.objects.filter(round=OuterRef("pk")))
    )
    rounds = list(unscored.values_list("pk", "alliance_id"))
    if not rounds:
        return
    scoring.scores_recompute(now=now, round_ids=[pk for pk, _ in rounds])
    alerts.threshold_check(
        now=now,
        alliance_ids={alliance_id for _, alliance_id in rounds},
        round_ids=[pk for pk, _ in rounds],
    )


def daily_threshold_check(*, now: datetime) -> None:
    """Once a day (the first run after midnight, ``TIME_ZONE``): the computed KPIs, every
    alliance's latest lights against today's thresholds and KPIs (with the divergence
    signal), its alerts, and any alert email that could not be sent before."""
    midnight = timezone.make_aware(datetime.combine(timezone.localdate(now), time.min))
    last = Light.objects.aggregate(last=Max("computed_at"))["last"]
    if last is not None and last >= midnight:
        return
    kpis.kpi_values_compute(now=now)
    alerts.threshold_check(now=now)
    alerts.alerts_renotify(now=now)
