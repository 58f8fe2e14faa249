"""HTTP routes, one sub-package per area. Every module that exposes `ROUTES` is collected here."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any


def collect_routes() -> list[Any]:
    routes: list[Any] = []
    for module_info in sorted(pkgutil.walk_packages(__path__, prefix=f"{__name__}."), key=lambda m: m.name):
        if module_info.ispkg:
            continue
        module = importlib.import_module(module_info.name)
        routes.extend(getattr(module, "ROUTES", []))
    return routes
