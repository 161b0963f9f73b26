from celery import shared_task
from django.utils import timezone

from . import alerts


@shared_task(name="scorecards.tasks.notify_alerts")
def notify_alerts() -> int:
    """Email whoever has not yet been told of a recent open alert (claimed per person)."""
    return alerts.alerts_renotify(now=timezone.now())
