from django.urls import include, path

from governance import urls as governance_urls
from scorecards import urls as scorecard_urls
from scorecards.views import dashboards
from surveys import urls as survey_urls

from . import account_views, audit_views, ops_views, token_views, views, webhook_views

alliance_patterns = [
    path("", dashboards.alliance_one_pager, name="alliance_detail"),
    path("profile/", views.alliance_profile, name="alliance_profile"),
    path("edit/", views.alliance_edit, name="alliance_edit"),
    path("archive/", views.alliance_archive, name="alliance_archive"),
    path("invite-partner/", views.partner_invite, name="partner_invite"),
    path("contacts/", views.contact_list, name="contact_list"),
    path("contacts/new/", views.contact_create, name="contact_create"),
    path("contacts/import/", views.contact_import, name="contact_import"),
    path("contacts/export.csv", views.contacts_export, name="contacts_export"),
    path("contacts/<int:contact>/", views.contact_edit, name="contact_edit"),
    path("triggers/new/", views.trigger_create, name="trigger_create"),
    path("triggers/<int:trigger>/fire/", views.trigger_fire, name="trigger_fire"),
    path("triggers/<int:trigger>/delete/", views.trigger_delete, name="trigger_delete"),
    path("fit/", views.partner_fit, name="partner_fit"),
    path("gate/<int:check>/", views.gate_check_toggle, name="gate_check_toggle"),
    path("stage/advance/", views.stage_advance, name="stage_advance"),
    path("stage/back/", views.stage_back, name="stage_back"),
    path("journal/", views.journal_add, name="journal_add"),
    *governance_urls.alliance_patterns,
    *survey_urls.alliance_patterns,
    *scorecard_urls.alliance_patterns,
]

org_patterns = [
    path("", views.alliance_list, name="alliance_list"),
    path("portfolio/", dashboards.portfolio, name="portfolio"),
    path("portfolio.csv", dashboards.portfolio_csv, name="portfolio_csv"),
    path("alliances/new/", views.alliance_create, name="alliance_create"),
    path("alliances/<int:alliance>/", include(alliance_patterns)),
    path("members/", account_views.member_list, name="member_list"),
    path("members/<int:member>/role/", account_views.member_role, name="member_role"),
    path("members/<int:member>/remove/", account_views.member_remove, name="member_remove"),
    path(
        "invitations/<int:invitation>/revoke/",
        account_views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("settings/gates/", account_views.gate_items, name="gate_items"),
    path(
        "settings/gates/<int:item>/remove/", account_views.gate_item_remove, name="gate_item_remove"
    ),
    *token_views.org_patterns,
    *webhook_views.org_patterns,
    *audit_views.org_patterns,
    *governance_urls.org_patterns,
    *survey_urls.org_patterns,
    *scorecard_urls.org_patterns,
]

urlpatterns = [
    path("", account_views.home, name="home"),
    path("o/<slug:org>/", include(org_patterns)),
    path("join/<str:token>/", account_views.member_invitation, name="member_invitation"),
    path("partner/<str:token>/", account_views.partner_invitation, name="partner_invitation"),
    path("livez", ops_views.livez, name="livez"),
    path("healthz", ops_views.healthz, name="healthz"),
    path("dev/outbox/", ops_views.outbox, name="outbox"),
    *governance_urls.public_patterns,
    *survey_urls.public_patterns,
]
