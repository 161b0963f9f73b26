from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from alliances.jobs import PERIODIC_JOBS, run_job


class Command(BaseCommand):
    help = "Run every periodic job once, as beat would at that moment (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--now",
            help="ISO date-time to run the jobs at, e.g. 2026-12-01T09:00 (default: now). "
            "Without a time zone it is read in TIME_ZONE.",
        )
        parser.add_argument("--job", action="append", help="Run only this job (repeatable).")

    def handle(self, *args, now=None, job=None, **options):
        moment = self._parse_now(now) if now is not None else timezone.now()
        names = [j.name for j in PERIODIC_JOBS]
        unknown = sorted(set(job or []) - set(names))
        if unknown:
            raise CommandError(f"Unknown job(s): {', '.join(unknown)}. Known: {', '.join(names)}")
        for name in job or names:
            run_job(name, now=moment)
            self.stdout.write(f"ran {name} at {moment.isoformat()}")

    @staticmethod
    def _parse_now(value: str) -> datetime:
        try:
            # parse_datetime raises for a well-formed but impossible moment, e.g. month 13.
            moment = parse_datetime(value) or datetime.fromisoformat(value)
        except ValueError as error:
            raise CommandError(
                f"--now {value!r} is not an ISO date-time (e.g. 2026-12-01T09:00)."
            ) from error
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return moment
