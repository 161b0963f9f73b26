"""Periodic jobs, declared in code. Beat ticks them; ``run_jobs`` runs them once.

Each job is a plain function ``job(now)`` that decides from the database what is due,
so a missed or doubled tick is harmless. Later apps add their jobs to ``PERIODIC_JOBS``.
"""

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import JobRun

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    function: str  # dotted path to ``def job(*, now: datetime) -> None``
    every: timedelta | None = None  # None: every beat tick

    @property
    def callable(self) -> Callable[..., None]:
        return import_string(self.function)


def heartbeat(*, now: datetime) -> None:
    """Does nothing but prove that the scheduler, the broker and a worker all work."""


PERIODIC_JOBS: list[PeriodicJob] = [
    PeriodicJob("heartbeat", "alliances.jobs.heartbeat"),
    PeriodicJob("escalate_overdue", "governance.jobs.escalate_overdue"),
    PeriodicJob("action_digest", "governance.jobs.action_digest"),
    # Closing before opening, so a period's new round never waits for the last one.
    PeriodicJob("close_rounds", "surveys.jobs.close_rounds"),
    PeriodicJob("open_rounds", "surveys.jobs.open_rounds"),
    PeriodicJob("send_survey_emails", "surveys.jobs.send_survey_emails"),
    PeriodicJob("score_closed_rounds", "scorecards.jobs.score_closed_rounds"),
    PeriodicJob("daily_threshold_check", "scorecards.jobs.daily_threshold_check"),
    PeriodicJob("steering_digest", "scorecards.digest.steering_digests"),
    PeriodicJob("webhook_deliveries", "alliances.webhooks.deliveries_sweep"),
    PeriodicJob(
        "idempotency_keys_expire",
        "alliances.api.conventions.idempotency_keys_expire",
        every=timedelta(hours=1),
    ),
]


def job_named(name: str) -> PeriodicJob:
    for job in PERIODIC_JOBS:
        if job.name == name:
            return job
    raise KeyError(name)


def run_job(name: str, *, now: datetime | None = None) -> None:
    """Run one job and record the run (start, finish, error) in ``JobRun``."""
    job = job_named(name)
    now = now or timezone.now()
    started = timezone.now()
    JobRun.objects.get_or_create(name=name)
    JobRun.objects.filter(name=name).update(last_started_at=started, last_now=now)
    try:
        job.callable(now=now)
    except Exception:
        JobRun.objects.filter(name=name).update(last_error=traceback.format_exc()[-4000:])
        log.exception("job %s failed", name)
        raise
    JobRun.objects.filter(name=name).update(
        last_finished_at=timezone.now(), last_error="", runs=F("runs") + 1
    )
