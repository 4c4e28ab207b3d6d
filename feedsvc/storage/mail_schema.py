"""The mail's tables: subscribers, digest runs and their delivery ledger, the confirmation queue,
bounces and suppressions. Built on schema.py (Base, UTCDateTime), which holds the releases' tables."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from .schema import Base, UTCDateTime, table_of


class SubscriberRow(Base):
    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # normalised, lower-case domain
    topics: Mapped[str] = mapped_column(Text, default="")  # space-separated slugs; empty = every topic
    frequency: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(16))  # one of subscribers.SUBSCRIBER_STATES
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    confirm_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The release sequence number up to which this subscriber's digests are planned.
    cursor_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_digest_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    bounce_reason: Mapped[str | None] = mapped_column(Text)
    # IANA name the daily and weekly digests are timed in; NULL: FEEDSVC_TIMEZONE (migration 0018).
    time_zone: Mapped[str | None] = mapped_column(String(64))
    # Space-separated BCP 47 tags of the releases they want; empty: every language (migration 0019).
    # No client-side default: an INSERT that does not name it leaves it to the database (as for a
    # schema before 0019, which tests of older migrations write with today's code).
    languages: Mapped[str] = mapped_column(Text, server_default="")
    # The interface language of their emails, from the page they signed up on (migration 0020).
    locale: Mapped[str | None] = mapped_column(String(16))

    # /admin's list: one state, newest first, a page at a time (migration 0011). On PostgreSQL
    # with pg_trgm, 0011 also adds a trigram index (ix_subscribers_email_trgm) for the address search.
    # AUTOINCREMENT (migration 0015): SQLite otherwise hands a deleted last id to the next sign-up,
    # and a link made for the one would name the other (issue 14.2). PostgreSQL's sequences never
    # give a number twice.
    __table_args__ = (Index("ix_subscribers_state_id", "state", "id"), {"sqlite_autoincrement": True})


class DigestRunRow(Base):
    """One digest run. A scheduled run's key names its period, so two clocks make one run."""

    __tablename__ = "digest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)  # "daily:2026-11-23", "manual:…"
    frequency: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(10))  # scheduled | manual
    period_label: Mapped[str] = mapped_column(String(120))
    until_seq: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


_UNCLAIMED = text("state = 'pending' AND claimed_by IS NULL")
_CLAIMED = text("claimed_by IS NOT NULL")


class DeliveryRow(Base):
    """The ledger: one row per (run, subscriber), moved through its states by single commits."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(Integer, ForeignKey("digest_runs.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("subscribers.id", ondelete="CASCADE"), index=True)
    # pending → sending → sent | failed; or empty (nothing new) | skipped (left before sending)
    state: Mapped[str] = mapped_column(String(12))
    since_seq: Mapped[int] = mapped_column(BigInteger)
    until_seq: Mapped[int] = mapped_column(BigInteger)
    release_ids: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str | None] = mapped_column(String(300))
    in_doubt: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # PostgreSQL: the sender session holding this row (its advisory lock's key; storage/digests.py).
    # A `pending` or `sending` row whose owner's lock is gone is recovered by the other senders.
    claimed_by: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        UniqueConstraint("run_id", "subscriber_id", name="uq_deliveries_run_subscriber"),
        Index("ix_deliveries_state", "state", "run_id"),
        # Partial (migration 0022): a reservation reads unclaimed rows in id order and stops after
        # a batch; recovery reads only the rows some sender holds.
        Index("ix_deliveries_unclaimed", "id", postgresql_where=_UNCLAIMED, sqlite_where=_UNCLAIMED),
        Index("ix_deliveries_claimed", "state", "claimed_by", postgresql_where=_CLAIMED, sqlite_where=_CLAIMED),
        {"sqlite_autoincrement": True},  # its id is in "view in browser" links (migration 0015)
    )


class ConfirmationRow(Base):
    """The confirmation queue: a sign-up queues its email here, a sender process sends it."""

    __tablename__ = "confirmations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscriber_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("subscribers.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(12))  # deliveries.ConfirmationState
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    queued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # when a sender took it
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # When its link can no longer confirm: it was used, another of the subscriber's links was,
    # or the subscriber unsubscribed or bounced since (migration 0015). A link acts once.
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    # AUTOINCREMENT: its id is in the confirmation link (migration 0015).
    __table_args__ = (Index("ix_confirmations_state", "state", "id"), {"sqlite_autoincrement": True})


# A bounce that quotes our Message-ID finds its delivery by it (migration 0014). Declared here,
# beside the bounce tables, rather than in DeliveryRow: that class belongs to the ledger.
Index("ix_deliveries_message_id", DeliveryRow.message_id)


class BounceEventRow(Base):
    """A bounce or complaint recorded (issue 16 item 4): one per report and address, whatever brought it.

    (source, event_key, email) is unique: a DSN read twice, or a webhook delivered twice, is one row.
    """

    __tablename__ = "bounce_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(12))  # bounces.events.BounceSource
    event_key: Mapped[str] = mapped_column(String(300))
    email: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(12))  # hard | soft | complaint
    subscriber_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("subscribers.id", ondelete="SET NULL"))
    delivery_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("deliveries.id", ondelete="SET NULL"))
    run_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("digest_runs.id", ondelete="SET NULL"))
    detail: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("source", "event_key", "email", name="uq_bounce_events_key"),
        Index("ix_bounce_events_email", "email", "occurred_at"),
        Index("ix_bounce_events_run", "run_id", "kind"),
    )


class SuppressionRow(Base):
    """An address never mailed while its suppression stands (lifted_at NULL); lifting keeps the row."""

    __tablename__ = "suppressions"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # the event that suppressed it: hard | soft | complaint
    reason: Mapped[str] = mapped_column(Text)
    suppressed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    lifted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_suppressions_active", "lifted_at", "suppressed_at"),)




SUBSCRIBERS = table_of(SubscriberRow)
DIGEST_RUNS = table_of(DigestRunRow)
DELIVERIES = table_of(DeliveryRow)
CONFIRMATIONS = table_of(ConfirmationRow)
BOUNCE_EVENTS = table_of(BounceEventRow)
SUPPRESSIONS = table_of(SuppressionRow)
