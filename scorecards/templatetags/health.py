"""Lights, trends and sparklines as template tags: the one-pager draws dozens of them, and a
tag is a fraction of an ``{% include %}``'s cost. Each says what it shows in words, never by
colour alone."""

from django import template
from django.template.defaultfilters import floatformat
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def light(light, unit=""):
    """A light: symbol, word and score, e.g. "■ Red 39"; "no light" without one."""
    if light is None:
        return mark_safe('<span class="light light-none muted">no light</span>')  # noqa: S308
    score = ""
    if light.score is not None:
        score = format_html(
            ' <span class="light-score">{}{}</span>', floatformat(light.score, 0), unit
        )
    return format_html(
        '<span class="light light-{}"><span aria-hidden="true">{}</span> {}{}</span>',
        light.color,
        light.symbol,
        light.get_color_display(),
        score,
    )


@register.simple_tag
def trend(trend):
    """The change since the previous round: an arrow and the words."""
    if trend.direction == "none":
        return ""
    return format_html(
        '<span class="trend trend-{}"><span aria-hidden="true">{}</span> {}</span>',
        trend.direction,
        trend.symbol,
        trend.words,
    )


@register.simple_tag
def spark(spark, label, unit=""):
    """A sparkline drawn by ``scorecards.charts.sparkline``, labelled in words."""
    if not spark:
        return ""
    marks = format_html_join(
        "",
        '<line class="spark-mark spark-{}" x1="0" x2="{}" y1="{}" y2="{}"/>',
        ((name, spark["width"], y, y) for name, y in spark["marks"].items()),
    )
    return format_html(
        '<svg class="spark" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" '
        'aria-label="{label}: {count} rounds, from {first}{unit} to {last}{unit}">{marks}'
        '<polyline points="{points}"/><circle cx="{x}" cy="{y}" r="2.5"/></svg>',
        w=spark["width"],
        h=spark["height"],
        label=label,
        count=spark["count"],
        first=floatformat(spark["first"], 0),
        last=floatformat(spark["last"], 0),
        unit=unit,
        marks=marks,
        points=spark["points"],
        x=spark["last_x"],
        y=spark["last_y"],
    )
