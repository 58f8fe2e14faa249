"""Forecasts: history, statsforecast engine, refit/update runs, queries, cards, CSV backtest."""
