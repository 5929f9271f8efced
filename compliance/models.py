"""Compliance: the positive and negative lists and what is checked against them (a later issue)."""
