"""The steering digest's claims: one row per round and person, so each digest goes once."""

from django.db import models
from django.utils import timezone

from alliances.models import AllianceOwned

__all__ = ["SteeringDigest"]


class SteeringDigest(AllianceOwned):
    """That one person (lower-cased email) was sent, or is being sent, a round's steering
    digest. The row is inserted before the email goes; the unique (round, email) constraint
    turns a second run, or a second worker, into a skipped insert instead of a second email."""

    alliance = models.ForeignKey(
        "alliances.Alliance", on_delete=models.CASCADE, related_name="steering_digests"
    )
    round = models.ForeignKey(
        "surveys.SurveyRound", on_delete=models.CASCADE, related_name="steering_digests"
    )
    email = models.EmailField()
    claimed_at = models.DateTimeField(default=timezone.now)
    claimed_by = models.CharField(max_length=32, help_text="The run that claimed it.")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-claimed_at", "email"]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "email"], name="one_steering_digest_per_round_person"
            )
        ]

    def __str__(self):
        return f"{self.email} · steering digest of {self.round}"
