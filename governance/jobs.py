from datetime import datetime

from . import services


def escalate_overdue(*, now: datetime) -> None:
    """Escalations past their SLA move one rung up (once) and that rung is told."""
    services.escalations_move_overdue(now=now)
