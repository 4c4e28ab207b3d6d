"""Who sends: one sender on SQLite (a file lock), any number on PostgreSQL (issue 16.1).

PostgreSQL: each sender session holds an advisory lock of its own, (SENDERS, owner) with a random
owner key, for as long as it sends. It reserves small batches of `pending` deliveries with
SELECT … FOR UPDATE SKIP LOCKED (`claimed_by` = its owner key), so no two senders render or
claim the same row; the ledger's CLAIM then moves only rows it reserved (storage/digests.py).
Whether an owner is alive is read from pg_locks, never from a clock: the database drops a
session's locks the moment it ends (a killed process's socket closes). recover_deliveries, run by
every sender before each reservation, gives a dead owner's rows to the others: its `pending`
reservations back to the pool, its `sending` rows IN_DOUBT (resent with their Message-ID).

SQLite: one process sends at a time (an flock beside the database file); the lock holder treats
every `sending` row as a dead sender's.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from ..deliveries import CLAIM, IN_DOUBT, MAX_ATTEMPTS, PARK, Delivery
from ..model import StorageError
from .base import StorageBase
from .digests import failed_attempt, in_states, row_to_delivery
from .mail_schema import DELIVERIES as DL

SENDERS = 0x73656E64  # the advisory locks' first key ("send"); the second is the owner key
_DOUBT = "in doubt: its sender stopped before the server's answer"

# One statement, so the live owners are read after its snapshot: a row this statement sees
# reserved or claimed was reserved by a session that held its lock before, and still does if it
# is alive. Read first, in a statement of its own, a sender starting in between would look dead.
_PG_RECOVER = sa.text(f"""
WITH live AS (
    SELECT objid::bigint AS owner FROM pg_locks
    WHERE locktype = 'advisory' AND classid::bigint = :ns AND objsubid = 2 AND granted
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
), doubt AS (
    UPDATE deliveries SET in_doubt = true, claimed_by = NULL, error = :doubt,
        attempts = attempts + 1,
        state = CASE WHEN attempts + 1 >= {MAX_ATTEMPTS} THEN '{PARK.target}' ELSE '{IN_DOUBT.target}' END
    WHERE state = '{IN_DOUBT.source[0]}'
      AND (claimed_by IS NULL OR claimed_by NOT IN (SELECT owner FROM live))
    RETURNING id
), freed AS (
    UPDATE deliveries SET claimed_by = NULL
    WHERE state = '{CLAIM.source[0]}' AND claimed_by IS NOT NULL
      AND claimed_by NOT IN (SELECT owner FROM live)
    RETURNING id
)
SELECT (SELECT count(*) FROM doubt) AS in_doubt, (SELECT count(*) FROM freed) AS freed
""")

# A small batch of pending rows no sender holds, oldest first; rows another sender is reserving
# at this moment are skipped, not waited for.
_PG_RESERVE = sa.text(f"""
WITH picked AS (
    SELECT d.id FROM deliveries AS d JOIN subscribers AS s ON s.id = d.subscriber_id
    WHERE d.state = '{CLAIM.source[0]}' AND d.claimed_by IS NULL AND s.state = 'confirmed'
    ORDER BY d.id LIMIT :n
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE deliveries AS d SET claimed_by = :owner
FROM picked, subscribers AS s, digest_runs AS r
WHERE d.id = picked.id AND s.id = d.subscriber_id AND r.id = d.run_id
RETURNING d.id, d.run_id, d.subscriber_id, s.email, s.topics, s.frequency, r.period_label,
    d.since_seq, d.until_seq, d.in_doubt, d.attempts, d.message_id, s.languages, s.locale
""")


class SendersMixin(StorageBase):
    @property
    def senders_share_runs(self) -> bool:
        """True where several senders may send at once (PostgreSQL): each reserves its deliveries."""
        return self.dialect == "postgresql"

    @contextlib.contextmanager
    def sender_lock(self) -> Iterator[int | None]:
        """A sender session: its owner key while it lasts, or None when another process sends (SQLite).

        Released by the OS or the database if the process dies. PostgreSQL never says None: every
        sender gets a lock of its own.
        """
        if self.senders_share_runs:
            yield from self._pg_sender()
            return
        database = self.engine.url.database or ""
        path = (database if database and database != ":memory:" else "/tmp/feedsvc") + ".send-lock"
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                got = True
            except BlockingIOError:
                got = False
            yield 0 if got else None
        finally:
            os.close(fd)  # closing releases the lock

    def _pg_sender(self) -> Iterator[int]:
        try:
            conn = self.engine.connect()
            while True:  # a random key: two senders drawing the same one is unlikely, and retried
                owner = 1 + secrets.randbelow(2**31 - 2)
                if conn.execute(sa.text("SELECT pg_try_advisory_lock(:ns, :owner)"),
                                {"ns": SENDERS, "owner": owner}).scalar():
                    break
            conn.commit()
        except SQLAlchemyError as exc:
            raise self.error("starting a sender session", exc) from exc
        try:
            yield owner
        finally:
            try:
                self.release_reservations(owner)
                conn.execute(sa.text("SELECT pg_advisory_unlock(:ns, :owner)"), {"ns": SENDERS, "owner": owner})
                conn.commit()
                conn.close()
            except (SQLAlchemyError, StorageError):
                # The database went away mid-send: the lock ended with its session, and the
                # others recover this sender's rows. Never back to the pool, so no session keeps it.
                conn.invalidate()

    def recover_deliveries(self) -> int:
        """What a dead sender left: its `sending` rows IN_DOUBT (each counts an attempt, so a message
        that kills its sender every time is parked), its reservations free again. Returns how many
        are in doubt. SQLite: call holding the sender lock (every `sending` row is a dead sender's).
        """
        if self.senders_share_runs:
            with self.begin("recovering interrupted deliveries") as conn:
                row = conn.execute(_PG_RECOVER, {"ns": SENDERS, "doubt": _DOUBT}).one()
                return int(row.in_doubt)
        with self.begin("recovering interrupted deliveries") as conn:
            return conn.execute(DL.update().where(in_states(DL.c.state, IN_DOUBT.source)).values(
                **failed_attempt(state=IN_DOUBT.target, in_doubt=True, error=_DOUBT))).rowcount

    def reserve_deliveries(self, owner: int, limit: int) -> list[Delivery]:
        """PostgreSQL: up to `limit` pending deliveries of confirmed readers, now held by `owner`."""
        with self.begin("reserving deliveries to send") as conn:
            rows: list[Any] = list(conn.execute(_PG_RESERVE, {"n": limit, "owner": owner}))
        return sorted((row_to_delivery(r) for r in rows), key=lambda d: d.id)

    def release_reservations(self, owner: int) -> None:
        """A sender's batch is over: what it reserved and left `pending` (released, in doubt, never
        reached) is for any sender's next batch."""
        with self.begin("releasing reserved deliveries") as conn:
            conn.execute(DL.update().where(DL.c.state == CLAIM.source[0], DL.c.claimed_by == owner)
                         .values(claimed_by=None))
