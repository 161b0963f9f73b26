"""Scorecard pages, one module per area: kpis.py (the balanced scorecard) and reviews.py
(health reviews)."""
