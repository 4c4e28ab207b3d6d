"""All SQL lives in this package. `Storage` is one object, its methods split by domain into mixins."""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from ..model import DatabaseUnavailable, StorageError
from .confirmations import ConfirmationsMixin
from .digests import DigestsMixin
from .feeds import FeedDocumentsMixin
from .limits import LimitsMixin
from .releases import ReleasesMixin
from .schema import Base
from .stamps import StampsMixin
from .subscribers import SubscribersMixin
from .versions import VersionsMixin

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

# One number for every process: a PostgreSQL advisory lock that serialises writers of releases.
INGEST_LOCK = 0x66656564


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
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


class Storage(ReleasesMixin, VersionsMixin, StampsMixin, FeedDocumentsMixin, SubscribersMixin, DigestsMixin,
              LimitsMixin, ConfirmationsMixin):
    """The database: opened from a URL, closed with close()."""

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
        self._head: tuple[str | None] | None = None

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
        with self._writer(doing):
            try:
                with self.engine.begin() as conn:
                    if lock and self.dialect == "postgresql":
                        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": INGEST_LOCK})
                    yield conn
            except SQLAlchemyError as exc:
                raise self.error(doing, exc) from exc

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

    def upsert(self, conn: Connection, table: sa.Table, values: dict[str, Any] | list[dict[str, Any]],
               keys: tuple[str, ...], add: str | None = None) -> None:
        """INSERT … ON CONFLICT DO UPDATE: safe when two processes write the same row at once.

        `add` names a column to increase by the inserted value instead of replacing it.
        """
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        rows = values if isinstance(values, list) else [values]
        stmt = insert(table).values(rows)
        if add is not None:
            update = {add: table.c[add] + stmt.excluded[add]}
        else:
            update = {k: stmt.excluded[k] for k in rows[0] if k not in keys}
        conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=update))

    # -- schema -------------------------------------------------------------------------

    def alembic_config(self) -> Any:
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.attributes["engine"] = self.engine
        return cfg

    def head_revision(self) -> str | None:
        """The latest migration this code knows (read from the migration files once per Storage)."""
        if self._head is None:
            from alembic.script import ScriptDirectory

            self._head = (ScriptDirectory.from_config(self.alembic_config()).get_current_head(),)
        return self._head[0]

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to `revision` with Alembic (idempotent)."""
        from alembic import command

        if revision == "head" and self.current_revision() == self.head_revision():
            return
        try:
            command.upgrade(self.alembic_config(), revision)
        except SQLAlchemyError as exc:
            raise self.error(f"upgrading the schema of {self.safe_url}", exc) from exc

    def current_revision(self) -> str | None:
        with self.read("reading the schema revision") as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()

    def drop_everything(self) -> None:
        """Tests only: an empty database."""
        with self.begin("dropping every table") as conn:
            Base.metadata.drop_all(conn)
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))

    def ping(self) -> bool:
        return self.problem() is None

    def problem(self) -> str | None:
        """Why this database cannot serve (unreachable, schema not at the latest migration), or None."""
        try:
            current = self.current_revision()
        except StorageError as exc:
            return str(exc)
        head = self.head_revision()
        if current != head:
            return (f"the database schema is at migration {current or 'none'}, not the latest ({head}): "
                    "run `feedsvc db upgrade`")
        return None
