"""The confirmation queue: a sign-up queues its email; whichever process drains the queue sends it.

A row is claimed (`sending`, with the time) before its email goes out, so two senders never
send the same one; a claim older than the lease is a dead sender's and is taken again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from ..deliveries import ConfirmationState, QueuedConfirmation
from .base import StorageBase
from .bounces import active as suppressed
from .mail_schema import CONFIRMATIONS as C
from .mail_schema import SUBSCRIBERS as S

QUEUED: tuple[ConfirmationState, ...] = ("pending", "sending")


def void_confirmation_links(conn: sa.Connection, subscriber_id: int, now: dt.datetime) -> None:
    """Inside a confirmation or an unsubscribe: none of the subscriber's confirmation links acts again."""
    conn.execute(C.update().where(C.c.subscriber_id == subscriber_id, C.c.used_at.is_(None)).values(used_at=now))


def confirmation_link_row(conn: sa.Connection, subscriber_id: int, confirmation_id: int | None,
                          signed_before: dt.datetime) -> sa.Row[Any, Any] | None:
    """(id, used_at) of the confirmation email a link was made for, if it is this subscriber's.

    A link made before links named their email (`confirmation_id` None) is taken for the
    subscriber's last email queued before it was signed: the one it was made for.
    """
    q = sa.select(C.c.id, C.c.used_at).where(C.c.subscriber_id == subscriber_id)
    if confirmation_id is not None:
        return conn.execute(q.where(C.c.id == confirmation_id)).first()
    return conn.execute(q.where(C.c.queued_at < signed_before).order_by(C.c.id.desc()).limit(1)).first()


def queue_confirmation(conn: sa.Connection, subscriber_id: int, now: dt.datetime) -> None:
    """Inside the sign-up's transaction: one queued email per subscriber at a time."""
    waiting = conn.execute(sa.select(C.c.id).where(C.c.subscriber_id == subscriber_id,
                                                   C.c.state == "pending")).first()
    if waiting is None:
        conn.execute(C.insert().values(subscriber_id=subscriber_id, state="pending", attempts=0,
                                       queued_at=now))


class ConfirmationsMixin(StorageBase):
    def claim_confirmations(self, now: dt.datetime, *, stale_before: dt.datetime,
                            after_id: int = 0, limit: int = 50) -> list[QueuedConfirmation]:
        """Take up to `limit` queued emails (ids above `after_id`) for this sender: `sending` from now."""
        takeable = sa.or_(C.c.state == "pending",
                          sa.and_(C.c.state == "sending", C.c.claimed_at < stale_before))
        with self.begin("claiming confirmation emails") as conn:
            # A sign-up from a suppressed address is queued like any other (the form tells nobody
            # which addresses are known) and dropped here, never sent.
            conn.execute(C.update().where(C.c.state == "pending", C.c.subscriber_id.in_(
                sa.select(S.c.id).where(suppressed(S.c.email)))).values(state="failed", error="address suppressed"))
            rows = conn.execute(
                sa.select(C.c.id, C.c.subscriber_id, S.c.email, C.c.queued_at, C.c.attempts, S.c.locale)
                .join(S, S.c.id == C.c.subscriber_id)
                .where(takeable, C.c.id > after_id).order_by(C.c.id).limit(limit)).all()
            claimed = []
            for r in rows:
                # Another sender may have taken it since the select: only a row this update moves is ours.
                if conn.execute(C.update().where(C.c.id == r.id, takeable)
                                .values(state="sending", claimed_at=now)).rowcount == 1:
                    claimed.append(QueuedConfirmation(r.id, r.subscriber_id, r.email, r.queued_at, r.attempts,
                                                      r.locale))
            return claimed

    def confirmation_sent(self, confirmation_id: int, now: dt.datetime) -> None:
        self._finish_confirmation(confirmation_id, "sent", sent_at=now)

    def confirmation_failed(self, confirmation_id: int, reason: str) -> None:
        """Refused for good, or too old to be worth sending: never tried again."""
        self._finish_confirmation(confirmation_id, "failed", error=reason)

    def release_confirmation(self, confirmation_id: int, reason: str) -> None:
        """Not sent (a temporary failure, or not reached): back in the queue for the next drain."""
        self._finish_confirmation(confirmation_id, "pending", error=reason, claimed_at=None,
                                  attempts=C.c.attempts + 1)

    def _finish_confirmation(self, confirmation_id: int, state: ConfirmationState,
                             **values: object) -> None:
        with self.begin(f"recording confirmation email {confirmation_id} {state}") as conn:
            conn.execute(C.update().where(C.c.id == confirmation_id, C.c.state == "sending")
                         .values(state=state, **values))

    def confirmation_counts(self) -> dict[str, int]:
        with self.read("counting confirmation emails") as conn:
            return {state: n for state, n in conn.execute(
                sa.select(C.c.state, sa.func.count()).group_by(C.c.state))}
