"""What the sitemap reads: addresses and instants only, never a release's text."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from .base import StorageBase
from .reading import PUBLIC
from .schema import RELEASE_TOPICS as RT
from .schema import RELEASES as R


class StampsMixin(StorageBase):
    def release_stamps(self) -> list[tuple[str, dt.datetime]]:
        """(id, updated) of every public release, oldest first (the feeds' order, reversed)."""
        with self.read("listing releases for the sitemap") as conn:
            rows = conn.execute(sa.select(R.c.id, R.c.updated).where(PUBLIC)
                                .order_by(R.c.sort_day, R.c.first_seen, R.c.id))
            return [(rid, updated) for rid, updated in rows]

    def topic_stamps(self) -> dict[str, dt.datetime]:
        """topic → the newest `updated` of its live releases (release_topics holds live ones only)."""
        with self.read("dating topics for the sitemap") as conn:
            rows = conn.execute(sa.select(RT.c.topic, sa.func.max(R.c.updated))
                                .join(R, R.c.id == RT.c.release_id)
                                .where(PUBLIC).group_by(RT.c.topic))
            return {topic: updated for topic, updated in rows}
