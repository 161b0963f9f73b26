"""Periodic survey jobs. Each decides from the database what is due, so running one twice,
or after a crash, changes nothing that was already done."""

from datetime import datetime

from . import sending, services


def close_rounds(*, now: datetime) -> None:
    """Rounds whose window has ended close."""
    services.rounds_close_due(now=now)


def open_rounds(*, now: datetime) -> None:
    """Scheduled rounds whose window has begun open, with their questions and invitations."""
    services.rounds_open_due(now=now)


def send_survey_emails(*, now: datetime) -> None:
    """The sweep: every invitation or reminder that is due and not yet sent goes out,
    including those a worker never got to (the broker was down, a worker died)."""
    while sending.survey_emails_send(now=now).more:
        pass
