"""Writes and reads for health reviews. Views call these; they hold the rules."""

from collections.abc import Iterable
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from alliances.models import Contact, Organization, User, Visibility
from alliances.tenancy import Scope
from governance.models import ActionItem, ActionSource
from governance.services import action_save
from surveys.models import Corner

from .lights import Color
from .models import HealthReview, ReviewInterview, ReviewRecommendation, ReviewSynthesis


def review_save(*, review: HealthReview, user: User | None) -> HealthReview:
    if review.pk is None and review.led_by is None:
        review.led_by = user
    review.full_clean()
    review.save()
    return review


def interview_save(
    *, interview: ReviewInterview, user: User | None, today: date | None = None
) -> ReviewInterview:
    today = today or timezone.localdate()
    if interview.review.alliance_id != interview.alliance_id:
        raise ValidationError("This interview belongs to another alliance's review.")
    if interview.held_on and interview.held_on > today:
        raise ValidationError(
            {"held_on": "An interview is recorded once it has been held: this date is ahead."}
        )
    if interview.pk is None:
        interview.created_by = user
    interview.full_clean()
    interview.save()
    return interview


@transaction.atomic
def synthesis_save(
    *, review: HealthReview, syntheses: Iterable[ReviewSynthesis]
) -> list[ReviewSynthesis]:
    """Save the review's reading of some corners (a corner read before comes as its row)."""
    saved = []
    for synthesis in syntheses:
        if synthesis.review_id != review.pk:
            raise ValidationError("This synthesis belongs to another review.")
        synthesis.full_clean()
        synthesis.save()
        saved.append(synthesis)
    return saved


def missing_corners(review: HealthReview) -> list[str]:
    """The labels of the corners the review has not rated yet, in the corners' order."""
    rated = set(
        ReviewSynthesis.objects.filter(review=review)
        .exclude(rating="")
        .values_list("corner", flat=True)
    )
    return [label for value, label in Corner.choices if value not in rated]


def review_complete(*, review: HealthReview, today: date | None = None) -> HealthReview:
    if review.is_completed:
        raise ValidationError(f"This review was completed on {review.completed_on:%d %B %Y}.")
    missing = missing_corners(review)
    if missing:
        raise ValidationError(
            "Rate all four corners before completing the review. Not rated yet: "
            f"{', '.join(missing)}."
        )
    review.completed_on = today or timezone.localdate()
    review.full_clean()
    review.save(update_fields=["completed_on"])
    return review


@transaction.atomic
def recommendation_add(
    *,
    review: HealthReview,
    organization: Organization,
    title: str,
    details: str = "",
    owner: Contact,
    due_on: date,
    user: User | None,
    today: date | None = None,
) -> ReviewRecommendation:
    """A recommended action: a shared action item (source: health review), owned by
    someone of the recommending side, that the review links back to."""
    alliance = review.alliance
    if owner.alliance_id != alliance.pk or owner.side != alliance.side_of(organization):
        raise ValidationError({"owner": "Choose a contact of your own side of this alliance."})
    action = action_save(
        action=ActionItem(
            alliance=alliance,
            author_organization=organization,
            visibility=Visibility.SHARED,
            source=ActionSource.HEALTH_REVIEW,
            title=title,
            details=details,
            owner=owner,
            due_on=due_on,
        ),
        user=user,
        today=today,
    )
    return ReviewRecommendation.objects.create(review=review, action=action, created_by=user)


def latest_review_ratings(*, scope: Scope, alliance_ids: Iterable[int]) -> dict[int, dict]:
    """Each alliance's latest completed review's ratings: {alliance_id: {corner: Color}}.

    One query, however many alliances. Alliances without a completed review are left out.
    """
    latest = (
        HealthReview.objects.filter(alliance=OuterRef("alliance"), completed_on__isnull=False)
        .order_by("-completed_on", "-pk")
        .values("pk")[:1]
    )
    reviews = scope.rows(HealthReview.objects.filter(alliance_id__in=list(alliance_ids))).filter(
        pk=Subquery(latest)
    )
    rows = (
        scope.rows(ReviewSynthesis.objects.filter(review__in=reviews))
        .exclude(rating="")
        .values_list("review__alliance_id", "corner", "rating")
    )
    ratings: dict[int, dict] = {}
    for alliance_id, corner, rating in rows:
        ratings.setdefault(alliance_id, {})[corner] = Color(rating)
    return ratings
