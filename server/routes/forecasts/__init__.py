"""Forecasts: the API (forecast per scope and period, accuracy, target proposal)."""
