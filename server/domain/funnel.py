"""The sales funnel: default stages and the funnel's figures, computed from plain rows."""

from __future__ import annotations

from typing import NamedTuple


class StageDefault(NamedTuple):
    name: str
    probability: int  # percent
    kind: str  # open | won | lost


# A new company's funnel (editable per company by an admin).
DEFAULT_STAGES: tuple[StageDefault, ...] = (
    StageDefault("Lead", 10, "open"),
    StageDefault("Qualified", 25, "open"),
    StageDefault("Proposal", 50, "open"),
    StageDefault("Negotiation", 75, "open"),
    StageDefault("Won", 100, "won"),
    StageDefault("Lost", 0, "lost"),
)
