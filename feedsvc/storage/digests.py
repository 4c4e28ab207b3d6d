"""The delivery ledger: what makes each digest go out exactly once (the runs themselves: runs.py)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from ..deliveries import (
    ACCEPTED,
    CLAIM,
    IN_DOUBT,
    MAX_ATTEMPTS,
    NOTHING_NEW,
    PARK,
    REFUSED,
    RELEASE,
    SKIP,
    Delivery,
)
from ..model import StorageError, StoredRelease
from . import base
from .base import StorageBase
from .mail_schema import DELIVERIES as DL
from .mail_schema import DIGEST_RUNS as RUN
from .mail_schema import SUBSCRIBERS as S
from .reading import PUBLIC, release_order, row_to_release
from .schema import RELEASES as R
from .schema import UTCDateTime


def in_states(column: sa.ColumnElement[str], states: tuple[str, ...]) -> sa.ColumnElement[bool]:
    return column == states[0] if len(states) == 1 else column.in_(states)


def _sql_states(states: tuple[str, ...]) -> str:
    return ", ".join(f"'{state}'" for state in states)  # our own Literal names, never input


# The per-message ledger statements, built once: constructing them per call cost more than the
# database's own work (≈0.1 ms a message, in the one thread that feeds every SMTP connection).
# A delivery keeps the Message-ID of its first hand-over (the renderer reuses it; COALESCE makes sure).
_MARK_SENDING = DL.update().where(DL.c.id == sa.bindparam("d_id"), in_states(DL.c.state, CLAIM.source)).values(
    state=CLAIM.target, release_ids=sa.bindparam("d_rids"),
    message_id=sa.func.coalesce(DL.c.message_id, sa.bindparam("d_mid")))
_MARK_EMPTY = DL.update().where(DL.c.id == sa.bindparam("d_id"), in_states(DL.c.state, NOTHING_NEW.source)).values(
    state=NOTHING_NEW.target)
_MARK_SENT = DL.update().where(DL.c.id.in_(sa.bindparam("d_ids", expanding=True)),
                               in_states(DL.c.state, ACCEPTED.source)).values(
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
UPDATE deliveries AS d SET state = '{CLAIM.target}', release_ids = v.rids,
    message_id = COALESCE(d.message_id, v.mid)
FROM unnest(CAST(:ids AS integer[]), CAST(:rids AS text[]), CAST(:mids AS text[])) AS v(id, rids, mid)
WHERE d.id = v.id AND d.state IN ({_sql_states(CLAIM.source)})
    AND d.claimed_by IS NOT DISTINCT FROM CAST(:owner AS integer)
RETURNING d.id
""")


def row_to_delivery(r: Any) -> Delivery:
    return Delivery(r.id, r.run_id, r.subscriber_id, r.email, tuple(r.topics.split()) if r.topics else (),
                    r.frequency, r.period_label, r.since_seq, r.until_seq, bool(r.in_doubt), r.attempts,
                    r.message_id, tuple((getattr(r, "languages", None) or "").split()),
                    getattr(r, "locale", None))


def _bounce(conn: sa.Connection, subscriber_id: int, reason: str) -> None:
    conn.execute(S.update().where(S.c.id == subscriber_id).values(state="bounced", bounce_reason=reason))
    # Left `pending`, its deliveries would never be sent (senders read confirmed subscribers'
    # rows only) yet keep their runs open and the clock resuming them every minute.
    conn.execute(DL.update().where(DL.c.subscriber_id == subscriber_id, in_states(DL.c.state, SKIP.source))
                 .values(state=SKIP.target))


def failed_attempt(**values: Any) -> dict[str, Any]:
    """RELEASE or IN_DOUBT counting one attempt: the MAX_ATTEMPTS-th PARKs the delivery instead."""
    parked = DL.c.attempts + 1 >= MAX_ATTEMPTS
    return values | {"attempts": DL.c.attempts + 1,
                     "state": sa.case((parked, PARK.target), else_=values["state"])}


def _parked(state: str | None) -> bool:
    return state == PARK.target


class DigestsMixin(StorageBase):
    # -- the ledger ---------------------------------------------------------------------

    def pending_deliveries(self, after_id: int = 0, limit: int = 500) -> list[Delivery]:
        """Deliveries to send now: pending, of a confirmed reader (the one sender's pages; on
        PostgreSQL senders reserve theirs instead: storage/senders.py)."""
        with self.read("reading the delivery ledger") as conn:
            rows = conn.execute(
                sa.select(DL.c.id, DL.c.run_id, DL.c.subscriber_id, S.c.email, S.c.topics,
                          S.c.frequency, RUN.c.period_label, DL.c.since_seq, DL.c.until_seq,
                          DL.c.in_doubt, DL.c.attempts, DL.c.message_id, S.c.languages,
                          S.c.locale)
                .join(S, S.c.id == DL.c.subscriber_id).join(RUN, RUN.c.id == DL.c.run_id)
                .where(DL.c.state == CLAIM.source[0], DL.c.id > after_id, S.c.state == "confirmed")
                .order_by(DL.c.id).limit(limit)).all()
            return [row_to_delivery(r) for r in rows]

    def count_pending(self) -> int:
        with self.read("counting pending deliveries") as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(DL)
                                    .where(DL.c.state == "pending")).scalar() or 0)

    def delivery_refused(self, delivery_id: int, subscriber_id: int, reason: str) -> None:
        """REFUSED: the server refused it for good; the address is bounced and its other digests skipped."""
        with self.begin(f"recording delivery {delivery_id} refused") as conn:
            conn.execute(DL.update().where(DL.c.id == delivery_id, in_states(DL.c.state, REFUSED.source))
                         .values(state=REFUSED.target, error=reason))
            _bounce(conn, subscriber_id, reason)

    def bounce(self, subscriber_id: int, reason: str) -> None:
        """The address cannot receive mail (a refusal, a bounce message, the operator): mail it no more."""
        with self.begin(f"recording subscriber {subscriber_id} bounced") as conn:
            _bounce(conn, subscriber_id, reason)

    def delivery_in_doubt(self, delivery_id: int, reason: str = "") -> bool:
        """IN_DOUBT: no answer after the message was handed over; sent again, flagged. True: PARKed instead."""
        with self.begin(f"recording delivery {delivery_id} in doubt") as conn:
            return _parked(conn.execute(
                DL.update().where(DL.c.id == delivery_id, in_states(DL.c.state, IN_DOUBT.source))
                .values(**failed_attempt(state=IN_DOUBT.target, in_doubt=True,
                                          error=f"in doubt: {reason}" if reason else "in doubt"))
                .returning(DL.c.state)).scalar())

    def ledger_writer(self, owner: int | None = None) -> LedgerWriter:
        """For one thread recording a batch's progress (LedgerWriter.claim and .accepted); close() it after.

        `owner`: the sender session (storage/senders.py) whose reserved rows it may CLAIM.
        """
        return LedgerWriter(self, owner)

    def release_delivery(self, delivery_id: int, error: str, *, attempted: bool = True) -> bool:
        """RELEASE: not sent; back for the next attempt.

        `attempted`: the server answered for this message (a 4xx to its recipient), which counts
        an attempt (the MAX_ATTEMPTS-th PARKs it). Never handed over, or refused by a failing
        relay or an unreachable server, it counts none: the fault is not the delivery's. True: PARKed.
        """
        values: dict[str, Any] = {"state": RELEASE.target, "error": error}
        with self.begin(f"releasing delivery {delivery_id}") as conn:
            return _parked(conn.execute(
                DL.update().where(DL.c.id == delivery_id, in_states(DL.c.state, RELEASE.source))
                .values(**(failed_attempt(**values) if attempted else values)).returning(DL.c.state)).scalar())

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

    def __init__(self, storage: StorageBase, owner: int | None = None) -> None:
        self.storage, self.owner = storage, owner
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
            # Only rows this sender reserved: one a peer recovered (this session's lock seemed
            # gone) is the peer's now, and is not sent twice from here.
            return set(self._autocommit(_PG_CLAIM, {
                "owner": self.owner, "empty": list(empty), "ids": [i for i, _, _ in sending],
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
