"""Bounces and complaints: the events recorded, the suppression list, runs' rates and the sending pause.

What these statements apply is decided in bounces/policy.py; bounces/processor.py calls them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import sqlalchemy as sa

from ..bounces.policy import RunRates, SoftBounce
from ..deliveries import SKIP
from .base import StorageBase, max_seq
from .mail_schema import BOUNCE_EVENTS as BE
from .mail_schema import CONFIRMATIONS as C
from .mail_schema import DELIVERIES as DL
from .mail_schema import SUBSCRIBERS as S
from .mail_schema import SUPPRESSIONS as SUP
from .schema import META

PAUSE_KEY = "sending_paused"  # meta: the pause in force, JSON; absent while sending runs
_ACKNOWLEDGED = "pause_acknowledged:"  # meta key prefix: runs whose pause an operator lifted


@dataclasses.dataclass(frozen=True, slots=True)
class BounceTarget:
    """Who a bounce is about, as far as the database can tell."""

    email: str | None  # the subscriber's address when found, else the address the report gave
    subscriber_id: int | None = None
    delivery_id: int | None = None
    run_id: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Suppression:
    email: str
    kind: str
    reason: str
    suppressed_at: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class SendingPause:
    """Digests are held: why, since when, and the run whose complaints caused it (if one did).

    `cause`: "complaints" (bounces/policy.py; only an operator's `--resume` or /admin lifts it)
    or "relay" (the relay refused message after message, relay.py; plain `feedsvc digest`
    lifts it too: the operator runs it once the relay is fixed).
    """

    reason: str
    since: dt.datetime
    run_id: int | None = None
    cause: str = "complaints"


def _pause(value: str) -> SendingPause:
    data = json.loads(value)
    return SendingPause(data["reason"], dt.datetime.fromisoformat(data["since"]), data.get("run_id"),
                        data.get("cause", "complaints"))


def active(email: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
    """True where `email` is suppressed now: for the planner's and the confirmation queue's WHERE."""
    return sa.exists().where(SUP.c.email == email, SUP.c.lifted_at.is_(None))


class BouncesMixin(StorageBase):
    # -- who a bounce is about --------------------------------------------------------------

    def bounce_target(self, *, subscriber_id: int | None, delivery_id: int | None, message_id: str | None,
                      address: str | None, occurred_at: dt.datetime, guess_delivery: bool = True) -> BounceTarget:
        """The subscriber and delivery a report names: by token (ids), else by quoted Message-ID, else by
        address. With `guess_delivery` (no token said what was sent), a subscriber found without its
        delivery is given the last one sent to it before the bounce: the digest most likely bounced."""
        with self.read("finding who a bounce is about") as conn:
            row = None
            if delivery_id is not None:
                row = conn.execute(sa.select(DL.c.id, DL.c.run_id, DL.c.subscriber_id)
                                   .where(DL.c.id == delivery_id)).first()
                if row is not None and subscriber_id is not None and row.subscriber_id != subscriber_id:
                    row = None  # a token can only name its own subscriber's delivery
            if row is None and subscriber_id is None and message_id:
                row = conn.execute(sa.select(DL.c.id, DL.c.run_id, DL.c.subscriber_id)
                                   .where(DL.c.message_id == message_id)).first()
            if row is not None:
                subscriber_id = row.subscriber_id
            email = None
            if subscriber_id is not None:
                email = conn.execute(sa.select(S.c.email).where(S.c.id == subscriber_id)).scalar()
            if email is None and address:
                found = conn.execute(sa.select(S.c.id, S.c.email).where(S.c.email == address)).first()
                subscriber_id, email = (found.id, found.email) if found else (None, address)
            if row is None and subscriber_id is not None and guess_delivery:
                row = conn.execute(sa.select(DL.c.id, DL.c.run_id, DL.c.subscriber_id).where(
                    DL.c.subscriber_id == subscriber_id, DL.c.state == "sent", DL.c.sent_at <= occurred_at,
                ).order_by(DL.c.sent_at.desc(), DL.c.id.desc()).limit(1)).first()
            return BounceTarget(email, subscriber_id, row.id if row else None, row.run_id if row else None)

    # -- events -----------------------------------------------------------------------------

    def record_bounce_event(self, *, source: str, key: str, kind: str, target: BounceTarget, detail: str,
                            occurred_at: dt.datetime, now: dt.datetime) -> int | None:
        """Store one event; None when this (source, key, address) was recorded before (read twice)."""
        if target.email is None:
            raise ValueError("a bounce event needs an address")
        stmt = self.insert(BE).values(
            source=source, event_key=key[:300], email=target.email, kind=kind, subscriber_id=target.subscriber_id,
            delivery_id=target.delivery_id, run_id=target.run_id, detail=detail, occurred_at=occurred_at,
            recorded_at=now).on_conflict_do_nothing(index_elements=["source", "event_key", "email"])
        with self.begin(f"recording a {kind} bounce of {target.email}") as conn:
            new_id = conn.execute(stmt.returning(BE.c.id)).scalar()
            return int(new_id) if new_id is not None else None

    def soft_bounces(self, email: str, since: dt.datetime) -> list[SoftBounce]:
        """The address's soft bounces since `since`, and since its suppression was last lifted."""
        lifted = sa.select(SUP.c.lifted_at).where(SUP.c.email == email).scalar_subquery()
        with self.read("reading soft bounces") as conn:
            rows = conn.execute(sa.select(BE.c.id, BE.c.occurred_at, BE.c.delivery_id).where(
                BE.c.email == email, BE.c.kind == "soft", BE.c.occurred_at >= since,
                sa.or_(lifted.is_(None), BE.c.recorded_at > lifted)).order_by(BE.c.id))
            return [SoftBounce(r.id, r.occurred_at, r.delivery_id) for r in rows]

    def bounce_event_counts(self) -> dict[str, int]:
        with self.read("counting bounce events") as conn:
            return {kind: n for kind, n in conn.execute(
                sa.select(BE.c.kind, sa.func.count()).group_by(BE.c.kind))}

    # -- the suppression list ---------------------------------------------------------------

    def suppress(self, email: str, kind: str, reason: str, now: dt.datetime) -> bool:
        """Never mail `email` again until lifted; True when this suppressed it (it was not already).

        Its subscriber stops at once, in the same transaction: a bounce makes it `bounced`, a
        complaint `unsubscribed` (the reader said they do not want this mail); its planned digests
        are skipped and its queued confirmation email dropped.
        """
        with self.begin(f"suppressing {email}") as conn:
            row = conn.execute(sa.select(SUP.c.lifted_at).where(SUP.c.email == email)).first()
            if row is not None and row.lifted_at is None:
                return False
            values = {"kind": kind, "reason": reason[:1000], "suppressed_at": now, "lifted_at": None}
            if row is None:
                conn.execute(SUP.insert().values(email=email, **values))
            else:
                conn.execute(SUP.update().where(SUP.c.email == email).values(**values))
            sub = conn.execute(sa.select(S.c.id).where(S.c.email == email)).scalar()
            if sub is not None:
                leaving: dict[str, Any] = ({"state": "unsubscribed", "unsubscribed_at": now} if kind == "complaint"
                                           else {"state": "bounced", "bounce_reason": reason[:1000]})
                conn.execute(S.update().where(S.c.id == sub, S.c.state.in_(("pending", "confirmed")))
                             .values(**leaving))
                conn.execute(DL.update().where(DL.c.subscriber_id == sub, DL.c.state.in_(SKIP.source))
                             .values(state=SKIP.target))
                conn.execute(C.update().where(C.c.subscriber_id == sub, C.c.state == "pending")
                             .values(state="failed", error=f"address suppressed: {reason[:200]}"))
                # Nor does any confirmation link of theirs act again (issue 14.2), as after an unsubscribe.
                conn.execute(C.update().where(C.c.subscriber_id == sub, C.c.used_at.is_(None)).values(used_at=now))
            return True

    def lift_suppression(self, email: str, now: dt.datetime) -> bool:
        """Let `email` be mailed again; True when it was suppressed.

        A subscriber the suppression had bounced after confirming is confirmed again, its digests
        starting with what is published from now on; an unsubscribed one (a complaint) stays so
        until they sign up again, which is now no longer refused.
        """
        with self.begin(f"lifting the suppression of {email}") as conn:
            done = conn.execute(SUP.update().where(SUP.c.email == email, SUP.c.lifted_at.is_(None))
                                .values(lifted_at=now)).rowcount
            if done:
                conn.execute(S.update().where(S.c.email == email, S.c.state == "bounced",
                                              S.c.confirmed_at.is_not(None))
                             .values(state="confirmed", bounce_reason=None, cursor_seq=max_seq(conn)))
            return bool(done)

    def is_suppressed(self, email: str) -> bool:
        with self.read("reading the suppression list") as conn:
            return bool(conn.execute(sa.select(active(sa.literal(email)))).scalar())

    def suppressions(self, *, limit: int = 100, offset: int = 0) -> list[Suppression]:
        """The addresses suppressed now, most recent first."""
        with self.read("reading the suppression list") as conn:
            rows = conn.execute(sa.select(SUP.c.email, SUP.c.kind, SUP.c.reason, SUP.c.suppressed_at)
                                .where(SUP.c.lifted_at.is_(None))
                                .order_by(SUP.c.suppressed_at.desc(), SUP.c.email).limit(limit).offset(offset))
            return [Suppression(r.email, r.kind, r.reason, r.suppressed_at) for r in rows]

    def count_suppressions(self) -> int:
        with self.read("counting suppressed addresses") as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(SUP)
                                    .where(SUP.c.lifted_at.is_(None))).scalar() or 0)

    # -- runs' rates ------------------------------------------------------------------------

    def run_rates(self, run_ids: list[int]) -> dict[int, RunRates]:
        """Delivered, refused, bounced and complained-of messages per run (each address counted once)."""
        if not run_ids:
            return {}

        def per_run(*where: sa.ColumnElement[bool]) -> dict[int, int]:
            q = (sa.select(BE.c.run_id, sa.func.count(sa.distinct(BE.c.email)))
                 .where(BE.c.run_id.in_(run_ids), *where).group_by(BE.c.run_id))
            return {run: n for run, n in conn.execute(q)}

        with self.read("reading runs' bounce and complaint rates") as conn:
            states = conn.execute(sa.select(DL.c.run_id, DL.c.state, sa.func.count())
                                  .where(DL.c.run_id.in_(run_ids), DL.c.state.in_(("sent", "failed")))
                                  .group_by(DL.c.run_id, DL.c.state)).all()
            bounced = per_run(BE.c.kind.in_(("hard", "soft")))
            complaints = per_run(BE.c.kind == "complaint")
        counts = {(run, state): n for run, state, n in states}
        return {run: RunRates(run, counts.get((run, "sent"), 0), counts.get((run, "failed"), 0),
                              bounced.get(run, 0), complaints.get(run, 0)) for run in run_ids}

    # -- the sending pause ------------------------------------------------------------------

    def sending_pause(self) -> SendingPause | None:
        """The pause in force, or None while digests may go out."""
        with self.read("reading whether sending is paused") as conn:
            value = conn.execute(sa.select(META.c.value).where(META.c.key == PAUSE_KEY)).scalar()
        return None if value is None else _pause(value)

    def pause_sending(self, reason: str, now: dt.datetime, run_id: int | None = None, *,
                      cause: str = "complaints") -> bool:
        """Hold every digest until resume_sending(); False when sending was already paused (kept as it was)."""
        value = json.dumps({"reason": reason, "since": now.astimezone(dt.UTC).isoformat(), "run_id": run_id,
                            "cause": cause})
        stmt = self.insert(META).values(key=PAUSE_KEY, value=value).on_conflict_do_nothing(index_elements=["key"])
        with self.begin("pausing sending") as conn:
            return bool(conn.execute(stmt).rowcount)

    def resume_sending(self) -> SendingPause | None:
        """Lift the pause (the one lifted, or None). The run that caused it will not pause sending again:
        an operator has looked at it."""
        with self.begin("resuming sending") as conn:
            value = conn.execute(sa.select(META.c.value).where(META.c.key == PAUSE_KEY)).scalar()
            if value is None:
                return None
            conn.execute(sa.delete(META).where(META.c.key == PAUSE_KEY))
            pause = _pause(value)
            if pause.run_id is not None:
                self.upsert(conn, META, {"key": f"{_ACKNOWLEDGED}{pause.run_id}", "value": pause.since.isoformat()},
                            ("key",))
        return pause

    def pause_acknowledged(self, run_id: int) -> bool:
        with self.read("reading acknowledged pauses") as conn:
            key = f"{_ACKNOWLEDGED}{run_id}"
            return conn.execute(sa.select(META.c.key).where(META.c.key == key)).first() is not None
