"""Managers' survey pages (filled in below)."""

alliance_patterns = []
org_patterns = []
