"""Scorecard URLs, mounted by alliances/urls.py: under an alliance and under an organisation."""

from . import exports
from .views import health, kpis, reviews, trends

alliance_patterns = [
    *kpis.alliance_patterns,
    *health.alliance_patterns,
    *trends.alliance_patterns,
    *reviews.review_patterns,
    *exports.alliance_patterns,
]
org_patterns = [*kpis.org_patterns, *health.org_patterns, *exports.org_patterns]
