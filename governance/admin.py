from django.contrib import admin

from alliances.admin import ALLIANCE_TENANT, AllianceOwnedAdmin

from . import models


@admin.register(models.GovernanceBody)
class GovernanceBodyAdmin(AllianceOwnedAdmin):
    list_display = ["name", "tier", "cadence", "alliance", "lead_organization"]
    list_filter = ["tier", "cadence"]
    search_fields = [*AllianceOwnedAdmin.search_fields, "name"]
    autocomplete_fields = ["chair", "members"]


@admin.register(models.Meeting)
class MeetingAdmin(AllianceOwnedAdmin):
    list_display = ["body", "held_on", "alliance", "lead_organization"]
    search_fields = [*AllianceOwnedAdmin.search_fields, "body__name", "agenda"]
    list_select_related = [*ALLIANCE_TENANT, "body"]
    autocomplete_fields = ["attendees"]


@admin.register(models.DecisionRight)
class DecisionRightAdmin(AllianceOwnedAdmin):
    list_display = ["decision_type", "owner", "forum", "sla_days", "alliance", "lead_organization"]
    search_fields = [*AllianceOwnedAdmin.search_fields, "decision_type", "forum"]


@admin.register(models.Decision)
class DecisionAdmin(AllianceOwnedAdmin):
    list_display = ["__str__", "forum", "decided_on", "alliance", "lead_organization"]
    search_fields = [*AllianceOwnedAdmin.search_fields, "decision", "forum"]


@admin.register(models.Escalation)
class EscalationAdmin(AllianceOwnedAdmin):
    list_display = ["title", "rung", "due_at", "resolved_at", "alliance", "lead_organization"]
    list_filter = ["rung"]
    search_fields = [*AllianceOwnedAdmin.search_fields, "title"]


@admin.register(models.EscalationMove)
class EscalationMoveAdmin(admin.ModelAdmin):
    list_display = ["escalation", "from_rung", "to_rung", "at", "lead_organization"]
    search_fields = ["escalation__title", "escalation__alliance__lead_organization__name"]
    list_select_related = ["escalation__alliance__lead_organization"]

    @admin.display(description="lead organisation")
    def lead_organization(self, obj):
        return obj.escalation.alliance.lead_organization


@admin.register(models.ActionItem)
class ActionItemAdmin(AllianceOwnedAdmin):
    list_display = [
        "title", "owner", "due_on", "status", "source", "visibility", "author_organization",
        "alliance",
    ]  # fmt: skip
    list_filter = ["status", "source", "visibility"]
    search_fields = [*AllianceOwnedAdmin.search_fields, "title", "owner__name"]
    list_select_related = [*ALLIANCE_TENANT, "owner", "author_organization"]


@admin.register(models.Risk)
class RiskAdmin(AllianceOwnedAdmin):
    list_display = [
        "title", "category", "likelihood", "impact", "status", "visibility",
        "author_organization", "alliance",
    ]  # fmt: skip
    list_filter = ["category", "status", "visibility"]
    search_fields = [*AllianceOwnedAdmin.search_fields, "title"]
    list_select_related = [*ALLIANCE_TENANT, "author_organization"]


@admin.register(models.GovernanceChange)
class GovernanceChangeAdmin(AllianceOwnedAdmin):
    list_display = ["summary", "subject", "at", "author_organization", "alliance"]
    search_fields = [*AllianceOwnedAdmin.search_fields, "summary"]
    list_select_related = [*ALLIANCE_TENANT, "author_organization"]


@admin.register(models.CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    list_display = [
        "user", "organization", "alliance", "created_at", "last_fetched_at", "revoked_at",
    ]  # fmt: skip
    search_fields = ["user__email", "organization__name", "alliance__name"]
    list_select_related = ["user", "organization", "alliance"]
    # Only a hash is stored; nothing here can show or change the link itself.
    readonly_fields = ["token_hash", "created_at", "last_fetched_at"]
    raw_id_fields = ["user", "organization", "alliance"]


@admin.register(models.ActionDigest)
class ActionDigestAdmin(admin.ModelAdmin):
    list_display = ["email", "week_start", "claimed_at", "sent_at"]
    list_filter = ["week_start"]
    search_fields = ["email"]
