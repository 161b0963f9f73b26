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
