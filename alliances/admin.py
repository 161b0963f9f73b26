"""Operator admin: every model, searchable, with its tenant in the list."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from . import models


@admin.register(models.User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "full_name"]
    list_filter = ["is_staff", "is_active"]
    fieldsets = [
        (None, {"fields": ["email", "password", "full_name"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"fields": ["email", "full_name", "password1", "password2"]})]


@admin.register(models.Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]


@admin.register(models.Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", "organization"]
    search_fields = ["user__email", "organization__name"]
    list_select_related = ["user", "organization"]


@admin.register(models.MemberInvitation)
class MemberInvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "organization", "role", "created_at", "expires_at", "accepted_at"]
    list_filter = ["organization"]
    search_fields = ["email", "organization__name"]
    exclude = ["token_hash"]
    list_select_related = ["organization"]


ALLIANCE_TENANT = ["alliance", "alliance__lead_organization"]


@admin.register(models.Alliance)
class AllianceAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "lead_organization",
        "partner_organization",
        "partner_name",
        "stage",
        "model",
        "strategic_importance",
        "archived_at",
    ]
    list_filter = ["stage", "model", "lead_organization"]
    search_fields = [
        "name",
        "partner_name",
        "lead_organization__name",
        "partner_organization__name",
    ]
    list_select_related = ["lead_organization", "partner_organization"]


class AllianceOwnedAdmin(admin.ModelAdmin):
    """Lists show the alliance and its lead organisation, the rows' tenant."""

    list_select_related = ALLIANCE_TENANT
    search_fields = ["alliance__name", "alliance__lead_organization__name"]

    @admin.display(description="lead organisation", ordering="alliance__lead_organization__name")
    def lead_organization(self, obj):
        return obj.alliance.lead_organization


@admin.register(models.PartnerInvitation)
class PartnerInvitationAdmin(AllianceOwnedAdmin):
    list_display = ["email", "alliance", "lead_organization", "expires_at", "accepted_at"]
    search_fields = [*AllianceOwnedAdmin.search_fields, "email"]
    exclude = ["token_hash"]


@admin.register(models.Contact)
class ContactAdmin(AllianceOwnedAdmin):
    list_display = ["name", "email", "side", "function", "alliance", "lead_organization"]
    list_filter = ["side", "function", "is_active"]
    search_fields = [*AllianceOwnedAdmin.search_fields, "name", "email"]


@admin.register(models.AdaptationTrigger)
class AdaptationTriggerAdmin(AllianceOwnedAdmin):
    list_display = ["condition", "alliance", "lead_organization", "fired_at"]
    search_fields = [*AllianceOwnedAdmin.search_fields, "condition"]


@admin.register(models.PartnerFitScore)
class PartnerFitScoreAdmin(AllianceOwnedAdmin):
    list_display = ["alliance", "author_organization", "criterion", "score", "red_flag"]
    list_filter = ["criterion"]
    list_select_related = [*ALLIANCE_TENANT, "author_organization"]


@admin.register(models.GateItem)
class GateItemAdmin(admin.ModelAdmin):
    list_display = ["text", "stage", "organization", "position", "is_active"]
    list_filter = ["stage", "organization", "is_active"]
    search_fields = ["text", "organization__name"]
    list_select_related = ["organization"]


@admin.register(models.AllianceGateCheck)
class AllianceGateCheckAdmin(AllianceOwnedAdmin):
    list_display = ["text", "stage", "alliance", "lead_organization", "done_at"]
    list_filter = ["stage"]
    search_fields = [*AllianceOwnedAdmin.search_fields, "text"]


@admin.register(models.StageTransition)
class StageTransitionAdmin(AllianceOwnedAdmin):
    list_display = ["alliance", "lead_organization", "from_stage", "to_stage", "outcome", "at"]
    list_filter = ["to_stage", "outcome"]


@admin.register(models.LessonsLearned)
class LessonsLearnedAdmin(AllianceOwnedAdmin):
    list_display = ["alliance", "lead_organization", "recorded_at"]


@admin.register(models.JournalEntry)
class JournalEntryAdmin(AllianceOwnedAdmin):
    list_display = ["alliance", "author_organization", "visibility", "created_at"]
    list_filter = ["visibility"]
    search_fields = [*AllianceOwnedAdmin.search_fields, "body"]
    list_select_related = [*ALLIANCE_TENANT, "author_organization"]


@admin.register(models.JobRun)
class JobRunAdmin(admin.ModelAdmin):
    list_display = ["name", "last_started_at", "last_finished_at", "runs"]
    search_fields = ["name"]


@admin.register(models.ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "user", "organization", "created_at", "last_used_at"]
    list_filter = ["organization"]
    search_fields = ["name", "prefix", "user__email", "organization__name"]
    exclude = ["token_hash"]
    readonly_fields = ["prefix", "last_used_at"]
    list_select_related = ["user", "organization"]


@admin.register(models.IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ["key", "client", "organization", "status_code", "created_at"]
    search_fields = ["key", "client", "organization__name"]
    list_select_related = ["organization"]


@admin.register(models.WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "organization", "created_at", "disabled_at", "consecutive_failures"]
    list_filter = ["organization"]
    search_fields = ["url", "description", "organization__name"]
    exclude = ["secret"]
    list_select_related = ["organization"]


@admin.register(models.AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "action", "organization", "actor_email", "summary", "ip"]
    list_filter = ["action"]
    search_fields = ["summary", "actor_email", "target", "organization__name"]
    list_select_related = ["organization"]
    date_hierarchy = "at"

    # An audit log is appended to by Concord, never edited by hand.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(models.WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "endpoint", "organization", "status", "attempts", "created_at"]
    list_filter = ["status", "event"]
    search_fields = ["event", "endpoint__url", "endpoint__organization__name"]
    list_select_related = ["endpoint__organization"]

    @admin.display(description="organisation")
    def organization(self, delivery):
        return delivery.endpoint.organization
