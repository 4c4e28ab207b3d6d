"""Every content a release has had (issue 13 item 5): version rows, written as ingest applies a plan."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .. import identity
from ..model import Release, ReleaseVersion
from .base import StorageBase
from .schema import RELEASE_VERSIONS as V
from .schema import RELEASES as R


def _content(r: Release) -> dict[str, Any]:
    return {"title": r.title, "location": r.location, "date": r.date, "author": r.author,
            "section": r.section, "paragraphs": json.dumps(list(r.paragraphs), ensure_ascii=False),
            "body_html": r.body_html, "content_hash": r.content_hash}


def record_versions(conn: Connection, plan: identity.FilePlan, now: dt.datetime) -> None:
    """Store the versions a file's plan makes, in its transaction (after its release rows).

    A new release is version 1, seen when it was first seen; a content change is the next
    version, seen `now`, and marks the release revised. A withdrawal, a return with the same
    content or an unchanged re-read make none. A release held by an embargo was never public:
    a change replaces its version 1, which is seen when it goes public (storage/embargoes.py).
    """
    rows = [{"release_id": i.id, "version": 1, "seen_at": i.first_seen, **_content(i.release)}
            for i in plan.intents if isinstance(i, identity.New)]
    edits = [i for i in plan.intents if isinstance(i, identity.Update) and i.updated is not None]
    for i in edits:
        if i.held:
            conn.execute(V.update().where(V.c.release_id == i.id, V.c.version == 1).values(**_content(i.release)))
    changed = {i.id: i.release for i in edits if not i.held}
    if changed:
        # Numbered under the ingest lock apply_file holds, so two writers never take one number.
        latest = dict(conn.execute(sa.select(V.c.release_id, sa.func.max(V.c.version))
                                   .where(V.c.release_id.in_(list(changed)))
                                   .group_by(V.c.release_id)).all())
        rows += [{"release_id": rid, "version": int(latest.get(rid) or 0) + 1, "seen_at": now,
                  **_content(r)} for rid, r in changed.items()]
        conn.execute(R.update().where(R.c.id.in_(list(changed))).values(revised_at=now))
    if rows:
        conn.execute(V.insert(), rows)


class VersionsMixin(StorageBase):
    def release_versions(self, release_id: str) -> list[ReleaseVersion]:
        """Every stored version of a release, oldest first ([] for an unknown id)."""
        with self.read(f"reading the versions of release {release_id}") as conn:
            rows = conn.execute(sa.select(V).where(V.c.release_id == release_id)
                                .order_by(V.c.version)).all()
        return [ReleaseVersion(
            release_id=row.release_id, number=row.version, seen_at=row.seen_at, title=row.title,
            location=row.location, date=row.date, author=row.author, section=row.section,
            paragraphs=tuple(json.loads(row.paragraphs)), body_html=row.body_html) for row in rows]
