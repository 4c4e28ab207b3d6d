"""The version of what public pages show: one number in `meta`, raised in the transaction of each change.

Pages (home, topics, releases, their history) are a function of what is stored; web processes keep
them rendered per version (web/pagecache.py). Every transaction that can change what a page shows
calls `pages_changed` before it commits: an ingest applying a file, a withdrawal, an embargo lift,
a re-classification. The new number is visible exactly when the change is: readers of the old
number never see the new rows, readers of the new one always do.

Every page request asks for the number, so asking must cost next to nothing:

- SQLite: one constant SELECT on a connection of its own kept open in autocommit (no pool
  checkout, no BEGIN/COMMIT): about 10 µs.
- PostgreSQL: a round trip per request waits for the server's process to be scheduled, and on a
  busy host that wait, not the query, halved the pages' rate. So the connection LISTENs, and each
  change NOTIFYs in its transaction (delivered when it commits). A request reads the socket
  without blocking (no round trip) and reads the number again only when a notification came, when
  this process committed a change itself (its own change is exact at once), or when `REFRESH`
  seconds passed (a change that sends no notification: a database restored from a backup).
  Another process's change is served once its notification arrives: under a millisecond on one
  host, a few over a network. A connection lost or refused raises, as the SELECT did: the page
  cache then answers through Flask (its 503), never from what it kept.
  Not through PgBouncer in transaction mode, which does not carry LISTEN: there a change shows
  within `REFRESH` seconds.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from psycopg import pq
from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import cast

from ..model import DatabaseUnavailable
from .base import PAGES_CHANGED, StorageBase
from .schema import META

PAGES_VERSION = "pages_version"  # meta: a counter, as text; absent until the first change
CHANNEL = "feedsvc_pages"  # PostgreSQL's NOTIFY channel for it
REFRESH = 10.0  # seconds: the longest a PostgreSQL process answers from what it heard without reading
_READ = f"SELECT value FROM meta WHERE key = '{PAGES_VERSION}'"


def pages_changed(conn: Connection) -> None:
    """Raise the pages' version in `conn`'s transaction."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(META).values(key=PAGES_VERSION, value="1")
    raised = cast(cast(META.c.value, postgresql.BIGINT if conn.dialect.name == "postgresql" else sqlite.INTEGER)
                  + 1, META.c.value.type)
    conn.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": raised}))
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"NOTIFY {CHANNEL}"))  # sent when the transaction commits, folded into one
    conn.info[PAGES_CHANGED] = True  # StorageBase.begin tells this process once it has committed


class PagesMixin(StorageBase):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._pages_lock = threading.Lock()
        self._pages_conn: Any = None  # SQLAlchemy's proxy of a DB-API connection, checked out for good
        # PostgreSQL: what was heard on that connection, and when it must be read again.
        self._heard = 0
        self._heard_as_of = -1  # `_local_changes` when `_heard` was read (-1: never read)
        self._heard_until = 0.0  # time.monotonic() after which it is read again
        self._notified = False  # a notification came since `_heard` was read
        self._changes_lock = threading.Lock()
        self._local_changes = 0  # pages' changes this process committed

    def pages_version(self) -> int:
        """The version of what public pages show (0 before anything changed them)."""
        # One connection for the process, one caller at a time: on SQLite a read is a few µs, on
        # PostgreSQL most calls only look at the socket.
        with self._pages_lock:
            while True:
                # A connection kept from before may have been closed since (a server restart, an
                # idle timeout): it is replaced once, and only a fresh one's failure is reported.
                fresh = self._pages_conn is None
                try:
                    if fresh:
                        self._pages_conn = self._open_pages_conn()
                    if self.dialect == "postgresql":
                        return self._heard_version()
                    return self._read_version()
                except SQLAlchemyError as exc:
                    self._drop_pages_conn()
                    if fresh:
                        raise self.error("reading the pages' version", exc) from exc
                except Exception as exc:  # the driver's own errors: a lost connection, a dead server
                    self._drop_pages_conn()
                    if fresh:
                        raise DatabaseUnavailable(f"while reading the pages' version: {exc}") from exc

    def _read_version(self) -> int:
        cursor = self._pages_conn.cursor()
        try:
            cursor.execute(_READ)
            row = cursor.fetchone()
        finally:
            cursor.close()
        return int(row[0]) if row else 0

    def _heard_version(self) -> int:
        pgconn = self._pages_conn.driver_connection.pgconn
        # What the socket holds, without waiting; raises if the connection is lost. Twice: a server
        # ending the session sends a message, then closes, and one read may take only the message.
        pgconn.consume_input()
        pgconn.consume_input()
        if pgconn.status != pq.ConnStatus.OK:  # the server said goodbye (a shutdown) before closing
            raise ConnectionError("the server closed the connection")
        while pgconn.notifies() is not None:
            self._notified = True
        now = time.monotonic()
        as_of = self._local_changes
        if self._notified or as_of != self._heard_as_of or now >= self._heard_until:
            # A notification arriving during the read sets `_notified` again (`_on_notify`), and
            # a change committed here during it moves `_local_changes`: the next call reads again.
            self._notified = False
            self._heard = self._read_version()
            self._heard_as_of, self._heard_until = as_of, now + REFRESH
        return self._heard

    def _on_notify(self, _notify: object) -> None:
        self._notified = True  # called by psycopg, for notifications read while a query runs

    def _pages_committed(self) -> None:
        with self._changes_lock:
            self._local_changes += 1

    def _open_pages_conn(self) -> Any:
        conn = self.engine.raw_connection()
        if self.dialect == "postgresql":
            driver = conn.driver_connection
            # No transaction left open between reads (each SELECT sees the latest commit).
            driver.autocommit = True  # type: ignore[union-attr]
            driver.add_notify_handler(self._on_notify)  # type: ignore[union-attr]
            cursor = conn.cursor()
            try:
                cursor.execute(f"LISTEN {CHANNEL}")  # before the first read: no change falls between
            finally:
                cursor.close()
            self._heard_as_of = -1
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
