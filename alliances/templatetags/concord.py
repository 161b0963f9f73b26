from django import template

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


@register.filter
def party(alliance, side):
    return alliance.party_name(side)
