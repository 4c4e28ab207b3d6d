"""The database connection every storage domain shares: engine, transactions, upserts, errors."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from ..instants import Stamps
from ..model import DatabaseUnavailable, StorageError
from .schema import RELEASE_COUNTS as CNT
from .schema import RELEASES as R

# One number for every process: a PostgreSQL advisory lock that serialises writers of releases.
INGEST_LOCK = 0x66656564
# Set in a connection's `info` by storage/pages.py:pages_changed; `begin` reports it once committed.
PAGES_CHANGED = "feedsvc_pages_changed"

# An INSERT that can say ON CONFLICT, in either dialect (both builders offer the same methods).
Upsert = postgresql.Insert | sqlite.Insert


def _sqlite_pragmas(dbapi_conn: Any, _record: object) -> None:
    # `Any`: the DB-API connection SQLAlchemy hands a "connect" listener is untyped.
    # The driver's own transaction handling is switched off so that BEGIN IMMEDIATE below
    # takes the write lock up front: two processes ingesting at once then queue, not deadlock.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


# The execution option Storage.read() sets: this connection only reads.
READ_ONLY = "feedsvc_read_only"


def _sqlite_begin(conn: Connection) -> None:
    # A write takes the write lock up front (BEGIN IMMEDIATE), so two writers queue instead of
    # failing when one upgrades from reading; a read begins DEFERRED and, in WAL mode, never
    # waits for a writer: pages and /healthz keep answering during a long ingest (issue 14.3).
    # SQLAlchemy's "pysqlite serializable isolation" recipe.
    deferred = conn.get_execution_options().get(READ_ONLY, False)
    conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


def describe_database_error(url: sa.URL, exc: SQLAlchemyError) -> str:
    """One readable line for a database error: host, port and the driver's reason for a refused
    connection; no SQL, parameters, or SQLAlchemy's links (issue 15.4)."""
    orig = exc.orig if isinstance(exc, DBAPIError) else None
    reason = " ".join(str(orig if orig is not None else exc).split("\n", 1)[0].split())
    reason = re.sub(r"\(Background on this error at: \S+\)", "", reason).strip()
    if not _is_unreachable(exc):
        return f"{exc.__class__.__name__}: {reason}"
    if url.get_backend_name() == "sqlite":
        return f"cannot open the SQLite database {url.database or ':memory:'}: {reason}"
    # psycopg: 'connection failed: connection to server at "h", port 5432 failed: <reason>'
    found = re.search(r"port \d+ failed: (.*)$", reason)
    reason = found.group(1) if found else reason.removeprefix("connection failed: ")
    return f"cannot reach the database at {url.host or 'localhost'}:{url.port or 5432}: {reason}"


def _is_unreachable(exc: SQLAlchemyError) -> bool:
    # No statement: the error came while connecting (SQLAlchemy wraps connect failures so);
    # connection_invalidated: the connection was lost under a statement.
    return isinstance(exc, DBAPIError) and (exc.statement is None or exc.connection_invalidated)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # No server-side prepared statements: psycopg prepares a query after five runs, and a plan
    # made while a table was still small (a seq scan) then stays for ever as the table grows:
    # ingest slowed tenfold by 30,000 releases.
    # Overflow room for a digest batch: each SMTP connection's thread keeps a ledger connection.
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=20,
                            connect_args={"prepare_threshold": None})


def max_seq(conn: Connection) -> int:
    """The sequence number of the release stored last (0 when there is none)."""
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(R.c.seq), 0))).scalar() or 0)


def max_updated(conn: Connection) -> dt.datetime | None:
    """The latest `updated` of any stored release."""
    latest = conn.execute(sa.select(sa.func.max(R.c.updated))).scalar()
    if isinstance(latest, str):  # SQLite aggregates lose the column type
        latest = dt.datetime.fromisoformat(latest)
    if latest is not None and latest.tzinfo is None:
        latest = latest.replace(tzinfo=dt.UTC)
    return latest


def take_stamps(conn: Connection, stamps: Stamps, n: int) -> list[dt.datetime]:
    """`n` instants from `stamps`, asking the releases table which are free."""
    def occupied(lowest: dt.datetime, above: dt.datetime) -> bool:
        return conn.execute(sa.select(R.c.id).where(
            R.c.updated >= lowest, R.c.updated < above).limit(1)).first() is not None

    return stamps.take(n, latest=lambda: max_updated(conn), occupied=occupied)


class StorageBase:
    """What every domain mixin of `Storage` builds on: opened from a URL, closed with close()."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = make_engine(url)
        except (SQLAlchemyError, OSError) as exc:
            raise StorageError(f"while opening database {self.safe_url}: {exc}") from exc
        self.dialect = self.engine.dialect.name
        # SQLite: this process's writers queue on a lock, woken the instant it is free. Left to
        # SQLite, a thread finding the database locked sleeps 1, 2, 5, 10… ms between tries: the
        # digest's SMTP threads sat idle that long whenever their ledger commits met.
        self._write_lock = threading.RLock() if self.dialect == "sqlite" else None
        self.write_timeout = 30.0  # seconds, as SQLite's own busy timeout

    @property
    def safe_url(self) -> str:
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def error(self, doing: str, exc: SQLAlchemyError) -> StorageError:
        """The project's error for a database error met while `doing`: DatabaseUnavailable when
        the database could not be reached, so that callers can answer "try again later"."""
        message = f"while {doing}: {describe_database_error(self.engine.url, exc)}"
        return DatabaseUnavailable(message) if _is_unreachable(exc) else StorageError(message)

    @contextlib.contextmanager
    def begin(self, doing: str, *, lock: bool = False) -> Iterator[Connection]:
        """A transaction; database errors come out as StorageError saying what was being done."""
        changed_pages = False
        with self._writer(doing):
            try:
                with self.engine.begin() as conn:
                    if lock and self.dialect == "postgresql":
                        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": INGEST_LOCK})
                    try:
                        yield conn
                    finally:
                        # `info` outlives the checkout: the mark must not pass to the next transaction.
                        changed_pages = conn.info.pop(PAGES_CHANGED, False)
            except SQLAlchemyError as exc:
                raise self.error(doing, exc) from exc
        if changed_pages:
            self._pages_committed()

    def _pages_committed(self) -> None:
        """Called after a transaction that changed what pages show has committed (storage/pages.py)."""

    @contextlib.contextmanager
    def _writer(self, doing: str) -> Iterator[None]:
        if self._write_lock is None:
            yield
            return
        if not self._write_lock.acquire(timeout=self.write_timeout):
            raise StorageError(f"while {doing}: the database is locked by another thread of this process")
        try:
            yield
        finally:
            self._write_lock.release()

    @contextlib.contextmanager
    def read(self, doing: str) -> Iterator[Connection]:
        """A connection for reading only: on SQLite its transaction never takes the write lock."""
        try:
            with self.engine.connect() as conn:
                conn.execution_options(**{READ_ONLY: True})
                yield conn
        except SQLAlchemyError as exc:
            raise self.error(doing, exc) from exc

    def insert(self, table: sa.Table) -> Upsert:
        """INSERT in this database's dialect, so it can say what to do ON CONFLICT."""
        return postgresql.insert(table) if self.dialect == "postgresql" else sqlite.insert(table)

    def count_live(self, conn: Connection, counts: Counter[str]) -> None:
        """Add `counts` (topic → change; schema.ALL_KEY: every release) to the public counts."""
        rows = [{"topic": topic, "live": delta} for topic, delta in sorted(counts.items()) if delta]
        if rows:
            self.upsert(conn, CNT, rows, ("topic",), add="live")

    def upsert(self, conn: Connection, table: sa.Table, values: dict[str, Any] | list[dict[str, Any]],
               keys: tuple[str, ...], add: str | None = None) -> None:
        """INSERT … ON CONFLICT DO UPDATE: safe when two processes write the same row at once.

        `add` names a column to increase by the inserted value instead of replacing it.
        """
        rows = values if isinstance(values, list) else [values]
        stmt = self.insert(table).values(rows)
        if add is not None:
            update = {add: table.c[add] + stmt.excluded[add]}
        else:
            update = {k: stmt.excluded[k] for k in rows[0] if k not in keys}
        conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=update))
