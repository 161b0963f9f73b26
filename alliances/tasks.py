from celery import shared_task

from . import webhooks
from .jobs import run_job


@shared_task(name="alliances.tasks.run_periodic_job")
def run_periodic_job(name: str) -> None:
    run_job(name)


@shared_task(name="alliances.tasks.deliver_webhook")
def deliver_webhook(delivery_id: int) -> str:
    """Send one webhook delivery, if it is still due and no other worker has it."""
    return webhooks.delivery_attempt(delivery_id=delivery_id)
