"""Operator admin for surveys. Nothing here shows who answered: invitations hide the day they
were used, and responses have nothing that names a person to begin with."""

from django.contrib import admin

from alliances.admin import ALLIANCE_TENANT, AllianceOwnedAdmin

from . import models

ROUND_TENANT = ["round__alliance", "round__alliance__lead_organization"]


class RoundOwnedAdmin(admin.ModelAdmin):
    list_select_related = ROUND_TENANT
    search_fields = ["round__alliance__name", "round__alliance__lead_organization__name"]

    @admin.display(description="lead organisation")
    def lead_organization(self, obj):
        return obj.round.alliance.lead_organization


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(models.Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["text", "corner", "organization", "key", "retired_at"]
    list_filter = ["corner", "organization"]
    search_fields = ["text", "key", "organization__name"]
    list_select_related = ["organization"]


@admin.register(models.SurveyDefaults)
class SurveyDefaultsAdmin(admin.ModelAdmin):
    list_display = ["organization", "cadence", "open_day", "window_days", "reminder_days"]
    search_fields = ["organization__name"]
    list_select_related = ["organization"]


@admin.register(models.SurveySettings)
class SurveySettingsAdmin(AllianceOwnedAdmin):
    list_display = ["alliance", "lead_organization", "cadence", "open_day", "paused"]


@admin.register(models.SurveyRound)
class SurveyRoundAdmin(AllianceOwnedAdmin):
    list_display = ["__str__", "kind", "opens_at", "closes_at", "closed_at", "lead_organization"]
    list_filter = ["kind"]
    list_select_related = ALLIANCE_TENANT
    exclude = ["opened_by_run"]


@admin.register(models.RoundQuestion)
class RoundQuestionAdmin(RoundOwnedAdmin, ReadOnlyAdmin):
    list_display = ["text", "kind", "corner", "round", "lead_organization"]
    search_fields = [*RoundOwnedAdmin.search_fields, "text"]


@admin.register(models.SurveyInvitation)
class SurveyInvitationAdmin(RoundOwnedAdmin, ReadOnlyAdmin):
    list_display = ["round", "side", "sent_at", "reminders_sent", "failed_at", "lead_organization"]
    search_fields = [*RoundOwnedAdmin.search_fields, "contact__email"]
    exclude = ["responded_on", "claimed_by", "claimed_until"]


@admin.register(models.SurveyLink)
class SurveyLinkAdmin(ReadOnlyAdmin):
    list_display = ["purpose", "created_at", "lead_organization"]
    search_fields = ["invitation__round__alliance__name"]
    list_select_related = ["invitation__round__alliance__lead_organization"]
    exclude = ["token_hash"]

    @admin.display(description="lead organisation")
    def lead_organization(self, obj):
        return obj.invitation.round.alliance.lead_organization


@admin.register(models.Response)
class ResponseAdmin(RoundOwnedAdmin, ReadOnlyAdmin):
    list_display = ["round", "side", "function", "submitted_on", "lead_organization"]


@admin.register(models.Answer)
class AnswerAdmin(RoundOwnedAdmin, ReadOnlyAdmin):
    list_display = ["question", "side", "value", "round", "lead_organization"]
