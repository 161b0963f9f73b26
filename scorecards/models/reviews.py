"""Health reviews: the narrative diagnostic of an alliance.

A review is shared by both parties. Its interview notes are kept by the side that took them,
shared with the partner or internal; its synthesis rates each corner; its recommendations
are action items (source: health review) that the review links back to.
"""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from alliances.models import AllianceOwned, ContactFunction, Side, SideOwned, User
from surveys.models import Corner

from ..lights import Color

__all__ = [
    "RATINGS",
    "HealthReview",
    "ReviewInterview",
    "ReviewKind",
    "ReviewRecommendation",
    "ReviewSynthesis",
]

# A reviewer's judgement is green, yellow or red: there is no "not enough data" in a review.
RATINGS = [(color.value, color.label) for color in (Color.GREEN, Color.YELLOW, Color.RED)]


class ReviewKind(models.TextChoices):
    ANNUAL = "annual", "Annual review"
    MAJOR_EVENT = "major_event", "After a major event"
    OTHER = "other", "Other"


class HealthReview(AllianceOwned):
    alliance = models.ForeignKey(
        "alliances.Alliance", on_delete=models.CASCADE, related_name="health_reviews"
    )
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=12, choices=ReviewKind.choices, default=ReviewKind.ANNUAL)
    scope = models.TextField(
        "scope and objectives", help_text="What the review looks at, and what it should answer."
    )
    started_on = models.DateField()
    completed_on = models.DateField(
        null=True, blank=True, help_text="Empty while the review is in progress."
    )
    led_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-started_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(completed_on__isnull=True) | Q(completed_on__gte=F("started_on")),
                name="review_completed_after_start",
                violation_error_message="A review cannot be completed before it started.",
            )
        ]

    def __str__(self):
        return self.title

    @property
    def is_completed(self) -> bool:
        return self.completed_on is not None


class ReviewOwned(AllianceOwned):
    """A part of a review: its tenant is the review's alliance."""

    class Meta:
        abstract = True

    @classmethod
    def tenant_filter(cls, organization):
        return Q(review__alliance__lead_organization=organization) | Q(
            review__alliance__partner_organization=organization
        )


class ReviewInterview(SideOwned):
    """Notes of one stakeholder interview, kept by the side that took them."""

    alliance = models.ForeignKey(
        "alliances.Alliance", on_delete=models.CASCADE, related_name="review_interviews"
    )
    review = models.ForeignKey(HealthReview, on_delete=models.CASCADE, related_name="interviews")
    function = models.CharField(
        "stakeholder function", max_length=20, choices=ContactFunction.choices
    )
    side = models.CharField(
        max_length=10, choices=Side.choices, help_text="The side the stakeholder works for."
    )
    held_on = models.DateField("held on")
    themes = models.CharField(
        max_length=200, blank=True, help_text="A few words, separated by commas."
    )
    notes = models.TextField()
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["held_on", "pk"]

    def __str__(self):
        return f"{self.get_function_display()} ({self.get_side_display()}), {self.held_on:%d %b %Y}"

    @property
    def theme_list(self) -> list[str]:
        return [theme.strip() for theme in self.themes.split(",") if theme.strip()]


class ReviewSynthesis(ReviewOwned):
    """The review's reading of one corner."""

    review = models.ForeignKey(HealthReview, on_delete=models.CASCADE, related_name="syntheses")
    corner = models.CharField(max_length=20, choices=Corner.choices)
    strengths = models.TextField(blank=True)
    concerns = models.TextField(blank=True)
    rating = models.CharField(max_length=10, choices=RATINGS, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "review syntheses"
        constraints = [
            models.UniqueConstraint(fields=["review", "corner"], name="one_synthesis_per_corner"),
            models.CheckConstraint(
                condition=Q(rating__in=["", *(value for value, _ in RATINGS)]),
                name="synthesis_rating_green_yellow_red",
            ),
        ]

    def __str__(self):
        return f"{self.review}: {self.get_corner_display()}"

    @property
    def color(self) -> Color | None:
        return Color(self.rating) if self.rating else None


class ReviewRecommendation(ReviewOwned):
    """A recommended action of a review; the action item itself lives in governance."""

    review = models.ForeignKey(
        HealthReview, on_delete=models.CASCADE, related_name="recommendations"
    )
    action = models.OneToOneField(
        "governance.ActionItem",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="health_review_recommendation",
    )
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.review}: recommendation {self.pk}"
