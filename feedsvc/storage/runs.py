"""Digest runs as the operator sees them: planned, finished, and their parked deliveries."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from ..deliveries import ACCEPTED, MAX_ATTEMPTS, OPEN_STATES, PARK, UNPARK, ParkedDelivery, RunSummary
from . import base
from .base import StorageBase
from .bounces import active as suppressed
from .mail_schema import DELIVERIES as DL
from .mail_schema import DIGEST_RUNS as RUN
from .mail_schema import SUBSCRIBERS as S

_OPEN_RUN = RUN.c.finished_at.is_(None)
_FINISH_LOCK = 0x66696E69  # "fini": finish_runs, one sender at a time


class RunsMixin(StorageBase):
    def create_run(self, key: str, frequency: str, kind: str, period_label: str,
                   now: dt.datetime, zone: tuple[str, str] | None = None) -> tuple[int, bool]:
        """Make the run named `key` and plan its deliveries, once; (run id, made now).

        `zone`: (zone, default zone): only readers timed in that zone (a NULL zone is the default's).
        """
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
            # in the same transaction, so no later run can plan them again. One INSERT … SELECT and
            # one UPDATE, whatever the count: no reader is loaded here (a list of 100,000 ids bound
            # as parameters passed PostgreSQL's 65,535 and failed the run).
            due = sa.select(
                sa.literal(run_id, sa.Integer), S.c.id, sa.literal("pending"), S.c.cursor_seq,
                sa.literal(until, sa.BigInteger), sa.literal(""), sa.false(), sa.literal(0, sa.Integer),
            ).where(
                S.c.state == "confirmed", S.c.frequency == frequency, S.c.cursor_seq < until,
                ~suppressed(S.c.email),  # a suppressed address is never mailed (storage/bounces.py)
                *([] if zone is None else [sa.func.coalesce(S.c.time_zone, zone[1]) == zone[0]]),
            ).order_by(S.c.id).with_for_update(of=S)
            conn.execute(DL.insert().from_select(
                ["run_id", "subscriber_id", "state", "since_seq", "until_seq", "release_ids", "in_doubt",
                 "attempts"], due))
            conn.execute(S.update().where(S.c.id.in_(sa.select(DL.c.subscriber_id).where(DL.c.run_id == run_id)))
                         .values(cursor_seq=until))
            return int(run_id), True

    def finish_runs(self, now: dt.datetime) -> None:
        """After a batch: each reader's last digest, and the runs with nothing left to send closed."""
        with self.begin("closing finished digest runs") as conn:
            if self.dialect == "postgresql":
                # Several senders finish batches at once: one at a time, or their updates of the
                # same readers' rows, in different orders, deadlock.
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _FINISH_LOCK})
            # Set here for the batch rather than per message: it is only shown, and the send
            # loop's commits are the window in which a crash makes a duplicate.
            # Grouped from the open runs' rows (index on state, run_id): a correlated max() per
            # reader was planned as a scan of every `sent` row per reader (97 s at 340,000).
            batch = (sa.select(DL.c.subscriber_id, sa.func.max(DL.c.sent_at).label("at"))
                     .where(DL.c.state == ACCEPTED.target,
                            DL.c.run_id.in_(sa.select(RUN.c.id).where(_OPEN_RUN)))
                     .group_by(DL.c.subscriber_id).subquery())
            conn.execute(S.update().where(
                S.c.id == batch.c.subscriber_id,
                sa.or_(S.c.last_digest_at.is_(None), S.c.last_digest_at < batch.c.at),
            ).values(last_digest_at=batch.c.at))
            # A parked delivery is not open work: it waits for the operator, not for the clock.
            open_work = sa.exists().where(DL.c.run_id == RUN.c.id, DL.c.state.in_(OPEN_STATES))
            conn.execute(RUN.update().where(_OPEN_RUN, ~open_work).values(finished_at=now))

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
                           count(DL.c.in_doubt.is_(True)).label("in_doubt"),
                           count(DL.c.state == PARK.target).label("parked"))
                 .select_from(newest.outerjoin(DL, DL.c.run_id == newest.c.id))
                 .group_by(*newest.c).order_by(newest.c.id.desc()))
        with self.read("reading digest runs") as conn:
            return [RunSummary(r.id, r.period_label, r.frequency, r.kind, r.created_at, r.finished_at,
                               planned=int(r.planned), sent=int(r.sent), failed=int(r.failed),
                               pending=int(r.pending), empty=int(r.empty), skipped=int(r.skipped),
                               in_doubt=int(r.in_doubt), parked=int(r.parked))
                    for r in conn.execute(query)]

    # -- deliveries that need attention -------------------------------------------------

    def parked_deliveries(self, limit: int = 100) -> list[ParkedDelivery]:
        """Deliveries attempted MAX_ATTEMPTS times and never taken, oldest first."""
        with self.read("reading parked deliveries") as conn:
            rows = conn.execute(
                sa.select(DL.c.id, DL.c.run_id, RUN.c.period_label, S.c.email, DL.c.attempts,
                          DL.c.in_doubt, DL.c.error)
                .join(S, S.c.id == DL.c.subscriber_id).join(RUN, RUN.c.id == DL.c.run_id)
                .where(DL.c.state == PARK.target).order_by(DL.c.id).limit(limit))
            return [ParkedDelivery(r.id, r.run_id, r.period_label, r.email, r.attempts, bool(r.in_doubt), r.error)
                    for r in rows]

    def count_parked(self) -> int:
        with self.read("counting parked deliveries") as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(DL)
                                    .where(DL.c.state == PARK.target)).scalar() or 0)

    def retry_parked(self) -> int:
        """UNPARK every parked delivery for one more attempt (parked again if that fails too)."""
        with self.begin("retrying parked deliveries") as conn:
            runs = sa.select(DL.c.run_id).where(DL.c.state.in_(UNPARK.source)).distinct()
            conn.execute(RUN.update().where(RUN.c.id.in_(runs)).values(finished_at=None))
            return conn.execute(DL.update().where(DL.c.state.in_(UNPARK.source)).values(
                state=UNPARK.target, attempts=MAX_ATTEMPTS - 1, claimed_by=None)).rowcount
