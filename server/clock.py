"""The one source of "now". Jobs and the CLI accept --at so tests can play days in seconds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from server.domain.calendar import local_date


class Clock:
    """Returns aware UTC datetimes; a fixed clock is used by jobs run with --at and by tests."""

    def __init__(
        self,
        fixed: datetime | None = None,
        source: Callable[[], datetime] | None = None,
    ):
        if fixed is not None and fixed.tzinfo is None:
            raise ValueError("a fixed time must be timezone-aware")
        self._fixed = fixed
        self._source = source or (lambda: datetime.now(UTC))

    def now(self) -> datetime:
        return (self._fixed or self._source()).astimezone(UTC)

    def local_date(self, tz: str) -> date:
        return local_date(self.now(), tz)

    def local_now(self, tz: str) -> datetime:
        return self.now().astimezone(ZoneInfo(tz))


def parse_at(value: str) -> datetime:
    """Parse an ISO 8601 instant; naive values are taken as UTC."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


system_clock = Clock()
