"""Governance URLs, mounted by alliances/urls.py: under an alliance, under an organisation,
and (for calendar feeds, which calendar apps fetch without a session) at the top level."""

from .views import calendar, operating, records

alliance_patterns = [
    *operating.alliance_patterns,
    *records.alliance_patterns,
    *calendar.alliance_patterns,
]
org_patterns = [*records.org_patterns, *calendar.org_patterns]
public_patterns = [*calendar.public_patterns]
