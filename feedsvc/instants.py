"""The `updated` instants a scan hands out to the releases it stores (pure: the database is asked
through the two callables storage passes in)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

# Feeds need distinct `updated` instants (the W3C validator warns on ties, and feed readers
# compare them to the second) that keep listing order: whole seconds, one per release.
STAMP_STEP = dt.timedelta(seconds=1)


class Stamps:
    """Hands out the `updated` instants of one scan: distinct whole seconds, newest first.

    A scan counts down from its start, so a first import of 100,000 releases is spread over the
    past rather than the future; every instant is still later than any stored before the scan.
    When that room runs out, or another process took those seconds, it counts up past the latest.
    """

    def __init__(self, now: dt.datetime) -> None:
        self.start = now.replace(microsecond=0)
        self.cursor: dt.datetime | None = None
        self.floor: dt.datetime | None = None

    def take(self, n: int, latest: Callable[[], dt.datetime | None],
             occupied: Callable[[dt.datetime, dt.datetime], bool]) -> list[dt.datetime]:
        """`n` instants; `latest()` is the latest stored, `occupied(lo, hi)` whether one is in [lo, hi)."""
        if n == 0:
            return []
        if self.cursor is None:
            self.cursor, self.floor = self.start, latest()
        lowest = self.cursor - (n - 1) * STAMP_STEP
        if (self.floor is None or lowest > self.floor) and not occupied(lowest, self.cursor + STAMP_STEP):
            top, self.cursor = self.cursor, lowest - STAMP_STEP
        else:
            top = max(self.start, (latest() or self.start).replace(microsecond=0) + n * STAMP_STEP)
        return [top - i * STAMP_STEP for i in range(n)]
