"""Governance pages, one module per area: operating.py (bodies, meetings, decision rights,
decisions), records.py (escalations, action items, risks, my actions) and calendar.py."""
