"""Balanced-scorecard KPIs: definitions per alliance and monthly values."""

__all__: list[str] = []
