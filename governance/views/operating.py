"""Bodies and meetings, the decision-rights matrix and the decision log."""

alliance_patterns = []
