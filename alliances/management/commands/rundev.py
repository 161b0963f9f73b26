"""The development server with a Celery worker and beat beside it (embedded default).

The worker runs in a child process with the beat scheduler embedded, on the broker
configured in settings (a filesystem broker unless REDIS_URL is set), so periodic jobs
really run while you click around. Stopping the server stops the worker.
"""

import os
import subprocess
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the development server with a Celery worker and beat beside it."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--no-worker", action="store_true", help="Serve pages only.")

    def handle(self, *args, addrport, no_worker, **options):
        worker = None
        # The autoreloader re-runs this command in a child with RUN_MAIN set; only the
        # outer process starts the worker, so a code reload does not start another one.
        if not no_worker and os.environ.get("RUN_MAIN") != "true":
            worker = subprocess.Popen(  # noqa: S603 - fixed arguments, our own interpreter
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "--beat",
                    "--pool=solo",
                    "--loglevel=INFO",
                ]
            )
            self.stdout.write(f"Started the Celery worker with beat (pid {worker.pid}).")
            # Beat's first tick comes one interval after it starts; run the jobs once now
            # so /healthz and anything due are current from the first page.
            call_command("run_jobs")
        try:
            call_command("runserver", addrport)
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=10)
