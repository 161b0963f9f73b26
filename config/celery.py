"""The Celery app. Beat only ticks; each job decides from the database what is due."""

import os
from datetime import timedelta

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("concord")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def schedule_periodic_jobs(sender, **kwargs):
    from django.conf import settings

    from alliances.jobs import PERIODIC_JOBS

    tick = timedelta(seconds=settings.CONCORD_TICK_SECONDS)
    sender.conf.beat_schedule = {
        job.name: {
            "task": "alliances.tasks.run_periodic_job",
            "schedule": job.every or tick,
            "args": (job.name,),
            # Ticks nobody picked up soon are dropped rather than piled up; the next one
            # does the same work, because jobs decide from the database what is due.
            "options": {"expires": max(tick.total_seconds(), 30)},
        }
        for job in PERIODIC_JOBS
    }
