"""The version of what public pages show: one number in `meta`, raised in the transaction of each change.

Pages (home, topics, releases, their history) are a function of what is stored; web processes keep
them rendered per version (web/pagecache.py). Every transaction that can change what a page shows
calls `pages_changed` before it commits: an ingest applying a file, a withdrawal, an embargo lift,
a re-classification. The new number is visible exactly when the change is: readers of the old
number never see the new rows, readers of the new one always do.

Every page request reads the number, so the read is the cheapest there is: one constant SELECT on a
connection of its own kept open in autocommit (no pool checkout, no pre-ping, no BEGIN/COMMIT; about
10 µs on SQLite, one round trip on PostgreSQL).
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import cast

from ..model import DatabaseUnavailable
from .base import StorageBase
from .schema import META

PAGES_VERSION = "pages_version"  # meta: a counter, as text; absent until the first change
_READ = f"SELECT value FROM meta WHERE key = '{PAGES_VERSION}'"


def pages_changed(conn: Connection) -> None:
    """Raise the pages' version in `conn`'s transaction."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(META).values(key=PAGES_VERSION, value="1")
    raised = cast(cast(META.c.value, postgresql.BIGINT if conn.dialect.name == "postgresql" else sqlite.INTEGER)
                  + 1, META.c.value.type)
    conn.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": raised}))


class PagesMixin(StorageBase):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._pages_lock = threading.Lock()
        self._pages_conn: Any = None  # SQLAlchemy's proxy of a DB-API connection, checked out for good

    def pages_version(self) -> int:
        """The version of what public pages show (0 before anything changed them)."""
        # One connection for the process, one read at a time: a read is a few µs of Python and a
        # round trip, and the pool's connections stay for the pages that miss.
        with self._pages_lock:
            try:
                if self._pages_conn is None:
                    self._pages_conn = self._open_pages_conn()
                cursor = self._pages_conn.cursor()
                try:
                    cursor.execute(_READ)
                    row = cursor.fetchone()
                finally:
                    cursor.close()
            except SQLAlchemyError as exc:
                self._drop_pages_conn()
                raise self.error("reading the pages' version", exc) from exc
            except Exception as exc:  # the driver's own errors: a lost connection, a dead server
                self._drop_pages_conn()
                raise DatabaseUnavailable(f"while reading the pages' version: {exc}") from exc
        return int(row[0]) if row else 0

    def _open_pages_conn(self) -> Any:
        conn = self.engine.raw_connection()
        if self.dialect == "postgresql":
            # No transaction left open between reads (each SELECT sees the latest commit).
            conn.driver_connection.autocommit = True  # type: ignore[union-attr]
        # SQLite's connections are in autocommit already (storage/base.py: isolation_level None).
        return conn

    def _drop_pages_conn(self) -> None:
        conn, self._pages_conn = self._pages_conn, None
        if conn is not None:
            conn.invalidate()  # closed for good, not returned to the pool (SQLAlchemy logs what fails)

    def close(self) -> None:
        with self._pages_lock:
            self._drop_pages_conn()
        super().close()
