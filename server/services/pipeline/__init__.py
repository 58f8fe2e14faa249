"""Opportunities, their stages, the funnel."""
