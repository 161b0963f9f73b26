from django.contrib import admin

from alliances.admin import ALLIANCE_TENANT, AllianceOwnedAdmin

from . import models


class ReadOnlyAdmin(admin.ModelAdmin):
    """Computed rows: recomputed by the jobs, not edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(models.RoundHealth)
class RoundHealthAdmin(AllianceOwnedAdmin, ReadOnlyAdmin):
    list_display = ["round", "response_rate", "low_confidence", "alliance", "lead_organization"]
    list_select_related = [*ALLIANCE_TENANT, "round"]


@admin.register(models.CornerScore)
class CornerScoreAdmin(AllianceOwnedAdmin, ReadOnlyAdmin):
    list_display = [
        "round",
        "metric",
        "view",
        "function",
        "score",
        "responses",
        "lead_organization",
    ]
    list_filter = ["metric", "view"]
    list_select_related = [*ALLIANCE_TENANT, "round"]


@admin.register(models.Threshold)
class ThresholdAdmin(admin.ModelAdmin):
    list_display = ["organization", "alliance", "stage", "green_from", "red_below"]
    search_fields = ["organization__name", "alliance__name"]
    list_select_related = ["organization", "alliance"]


@admin.register(models.Light)
class LightAdmin(AllianceOwnedAdmin, ReadOnlyAdmin):
    list_display = ["round", "metric", "view", "color", "score", "lead_organization"]
    list_filter = ["color", "metric"]
    list_select_related = [*ALLIANCE_TENANT, "round"]


@admin.register(models.AllianceHealth)
class AllianceHealthAdmin(AllianceOwnedAdmin, ReadOnlyAdmin):
    list_display = ["alliance", "period_start", "worst", "score", "change", "lead_organization"]
    list_filter = ["worst", "divergence"]
    list_select_related = ALLIANCE_TENANT


@admin.register(models.SteeringDigest)
class SteeringDigestAdmin(AllianceOwnedAdmin, ReadOnlyAdmin):
    list_display = ["email", "round", "sent_at", "claimed_at", "alliance", "lead_organization"]
    list_select_related = [*ALLIANCE_TENANT, "round"]
    search_fields = [*AllianceOwnedAdmin.search_fields, "email"]


@admin.register(models.Alert)
class AlertAdmin(AllianceOwnedAdmin):
    list_display = ["__str__", "kind", "status", "period_start", "raised_at", "lead_organization"]
    list_filter = ["kind", "status", "metric"]
    search_fields = [*AllianceOwnedAdmin.search_fields, "reason"]


@admin.register(models.AlertNotice)
class AlertNoticeAdmin(ReadOnlyAdmin):
    list_display = ["alert", "email", "sent_at", "lead_organization"]
    search_fields = ["email", "alert__alliance__name"]
    list_select_related = ["alert__alliance__lead_organization"]

    @admin.display(description="lead organisation")
    def lead_organization(self, obj):
        return obj.alert.alliance.lead_organization


@admin.register(models.HealthReview)
class HealthReviewAdmin(AllianceOwnedAdmin):
    list_display = ["title", "kind", "started_on", "completed_on", "alliance", "lead_organization"]
    list_filter = ["kind"]
    search_fields = [*AllianceOwnedAdmin.search_fields, "title"]


@admin.register(models.ReviewInterview)
class ReviewInterviewAdmin(AllianceOwnedAdmin):
    list_display = [
        "review", "function", "side", "held_on", "visibility", "author_organization", "alliance",
    ]  # fmt: skip
    list_filter = ["function", "side", "visibility"]
    search_fields = [*AllianceOwnedAdmin.search_fields, "review__title", "themes"]
    list_select_related = [*ALLIANCE_TENANT, "review", "author_organization"]


class ReviewPartAdmin(admin.ModelAdmin):
    """A part of a review: its tenant is the review's alliance."""

    search_fields = ["review__title", "review__alliance__lead_organization__name"]
    list_select_related = ["review__alliance__lead_organization"]

    @admin.display(description="lead organisation")
    def lead_organization(self, obj):
        return obj.review.alliance.lead_organization


@admin.register(models.ReviewSynthesis)
class ReviewSynthesisAdmin(ReviewPartAdmin):
    list_display = ["review", "corner", "rating", "lead_organization"]
    list_filter = ["corner", "rating"]


@admin.register(models.ReviewRecommendation)
class ReviewRecommendationAdmin(ReviewPartAdmin):
    list_display = ["review", "action", "created_at", "lead_organization"]
    list_select_related = [*ReviewPartAdmin.list_select_related, "action"]
    raw_id_fields = ["review", "action"]


@admin.register(models.Kpi)
class KpiAdmin(AllianceOwnedAdmin):
    list_display = [
        "name",
        "group",
        "source",
        "unit",
        "direction",
        "archived_at",
        "alliance",
        "lead_organization",
    ]
    list_filter = ["group", "source", "unit"]
    search_fields = [*AllianceOwnedAdmin.search_fields, "name"]


@admin.register(models.KpiValue)
class KpiValueAdmin(admin.ModelAdmin):
    list_display = ["kpi", "month", "value", "entered_by", "entered_at", "lead_organization"]
    search_fields = ["kpi__name", "kpi__alliance__name", "kpi__alliance__lead_organization__name"]
    list_select_related = ["kpi__alliance__lead_organization", "entered_by"]
    raw_id_fields = ["kpi", "entered_by"]

    @admin.display(description="lead organisation")
    def lead_organization(self, obj):
        return obj.kpi.alliance.lead_organization


@admin.register(models.DailyCheck)
class DailyCheckAdmin(ReadOnlyAdmin):
    list_display = ["day", "claimed_at", "finished_at"]
    search_fields = ["day"]
