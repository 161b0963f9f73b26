from celery import shared_task

from .jobs import run_job


@shared_task(name="alliances.tasks.run_periodic_job")
def run_periodic_job(name: str) -> None:
    run_job(name)
