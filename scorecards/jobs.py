"""Periodic health jobs. Each decides from the database what is due."""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from surveys.models import SurveyRound

from . import alerts, freshness, kpis, scoring
from .models import DailyCheck, RoundHealth

STALE_CLAIM = timedelta(hours=1)


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
    freshness.changed(alliances={alliance_id for _, alliance_id in rounds})
    alerts.threshold_check(
        now=now,
        alliance_ids={alliance_id for _, alliance_id in rounds},
        round_ids=[pk for pk, _ in rounds],
    )


def daily_threshold_check(*, now: datetime) -> None:
    """Once a day (the first run of the day, ``TIME_ZONE``): the computed KPIs, every
    alliance's latest lights against today's thresholds and KPIs (with the divergence
    signal), its alerts, and any alert email that could not be sent before. The day is
    claimed in ``DailyCheck`` first; a failed run gives the claim back for the next tick."""
    day = timezone.localdate(now)
    # A claim never finished by a worker that died long ago is taken over.
    DailyCheck.objects.filter(
        day=day, finished_at__isnull=True, claimed_at__lt=now - STALE_CLAIM
    ).delete()
    try:
        with transaction.atomic():
            DailyCheck.objects.create(day=day, claimed_at=now)
    except IntegrityError:
        return  # done today, or being done by another worker
    try:
        kpis.kpi_values_compute(now=now)
        alerts.threshold_check(now=now)
        alerts.alerts_renotify(now=now)
    except Exception:
        DailyCheck.objects.filter(day=day).delete()
        raise
    DailyCheck.objects.filter(day=day).update(finished_at=timezone.now())
