from celery import shared_task
from django.utils import timezone

from . import sending

# Retries stay well inside the broker's visibility timeout (an hour), so a waiting retry
# is never redelivered to a second worker.
MAX_RETRY_DELAY = 15 * 60


@shared_task(bind=True, name="surveys.tasks.send_survey_emails", max_retries=8)
def send_survey_emails(self, round_ids: list[int] | None = None) -> int:
    """Send what is due for newly opened rounds now rather than at the next sweep."""
    now = timezone.now()
    result = sending.survey_emails_send(now=now, round_ids=round_ids)
    if result.failed:
        # Not before the failed emails are due again: an earlier retry would find nothing
        # to send and stop. Whatever waits longer is left to the periodic sweep.
        wait = (result.retry_at - now).total_seconds()
        raise self.retry(countdown=min(max(wait, 1), MAX_RETRY_DELAY))
    if result.more:
        send_survey_emails.delay(round_ids)  # the next batch, as a task of its own
    return result.sent
