"""Files releases carry (issue 17 item 3): stored once by SHA-256, served only while a public release names them.

The bytes live in the `media` table, not in the instance folder: on a PaaS the clock process ingests
and the web processes serve, and they share the database but no disk. `release_media` says which
release carries which file under which name; `media_references` what each Markdown file named at its
last read, so a scan re-reads the Markdown when one of those files changes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..media import FileMedia
from ..model import Attachment, Release
from .base import StorageBase
from .batches import batches
from .reading import PUBLIC
from .schema import MEDIA as M
from .schema import MEDIA_REFERENCES as MREF
from .schema import RELEASE_MEDIA as RM
from .schema import RELEASES as R


@dataclasses.dataclass(frozen=True, slots=True)
class StoredMedium:
    """A file as /media serves it: its type and size, and its bytes when they were asked for."""

    sha256: str
    content_type: str
    size: int
    body: bytes | None


def extras_values(r: Release) -> dict[str, Any]:
    """The `attachments` and `contacts` columns of a release row (NULL when it has none)."""
    return {"attachments": json.dumps([a.to_json() for a in r.attachments], ensure_ascii=False)
            if r.attachments else None,
            "contacts": json.dumps([c.to_json() for c in r.contacts], ensure_ascii=False) if r.contacts else None}


def store_attachments(conn: Connection, carried: Sequence[tuple[str, tuple[Attachment, ...]]],
                      blobs: Mapping[str, bytes], now: dt.datetime) -> None:
    """Make `release_media` say what each (release id, attachments) carries, in the caller's transaction.

    Bytes not stored yet are inserted from `blobs`; a file no release names any more is deleted
    (a replaced photo must not stay reachable: it may have been replaced for a reason).
    """
    if not carried:
        return
    ids = [rid for rid, _ in carried]
    before = {sha for batch in batches(ids)
              for (sha,) in conn.execute(sa.select(RM.c.sha256).where(RM.c.release_id.in_(batch)))}
    wanted = {a.sha256: a for _, attachments in carried for a in attachments}
    present = {sha for batch in batches(list(wanted))
               for (sha,) in conn.execute(sa.select(M.c.sha256).where(M.c.sha256.in_(batch)))}
    for sha in wanted.keys() - present:  # one row a statement: each may be megabytes
        if sha not in blobs:
            raise ValueError(f"the bytes of {wanted[sha].name} ({sha}) were not given and are not stored")
        conn.execute(M.insert().values(sha256=sha, content_type=wanted[sha].content_type, size=len(blobs[sha]),
                                       body=blobs[sha], stored_at=now))
    for batch in batches(ids):
        conn.execute(RM.delete().where(RM.c.release_id.in_(batch)))
    rows = [{"release_id": rid, "position": n, "sha256": a.sha256, "name": a.name}
            for rid, attachments in carried for n, a in enumerate(attachments)]
    if rows:
        conn.execute(RM.insert(), rows)
    dropped = list(before - wanted.keys())
    for batch in batches(dropped):
        conn.execute(M.delete().where(M.c.sha256.in_(batch),
                                      ~sa.exists().where(RM.c.sha256 == M.c.sha256)))


def set_references(conn: Connection, path: str, media: FileMedia) -> None:
    """What the Markdown file at `path` named at this read, and how each file was."""
    conn.execute(MREF.delete().where(MREF.c.path == path))
    if media.references:
        conn.execute(MREF.insert(), [{"path": path, "target": target, "size": size, "mtime_ns": mtime}
                                     for target, size, mtime in media.references])


class MediaMixin(StorageBase):
    def media_references(self) -> dict[str, list[tuple[str, int, int]]]:
        """Markdown path → (file it names, size, mtime_ns as read; -1 when absent) at its last read."""
        with self.read("reading the files releases name") as conn:
            out: dict[str, list[tuple[str, int, int]]] = {}
            for row in conn.execute(sa.select(MREF.c.path, MREF.c.target, MREF.c.size, MREF.c.mtime_ns)):
                out.setdefault(row.path, []).append((row.target, row.size, row.mtime_ns))
            return out

    def public_medium(self, sha256: str, name: str, *, body: bool = True) -> StoredMedium | None:
        """The file `sha256` if a public release carries it as `name`; its bytes only when `body`.

        None for a file only a held (embargoed) or withdrawn release carries: its address answers
        as one that never existed, as the release's own page does.
        """
        carried = (sa.select(RM.c.release_id).join(R, R.c.id == RM.c.release_id)
                   .where(RM.c.sha256 == sha256, RM.c.name == name, PUBLIC))
        cols = [M.c.sha256, M.c.content_type, M.c.size, *([M.c.body] if body else [])]
        with self.read(f"reading medium {sha256[:12]}") as conn:
            row = conn.execute(sa.select(*cols).where(M.c.sha256 == sha256, sa.exists(carried))).first()
        if row is None:
            return None
        return StoredMedium(row.sha256, row.content_type, int(row.size), bytes(row.body) if body else None)

    def media_count(self) -> tuple[int, int]:
        """Files stored, and their bytes in total: what media take of the database."""
        with self.read("counting media") as conn:
            count, total = conn.execute(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(M.c.size), 0))).one()
            return int(count), int(total)
