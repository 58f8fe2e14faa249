"""Customers, grading and visit policy."""
