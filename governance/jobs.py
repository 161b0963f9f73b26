from datetime import datetime

from . import digest, services


def escalate_overdue(*, now: datetime) -> None:
    """Escalations past their SLA move one rung up (once) and that rung is told."""
    services.escalations_move_overdue(now=now)


def action_digest(*, now: datetime) -> None:
    """Monday 07:00 onwards: each person with open actions gets this week's digest, once."""
    digest.action_digests_send(now=now)
