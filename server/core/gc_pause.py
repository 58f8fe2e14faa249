"""Pause the cyclic garbage collector around bulk work (a sweep over every rep).

Building tens of thousands of rows, progress figures and snapshots makes CPython run full
collections over everything the process holds: at 10,000 reps about half the escalate sweep's
CPU (0.5 of 1.1 s) went to the collector, which had nothing to free. Reference counting still
frees almost everything at once; only objects in reference cycles wait for the collector, which
runs again when the last pause ends. Nested and concurrent pauses (two requests at once) share
one count: the collector comes back on when the last of them ends, never in between.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_depth = 0
_was_enabled = False


@contextmanager
def paused_gc() -> Iterator[None]:
    global _depth, _was_enabled
    if _depth == 0:
        _was_enabled = gc.isenabled()
        gc.disable()
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0 and _was_enabled:
            gc.enable()
