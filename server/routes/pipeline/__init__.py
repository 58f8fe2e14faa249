"""Opportunities, funnel stages and the funnel."""
