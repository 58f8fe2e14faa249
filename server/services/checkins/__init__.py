"""Visits (check-in/check-out) and the orders they produce."""
