"""``manage.py bench_load_data``: the dataset of the load test (``bench/load.py``).

The bench portfolio of ``bench_data`` at a small size (``--alliances`` × ``--months`` closed
rounds, both sides answering), then one round open today for every alliance, as a manager's
off-cycle round would be, its invitations "emailed": each gets one ``SurveyLink`` made with
``new_token()``. Only the links' hashes go to the database; the plain tokens, one per
invitation and each good for one submission, go to ``--output`` (JSON, with the login of
the bench user, the alliances the managers open and an API key) for the locust users. The
file holds working credentials to a throwaway database: it is written to ``var/``.
"""

import json
from datetime import timedelta
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from alliances.api.auth import api_token_create
from alliances.management.commands.bench_data import BENCH_EMAIL, BENCH_PASSWORD, BENCH_SLUG
from alliances.models import Alliance, Membership
from alliances.tokens import new_token
from surveys import services as surveys
from surveys.models import LinkPurpose, RoundKind, SurveyInvitation, SurveyLink

REASON = "Load test: every contact is asked at once."


class Command(BaseCommand):
    help = "Generate the load test's dataset and write its survey tokens to a file."

    def add_arguments(self, parser):
        parser.add_argument("--alliances", type=int, default=300)
        parser.add_argument("--months", type=int, default=3)
        parser.add_argument("--output", type=Path, required=True)

    def handle(self, *args, alliances: int, months: int, output: Path, **options):
        call_command("bench_data", alliances=alliances, months=months, stdout=self.stdout)
        now = timezone.now()
        with transaction.atomic():
            tokens = self.open_rounds(now)
            membership = Membership.objects.get(
                organization__slug=BENCH_SLUG, user__email=BENCH_EMAIL
            )
            _, api_key = api_token_create(membership=membership, name="Load test")
        ids = list(
            Alliance.objects.filter(lead_organization__slug=BENCH_SLUG)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(
            json.dumps(
                {
                    "organization": BENCH_SLUG,
                    "login": BENCH_EMAIL,
                    "password": BENCH_PASSWORD,
                    "api_key": api_key,
                    "alliances": ids,
                    "tokens": tokens,
                }
            )
        )
        self.stdout.write(f"  {len(tokens)} survey tokens in {len(ids)} open rounds: {output}")

    def open_rounds(self, now) -> list[str]:
        """One round open now per bench alliance, each invitation sent with one link."""
        today = timezone.localdate(now)
        plans = []
        for alliance in Alliance.objects.filter(lead_organization__slug=BENCH_SLUG).select_related(
            "survey_settings", "lead_organization__survey_defaults"
        ):
            schedule = surveys.alliance_schedule(alliance)
            plans.append(
                surveys.RoundPlan(
                    alliance=alliance,
                    kind=RoundKind.OFF_CYCLE,
                    period_start=today,
                    period_end=today,
                    opens_at=now - timedelta(minutes=1),
                    closes_at=now + timedelta(days=schedule.window_days),
                    reminder_days=schedule.reminder_days,
                    reason=REASON,
                )
            )
        rounds = surveys.rounds_open(plans, now=now, send=False)
        invitations = SurveyInvitation.objects.filter(round__in=rounds)
        tokens, links = [], []
        for invitation_id in invitations.values_list("pk", flat=True):
            token, digest = new_token()
            tokens.append(token)
            links.append(
                SurveyLink(
                    invitation_id=invitation_id,
                    token_hash=digest,
                    purpose=LinkPurpose.INVITATION,
                    created_at=now,
                )
            )
        SurveyLink.objects.bulk_create(links, batch_size=2000)
        # Emailed, as the sending job leaves them, and nothing more due: no worker runs.
        invitations.update(sent_at=now, last_emailed_at=now, next_email_at=None)
        return tokens
