"""Digest runs and the delivery ledger: what makes each digest go out exactly once."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from ..model import (
    ACCEPTED,
    CLAIM,
    IN_DOUBT,
    NOTHING_NEW,
    OPEN_STATES,
    REFUSED,
    RELEASE,
    SKIP,
    Delivery,
    RunSummary,
    StorageError,
    StoredRelease,
)
from . import base
from .base import StorageBase
from .bounces import active as suppressed
from .reading import PUBLIC, release_order, row_to_release
from .schema import DELIVERIES as DL
from .schema import DIGEST_RUNS as RUN
from .schema import RELEASES as R
from .schema import SUBSCRIBERS as S
from .schema import UTCDateTime

SENDER_LOCK = 0x64696765

def _in(column: sa.ColumnElement[str], states: tuple[str, ...]) -> sa.ColumnElement[bool]:
    return column == states[0] if len(states) == 1 else column.in_(states)


def _sql_states(states: tuple[str, ...]) -> str:
    return ", ".join(f"'{state}'" for state in states)  # our own Literal names, never input


# The per-message ledger statements, built once: constructing them per call cost more than the
# database's own work (≈0.1 ms a message, in the one thread that feeds every SMTP connection).
_MARK_SENDING = DL.update().where(DL.c.id == sa.bindparam("d_id"), _in(DL.c.state, CLAIM.source)).values(
    state=CLAIM.target, release_ids=sa.bindparam("d_rids"), message_id=sa.bindparam("d_mid"))
_MARK_EMPTY = DL.update().where(DL.c.id == sa.bindparam("d_id"), _in(DL.c.state, NOTHING_NEW.source)).values(
    state=NOTHING_NEW.target)
_MARK_SENT = DL.update().where(DL.c.id.in_(sa.bindparam("d_ids", expanding=True)),
                               _in(DL.c.state, ACCEPTED.source)).values(
    state=ACCEPTED.target, sent_at=sa.bindparam("d_at"))


# PostgreSQL: each ledger step is one statement, so one round trip in autocommit (it had been
# seven, each also waiting for this process's GIL). Kept apart rather than one statement with
# empty arrays for the unused half: unnest() of an empty array still planned a scan of the ledger.
_PG_SENT = sa.text(f"UPDATE deliveries SET state = '{ACCEPTED.target}', sent_at = :at "
                   f"WHERE id = ANY(CAST(:sent AS integer[])) AND state IN ({_sql_states(ACCEPTED.source)})"
                   ).bindparams(sa.bindparam("at", type_=UTCDateTime()))
_PG_CLAIM = sa.text(f"""
WITH nothing_new AS (
    UPDATE deliveries SET state = '{NOTHING_NEW.target}'
    WHERE id = ANY(CAST(:empty AS integer[])) AND state IN ({_sql_states(NOTHING_NEW.source)})
)
UPDATE deliveries AS d SET state = '{CLAIM.target}', release_ids = v.rids, message_id = v.mid
FROM unnest(CAST(:ids AS integer[]), CAST(:rids AS text[]), CAST(:mids AS text[])) AS v(id, rids, mid)
WHERE d.id = v.id AND d.state IN ({_sql_states(CLAIM.source)})
RETURNING d.id
""")


def _bounce(conn: sa.Connection, subscriber_id: int, reason: str) -> None:
    conn.execute(S.update().where(S.c.id == subscriber_id).values(state="bounced", bounce_reason=reason))
    # Left `pending`, its deliveries would never be sent (senders read confirmed subscribers'
    # rows only) yet keep their runs open and the clock resuming them every minute.
    conn.execute(DL.update().where(DL.c.subscriber_id == subscriber_id, _in(DL.c.state, SKIP.source))
                 .values(state=SKIP.target))


class DigestsMixin(StorageBase):
    # -- runs ---------------------------------------------------------------------------

    def create_run(self, key: str, frequency: str, kind: str, period_label: str,
                   now: dt.datetime) -> tuple[int, bool]:
        """Make the run named `key` and plan its deliveries, once; (run id, made now)."""
        with self.begin(f"planning digest run {key}") as conn:
            until = base.max_seq(conn)
            insert = self.insert(RUN)
            # Two clocks planning the same period race here: the unique key lets exactly one win.
            run_id = conn.execute(insert.values(
                key=key, frequency=frequency, kind=kind, period_label=period_label, until_seq=until,
                created_at=now).on_conflict_do_nothing(index_elements=["key"]).returning(RUN.c.id)).scalar()
            if run_id is None:
                return int(conn.execute(sa.select(RUN.c.id).where(RUN.c.key == key)).scalar_one()), False
            # Each planned delivery owns the releases (since, until]: the subscriber's cursor moves
            # in the same transaction, so no later run can plan them again.
            due = conn.execute(sa.select(S.c.id, S.c.cursor_seq).where(
                S.c.state == "confirmed", S.c.frequency == frequency, S.c.cursor_seq < until,
                ~suppressed(S.c.email),  # a suppressed address is never mailed (storage/bounces.py)
            ).with_for_update()).all()
            if due:
                conn.execute(DL.insert(), [
                    {"run_id": run_id, "subscriber_id": sid, "state": "pending", "since_seq": cursor,
                     "until_seq": until, "release_ids": "", "in_doubt": False, "attempts": 0}
                    for sid, cursor in due])
                conn.execute(S.update().where(S.c.id.in_(sa.bindparam("ids", expanding=True)))
                             .values(cursor_seq=until), {"ids": [sid for sid, _ in due]})
            return int(run_id), True

    def finish_runs(self, now: dt.datetime) -> None:
        """After a batch: each reader's last digest, and the runs with nothing left to send closed."""
        with self.begin("closing finished digest runs") as conn:
            # Set here for the batch rather than per message: it is only shown, and the send
            # loop's commits are the window in which a crash makes a duplicate.
            # Grouped from the open runs' rows (index on state, run_id): a correlated max() per
            # reader was planned as a scan of every `sent` row per reader (97 s at 340,000).
            batch = (sa.select(DL.c.subscriber_id, sa.func.max(DL.c.sent_at).label("at"))
                     .where(DL.c.state == ACCEPTED.target,
                            DL.c.run_id.in_(sa.select(RUN.c.id).where(RUN.c.finished_at.is_(None))))
                     .group_by(DL.c.subscriber_id).subquery())
            conn.execute(S.update().where(
                S.c.id == batch.c.subscriber_id,
                sa.or_(S.c.last_digest_at.is_(None), S.c.last_digest_at < batch.c.at),
            ).values(last_digest_at=batch.c.at))
            open_work = sa.exists().where(DL.c.run_id == RUN.c.id, DL.c.state.in_(OPEN_STATES))
            conn.execute(RUN.update().where(RUN.c.finished_at.is_(None), ~open_work)
                         .values(finished_at=now))

    def run_exists(self, key: str) -> bool:
        with self.read("reading digest runs") as conn:
            return conn.execute(sa.select(RUN.c.id).where(RUN.c.key == key)).first() is not None

    def recent_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """Runs, newest first, with their deliveries counted by state."""
        with self.read("reading digest runs") as conn:
            runs = [r._asdict() for r in conn.execute(
                sa.select(RUN).order_by(RUN.c.id.desc()).limit(limit))]
            for run in runs:
                run["counts"] = {state: n for state, n in conn.execute(
                    sa.select(DL.c.state, sa.func.count()).where(DL.c.run_id == run["id"])
                    .group_by(DL.c.state))}
                run["in_doubt"] = conn.execute(sa.select(sa.func.count()).where(
                    DL.c.run_id == run["id"], DL.c.in_doubt.is_(True))).scalar()
            return runs

    def run_summaries(self, limit: int = 20) -> list[RunSummary]:
        """The newest runs with their deliveries counted, in one grouped query."""
        def count(*where: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
            return sa.func.coalesce(sa.func.sum(sa.case((sa.and_(*where), 1), else_=0)), 0)

        newest = sa.select(RUN).order_by(RUN.c.id.desc()).limit(limit).subquery()
        # Each run's rows are found through uq_deliveries_run_subscriber (run_id leads it).
        query = (sa.select(newest.c.id, newest.c.period_label, newest.c.frequency, newest.c.kind,
                           newest.c.created_at, newest.c.finished_at,
                           sa.func.count(DL.c.id).label("planned"),
                           count(DL.c.state == "sent").label("sent"),
                           count(DL.c.state == "failed").label("failed"),
                           count(DL.c.state.in_(("pending", "sending"))).label("pending"),
                           count(DL.c.state == "empty").label("empty"),
                           count(DL.c.state == "skipped").label("skipped"),
                           count(DL.c.in_doubt.is_(True)).label("in_doubt"))
                 .select_from(newest.outerjoin(DL, DL.c.run_id == newest.c.id))
                 .group_by(*newest.c).order_by(newest.c.id.desc()))
        with self.read("reading digest runs") as conn:
            return [RunSummary(r.id, r.period_label, r.frequency, r.kind, r.created_at, r.finished_at,
                               *(int(n) for n in r[6:]))
                    for r in conn.execute(query)]

    # -- the ledger ---------------------------------------------------------------------

    @contextlib.contextmanager
    def sender_lock(self) -> Iterator[bool]:
        """Held by the one process sending digests; released by the OS or database if it dies."""
        if self.dialect == "postgresql":
            try:
                conn = self.engine.connect()
                got = bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"),
                                        {"k": SENDER_LOCK}).scalar())
                conn.commit()
            except SQLAlchemyError as exc:
                raise self.error("taking the sender lock", exc) from exc
            try:
                yield got
            finally:
                try:
                    if got:
                        conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": SENDER_LOCK})
                        conn.commit()
                    conn.close()
                except SQLAlchemyError:
                    # The database went away mid-send: the lock ended with its session. Dropping
                    # the connection (never back to the pool) makes sure no session keeps it.
                    conn.invalidate()
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
            yield got
        finally:
            os.close(fd)  # closing releases the lock

    def recover_deliveries(self) -> int:
        """Call holding the sender lock: what a dead sender left `sending` may have gone out (IN_DOUBT)."""
        with self.begin("recovering interrupted deliveries") as conn:
            return conn.execute(DL.update().where(_in(DL.c.state, IN_DOUBT.source))
                                .values(state=IN_DOUBT.target, in_doubt=True)).rowcount

    def pending_deliveries(self, after_id: int = 0, limit: int = 500) -> list[Delivery]:
        with self.read("reading the delivery ledger") as conn:
            rows = conn.execute(
                sa.select(DL.c.id, DL.c.run_id, DL.c.subscriber_id, S.c.email, S.c.topics,
                          S.c.frequency, RUN.c.period_label, DL.c.since_seq, DL.c.until_seq,
                          DL.c.in_doubt, DL.c.attempts)
                .join(S, S.c.id == DL.c.subscriber_id).join(RUN, RUN.c.id == DL.c.run_id)
                .where(DL.c.state == CLAIM.source[0], DL.c.id > after_id, S.c.state == "confirmed")
                .order_by(DL.c.id).limit(limit)).all()
            return [Delivery(r.id, r.run_id, r.subscriber_id, r.email,
                             tuple(r.topics.split()) if r.topics else (), r.frequency,
                             r.period_label, r.since_seq, r.until_seq, bool(r.in_doubt), r.attempts)
                    for r in rows]

    def count_pending(self) -> int:
        with self.read("counting pending deliveries") as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(DL)
                                    .where(DL.c.state == "pending")).scalar() or 0)

    def delivery_refused(self, delivery_id: int, subscriber_id: int, reason: str) -> None:
        """REFUSED: the server refused it for good; the address is bounced and its other digests skipped."""
        with self.begin(f"recording delivery {delivery_id} refused") as conn:
            conn.execute(DL.update().where(DL.c.id == delivery_id, _in(DL.c.state, REFUSED.source))
                         .values(state=REFUSED.target, error=reason))
            _bounce(conn, subscriber_id, reason)

    def bounce(self, subscriber_id: int, reason: str) -> None:
        """The address cannot receive mail (a refusal, a bounce message, the operator): mail it no more."""
        with self.begin(f"recording subscriber {subscriber_id} bounced") as conn:
            _bounce(conn, subscriber_id, reason)

    def delivery_in_doubt(self, delivery_id: int) -> None:
        """IN_DOUBT: no answer after the message was handed over; sent again, flagged."""
        with self.begin(f"recording delivery {delivery_id} in doubt") as conn:
            conn.execute(DL.update().where(DL.c.id == delivery_id, _in(DL.c.state, IN_DOUBT.source))
                         .values(state=IN_DOUBT.target, in_doubt=True, attempts=DL.c.attempts + 1))

    def ledger_writer(self) -> LedgerWriter:
        """For one thread recording a batch's progress (LedgerWriter.claim and .accepted); close() it after."""
        return LedgerWriter(self)

    def release_delivery(self, delivery_id: int, error: str) -> None:
        """RELEASE: not sent (a temporary failure, or never handed over); back for the next attempt."""
        with self.begin(f"releasing delivery {delivery_id}") as conn:
            conn.execute(DL.update().where(DL.c.id == delivery_id, _in(DL.c.state, RELEASE.source)).values(
                state=RELEASE.target, error=error, attempts=DL.c.attempts + 1))

    def get_delivery(self, delivery_id: int) -> dict[str, Any] | None:
        with self.read("reading a delivery") as conn:
            row = conn.execute(sa.select(DL, RUN.c.period_label, RUN.c.frequency)
                               .join(RUN, RUN.c.id == DL.c.run_id)
                               .where(DL.c.id == delivery_id)).first()
            return row._asdict() if row else None

    def delivery_counts(self) -> dict[str, int]:
        with self.read("counting deliveries") as conn:
            return {state: n for state, n in conn.execute(
                sa.select(DL.c.state, sa.func.count()).group_by(DL.c.state))}

    # -- what digests carry -------------------------------------------------------------

    def releases_between(self, since_seq: int, until_seq: int) -> list[StoredRelease]:
        """Public releases that became public in (since, until], newest first."""
        with self.read("selecting releases for a digest") as conn:
            rows = conn.execute(sa.select(R).where(
                R.c.seq > since_seq, R.c.seq <= until_seq, PUBLIC,
            ).order_by(*release_order(R))).all()
            return [row_to_release(r) for r in rows]

    def releases_by_ids(self, ids: list[str]) -> list[StoredRelease]:
        if not ids:
            return []
        with self.read("reading releases of a digest") as conn:
            rows = {r.id: row_to_release(r) for r in conn.execute(sa.select(R).where(R.c.id.in_(ids)))}
            return [rows[i] for i in ids if i in rows]

    def max_seq(self) -> int:
        with self.read("reading the release sequence") as conn:
            return base.max_seq(conn)


class LedgerWriter:
    """Records a batch's progress for one thread, each step one commit, over a connection kept open.

    Kept rather than checked out per step: a checkout costs PostgreSQL a ping round trip.
    """

    def __init__(self, storage: StorageBase) -> None:
        self.storage = storage
        self._conn: sa.Connection | None = None

    def claim(self, sending: Sequence[tuple[int, str, str]], empty: Sequence[int] = ()) -> set[int]:
        """CLAIM (delivery id, release ids, Message-ID) and NOTHING_NEW for `empty`, in one commit.

        Only rows still `pending` move: one whose reader unsubscribed since it was read, or that
        was deleted with its subscriber, stays as it is. Returns the ids now `sending`: send
        those, and only those.
        """
        if not (sending or empty):
            return set()
        if self.storage.dialect == "postgresql":
            return set(self._autocommit(_PG_CLAIM, {
                "empty": list(empty), "ids": [i for i, _, _ in sending],
                "rids": [r for _, r, _ in sending], "mids": [m for _, _, m in sending]}).scalars())
        with self.storage.begin("marking deliveries sending") as conn:
            if empty:
                conn.execute(_MARK_EMPTY, [{"d_id": i} for i in empty])
            if not sending:
                return set()
            # A row at a time: only its rowcount tells whether this claim moved it.
            return {i for i, r, m in sending
                    if conn.execute(_MARK_SENDING, {"d_id": i, "d_rids": r, "d_mid": m}).rowcount == 1}

    def accepted(self, delivery_ids: Sequence[int], sent_at: dt.datetime) -> None:
        """ACCEPTED: the server took these; one commit (finish_runs() then sets each reader's last digest)."""
        if not delivery_ids:
            return
        if self.storage.dialect == "postgresql":
            self._autocommit(_PG_SENT, {"at": sent_at, "sent": list(delivery_ids)})
            return
        with self.storage.begin(f"marking {len(delivery_ids)} deliveries sent") as conn:
            conn.execute(_MARK_SENT, {"d_ids": list(delivery_ids), "d_at": sent_at})

    def _autocommit(self, statement: sa.TextClause, params: dict[str, Any]) -> sa.CursorResult[Any]:
        try:
            if self._conn is None:
                self._conn = self.storage.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            return self._conn.execute(statement, params)
        except SQLAlchemyError as exc:
            self.close()
            raise StorageError(f"while recording digest deliveries: {exc.__class__.__name__}: {exc}") from exc

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                conn.close()
