"""iCalendar feeds of governance meetings, per alliance and per user."""

alliance_patterns = []
org_patterns = []
public_patterns = []
