"""The one place feedsvc reads the time of day for decisions.

Everything else is handed a `Clock` (issue 12 item 4), so tests control time; measuring a
duration with time.monotonic/perf_counter is not a decision and stays where it is.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    """Anything called with no arguments that returns the current instant, timezone-aware."""

    def __call__(self) -> dt.datetime: ...


class SystemClock:
    """The real clock: aware UTC now."""

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


# One shared instance for defaults: SystemClock holds no state.
SYSTEM_CLOCK: Clock = SystemClock()
