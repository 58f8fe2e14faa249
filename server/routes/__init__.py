"""Route modules. Each area module exposes `ROUTES`; they are collected here automatically."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any


def collect_routes() -> list[Any]:
    routes: list[Any] = []
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module_info.name.startswith("_") or module_info.name == "deps":
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        routes.extend(getattr(module, "ROUTES", []))
    return routes
