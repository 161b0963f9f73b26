"""Escalations, action items, the risk register, and a user's actions across alliances."""

alliance_patterns = []
org_patterns = []
