"""Rate limits kept in the database, so every web process counts the same attempts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

import sqlalchemy as sa

from .base import StorageBase
from .schema import RATE_LIMITS as RL


@dataclasses.dataclass(frozen=True)
class Hits:
    """How many attempts a client made in its current window, and when that window ends."""

    count: int
    window_end: dt.datetime | None  # None: no attempt in a window still open

    def retry_after(self, now: dt.datetime) -> int:
        """Whole seconds until the window ends (at least 1)."""
        if self.window_end is None:
            return 0
        return max(1, math.ceil((self.window_end - now).total_seconds()))


class LimitsMixin(StorageBase):
    def hits(self, bucket: str, client: str, now: dt.datetime) -> Hits:
        """The client's attempts in its open window (0 when the window has ended)."""
        with self.read(f"reading the {bucket} limit") as conn:
            row = conn.execute(sa.select(RL.c.hits, RL.c.window_end).where(
                RL.c.bucket == bucket, RL.c.client == client[:200], RL.c.window_end > now)).first()
        return Hits(row.hits, row.window_end) if row else Hits(0, None)

    def add_hit(self, bucket: str, client: str, now: dt.datetime, window: dt.timedelta) -> Hits:
        """Count one attempt: a window opens at the first attempt after the last one closed."""
        values: dict[str, Any] = {"bucket": bucket, "client": client[:200], "hits": 1, "window_end": now + window}
        conflict: dict[str, Any] = {"index_elements": [RL.c.bucket, RL.c.client], "set_": {"hits": RL.c.hits + 1}}
        stmt = self.insert(RL).values(values).on_conflict_do_update(**conflict)
        with self.begin(f"counting a {bucket} attempt") as conn:
            # Closed windows go first (ours included, which then starts again at 1): the table
            # holds only clients seen within the longest window.
            conn.execute(sa.delete(RL).where(RL.c.window_end <= now))
            row = conn.execute(stmt.returning(RL.c.hits, RL.c.window_end)).one()
        return Hits(row.hits, row.window_end)
