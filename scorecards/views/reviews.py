"""Health reviews: the list, a review with its interviews, synthesis and recommendations,
and the forms that write them. Managers of both sides edit; viewers read; internal
interview notes reach only the side that took them."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.shortcuts import redirect, render
from django.urls import path, reverse

from alliances.forms import apply_errors, posted
from alliances.tenancy import alliance_view
from governance.models import ActionItem
from surveys.models import Corner

from .. import reviews as services
from ..models import HealthReview, ReviewInterview, ReviewRecommendation, ReviewSynthesis
from ..review_forms import InterviewForm, RecommendationForm, ReviewForm, SynthesisForm


def _url(here, name: str, *args) -> str:
    return reverse(name, args=[here.scope.organization.slug, here.alliance.pk, *args])


def _review(here, pk) -> HealthReview:
    return here.scope.get(
        HealthReview.objects.filter(alliance=here.alliance).select_related("led_by"), pk=pk
    )


def _by_corner(syntheses) -> list[tuple[str, str, ReviewSynthesis | None]]:
    """Every corner in order, with the review's synthesis of it if there is one."""
    found = {synthesis.corner: synthesis for synthesis in syntheses}
    return [(value, label, found.get(value)) for value, label in Corner.choices]


@alliance_view
def review_list(request, here):
    reviews = (
        here.scope.rows(HealthReview.objects.filter(alliance=here.alliance))
        .select_related("led_by")
        .prefetch_related(
            Prefetch("syntheses", queryset=here.scope.rows(ReviewSynthesis.objects.all()))
        )
    )
    for review in reviews:
        review.corners = _by_corner(review.syntheses.all())
    latest = services.latest_review_ratings(scope=here.scope, alliance_ids=[here.alliance.pk])
    context = {
        "here": here,
        "reviews": reviews,
        "latest": [(label, latest[here.alliance.pk].get(value)) for value, label in Corner.choices]
        if here.alliance.pk in latest
        else None,
    }
    return render(request, "scorecards/reviews/list.html", context)


@alliance_view
def review_detail(request, here, review):
    review = _review(here, review)
    interviews = here.scope.rows(ReviewInterview.objects.filter(review=review)).select_related(
        "author_organization"
    )
    corners = _by_corner(here.scope.rows(ReviewSynthesis.objects.filter(review=review)))
    # An action item a side later made internal is not the other side's to see.
    recommendations = here.scope.rows(
        ReviewRecommendation.objects.filter(review=review)
    ).prefetch_related(
        Prefetch("action", queryset=here.scope.rows(ActionItem.objects.select_related("owner")))
    )
    context = {
        "here": here,
        "review": review,
        "interviews": interviews,
        "corners": corners,
        "recommendations": recommendations,
        "missing": [
            label for _, label, synthesis in corners if not (synthesis and synthesis.rating)
        ],
    }
    return render(request, "scorecards/reviews/detail.html", context)


def _review_form(request, here, review):
    creating = review.pk is None
    form = ReviewForm(posted(request), instance=review)
    if request.method == "POST" and form.is_valid():
        try:
            services.review_save(review=form.instance, user=request.user)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Review {'started' if creating else 'saved'}: {review}.")
            return redirect(_url(here, "review_detail", review.pk))
    return render(
        request,
        "scorecards/reviews/review_form.html",
        {"form": form, "here": here, "review": review, "creating": creating},
        status=400 if form.errors else 200,
    )


@alliance_view
def review_create(request, here):
    here.require_shared()
    return _review_form(request, here, HealthReview(alliance=here.alliance))


@alliance_view
def review_edit(request, here, review):
    review = _review(here, review)
    here.require_shared()
    return _review_form(request, here, review)


def _interview_form(request, here, review, interview):
    creating = interview.pk is None
    form = InterviewForm(posted(request), instance=interview, here=here)
    if request.method == "POST" and form.is_valid():
        try:
            services.interview_save(interview=form.instance, user=request.user)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Interview {'added' if creating else 'saved'}.")
            return redirect(_url(here, "review_detail", review.pk))
    return render(
        request,
        "scorecards/reviews/interview_form.html",
        {"form": form, "here": here, "review": review, "creating": creating},
        status=400 if form.errors else 200,
    )


@alliance_view
def interview_create(request, here, review):
    review = _review(here, review)
    here.require_shared()
    interview = ReviewInterview(
        alliance=here.alliance, review=review, author_organization=here.scope.organization
    )
    return _interview_form(request, here, review, interview)


@alliance_view
def interview_edit(request, here, review, interview):
    review = _review(here, review)
    interview = here.scope.get(ReviewInterview.objects.filter(review=review), pk=interview)
    here.require_shared()
    if interview.author_organization_id != here.scope.organization.pk:
        raise PermissionDenied("Only the side that took these notes changes them.")
    return _interview_form(request, here, review, interview)


@alliance_view
def synthesis_edit(request, here, review):
    """All four corners on one page; a corner left blank is simply not read yet."""
    review = _review(here, review)
    here.require_shared()
    corners = _by_corner(here.scope.rows(ReviewSynthesis.objects.filter(review=review)))
    rows = [
        (
            label,
            SynthesisForm(
                posted(request),
                prefix=value,
                instance=synthesis or ReviewSynthesis(review=review, corner=value),
            ),
        )
        for value, label, synthesis in corners
    ]
    all_forms = [form for _, form in rows]
    if request.method == "POST" and all([form.is_valid() for form in all_forms]):
        try:
            services.synthesis_save(
                review=review,
                syntheses=[form.instance for form in all_forms if not form.is_blank],
            )
        except ValidationError as error:
            apply_errors(all_forms[0], error)
        else:
            messages.success(request, "Synthesis saved.")
            return redirect(_url(here, "review_detail", review.pk))
    return render(
        request,
        "scorecards/reviews/synthesis_form.html",
        {"rows": rows, "here": here, "review": review},
        status=400 if any(form.errors for form in all_forms) else 200,
    )


@alliance_view
def recommendation_create(request, here, review):
    review = _review(here, review)
    here.require_shared()
    form = RecommendationForm(posted(request), here=here)
    if request.method == "POST" and form.is_valid():
        try:
            recommendation = services.recommendation_add(
                review=review,
                organization=here.scope.organization,
                user=request.user,
                **form.cleaned_data,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request, f"Recommendation added to the action items: {recommendation.action}."
            )
            return redirect(_url(here, "review_detail", review.pk))
    return render(
        request,
        "scorecards/reviews/recommendation_form.html",
        {"form": form, "here": here, "review": review},
        status=400 if form.errors else 200,
    )


@alliance_view
def review_complete(request, here, review):
    review = _review(here, review)
    here.require_shared()
    form = forms.Form(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.review_complete(review=review)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Review completed: {review}.")
            return redirect(_url(here, "review_detail", review.pk))
    return render(
        request,
        "scorecards/reviews/complete.html",
        {
            "form": form,
            "here": here,
            "review": review,
            "missing": services.missing_corners(review),
        },
        status=400 if form.errors else 200,
    )


review_patterns = [
    path("reviews/", review_list, name="review_list"),
    path("reviews/new/", review_create, name="review_create"),
    path("reviews/<int:review>/", review_detail, name="review_detail"),
    path("reviews/<int:review>/edit/", review_edit, name="review_edit"),
    path("reviews/<int:review>/interviews/new/", interview_create, name="interview_create"),
    path(
        "reviews/<int:review>/interviews/<int:interview>/edit/",
        interview_edit,
        name="interview_edit",
    ),
    path("reviews/<int:review>/synthesis/", synthesis_edit, name="synthesis_edit"),
    path(
        "reviews/<int:review>/recommendations/new/",
        recommendation_create,
        name="recommendation_create",
    ),
    path("reviews/<int:review>/complete/", review_complete, name="review_complete"),
]
