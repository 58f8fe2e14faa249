"""Simulate a quarter of field sales to compare the product's daily planner with baselines.

`fieldsales simulate` (server/cli.py) calls run.simulate; docs/simulation.md explains the world
and how to read the results.
"""
