from django import template
from django.urls import reverse

from alliances.models import Stage

register = template.Library()


@register.inclusion_tag("alliances/_stage_steps.html")
def stage_steps(current: int, compact: bool = False):
    return {
        "steps": [
            (value, label, value < current, value == current) for value, label in Stage.choices
        ],
        "compact": compact,
    }


# (label, the tab's page, the other pages that belong to its section)
ALLIANCE_TABS = [
    ("One-pager", "alliance_detail", set()),
    ("Profile", "alliance_profile", {"alliance_edit", "partner_fit", "stage_advance",
                                     "stage_back", "trigger_create", "trigger_fire"}),
    ("Health", "alliance_health", {"health_thresholds", "alert_resolve"}),
    ("Trends", "alliance_trends", set()),
    ("Contacts", "contact_list", {"contact_create", "contact_edit", "contact_import"}),
    ("Surveys", "survey_rounds", {"survey_round", "survey_round_off_cycle", "survey_settings"}),
    ("Scorecard", "kpi_board", {"kpi_create", "kpi_edit", "kpi_values", "kpi_values_import"}),
    ("Bodies and meetings", "governance_overview", {"governance_body", "governance_body_create",
                                                    "governance_body_edit", "meeting_create",
                                                    "meeting_edit"}),
    ("Decision rights", "decision_rights", {"decision_right_create", "decision_right_edit"}),
    ("Decisions", "decision_log", {"decision_create"}),
    ("Escalations", "escalation_list", {"escalation_create", "escalation_resolve"}),
    ("Actions", "action_list", {"action_create", "action_edit"}),
    ("Risks", "risk_list", {"risk_create", "risk_edit"}),
    ("Health reviews", "review_list", {"review_create", "review_detail", "review_edit",
                                       "review_complete", "interview_create", "interview_edit",
                                       "synthesis_edit", "recommendation_create"}),
    ("Calendar", "alliance_calendar", set()),
]  # fmt: skip


@register.inclusion_tag("alliances/_tabs.html", takes_context=True)
def alliance_tabs(context, here):
    current = context["request"].resolver_match.url_name
    org, pk = here.scope.organization.slug, here.alliance.pk
    return {
        "here": here,
        "tabs": [
            (label, reverse(name, args=[org, pk]), current == name or current in members)
            for label, name, members in ALLIANCE_TABS
        ],
    }


@register.filter
def party(alliance, side):
    return alliance.party_name(side)


@register.filter
def portfolio_sort(filters, key):
    """The portfolio's query string sorted by ``key``, other filters kept."""
    return filters.query(sort=key)


@register.filter
def portfolio_page(filters, number):
    return filters.query(page=number)
