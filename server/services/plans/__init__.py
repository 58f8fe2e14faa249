"""Targets, breakdown, adjustments and progress."""
