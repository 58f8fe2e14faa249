"""Simulate a quarter of field sales to compare the product's daily planner with baselines.

`fieldsales simulate` (server/cli.py) calls run.simulate; docs/simulation.md explains the world
and how to read the results.
"""

from server.simulation.report import PlannerReport, markdown_table, table, write_svg
from server.simulation.run import DEFAULT_START, PLANNERS, PRODUCT, SimulationConfig, simulate

__all__ = [
    "DEFAULT_START",
    "PLANNERS",
    "PRODUCT",
    "PlannerReport",
    "SimulationConfig",
    "markdown_table",
    "simulate",
    "table",
    "write_svg",
]
