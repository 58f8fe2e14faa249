"""Memory: one app process's RSS stays bounded under a check-in load (bench/bench_memory.py).

2,000 check-ins (every 4th followed by a check-out with an order) from 8 concurrent clients
against one server process on the seeded SQLite company; VmRSS is read from /proc every 100
check-ins. The growth over the warmed-up process must stay under a generous 150 MB (measured:
about 5 MB), and every request must succeed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.bench_memory import measure

pytestmark = pytest.mark.resilience

CHECKINS = 2000
MAX_GROWTH_MB = 150


def test_rss_stays_bounded_over_2000_checkins(sqlite_db: str, tmp_path: Path) -> None:
    report = measure(sqlite_db, tmp_path, checkins=CHECKINS, clients=8, every=100, checkout_every=4)
    print("\n" + report.summary())
    assert report.failed == 0, f"{report.failed} check-ins failed"
    assert len(report.samples) >= CHECKINS // 100 - 1
    assert report.growth_mb < MAX_GROWTH_MB, report.summary()
