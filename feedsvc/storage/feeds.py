"""Built feed documents, shared by every web process through the database."""

from __future__ import annotations

import datetime as dt
import hashlib

import sqlalchemy as sa

from ..model import FeedDocument
from .base import StorageBase
from .schema import FEED_DOCUMENTS as FD


def make_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


class FeedDocumentsMixin(StorageBase):
    def put_feed_document(self, name: str, body: bytes, content_type: str,
                          last_modified: dt.datetime, now: dt.datetime) -> bool:
        """Store a built feed; True when its bytes changed (so readers and hubs need telling)."""
        etag = make_etag(body)
        with self.begin(f"storing feed {name}") as conn:
            old = conn.execute(sa.select(FD.c.etag).where(FD.c.name == name)).scalar()
            if old == etag:
                return False
            self.upsert(conn, FD, {'name': name, 'etag': etag, 'last_modified': last_modified,
                                       'content_type': content_type, 'body': body, 'built_at': now}, ("name",))
            return True

    def feed_etags(self) -> dict[str, str]:
        """name → etag of every built feed: the one cheap query a web process polls."""
        with self.read("reading feed validators") as conn:
            return {name: etag for name, etag in conn.execute(sa.select(FD.c.name, FD.c.etag))}

    def get_feed_document(self, name: str) -> FeedDocument | None:
        with self.read(f"reading feed {name}") as conn:
            row = conn.execute(sa.select(FD).where(FD.c.name == name)).first()
            if row is None:
                return None
            return FeedDocument(row.name, row.etag, row.last_modified, row.content_type, row.body)

    def delete_feed_documents(self, keep: set[str]) -> None:
        with self.begin("removing feeds of topics that are gone") as conn:
            conn.execute(FD.delete().where(FD.c.name.not_in(keep)))
