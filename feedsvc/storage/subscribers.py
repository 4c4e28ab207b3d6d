"""Subscribers: double opt-in, preferences, unsubscribes and bounces."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from ..deliveries import SKIP
from ..subscribers import ConfirmLinkState, Subscriber
from .base import StorageBase, max_seq
from .confirmations import confirmation_link_row, queue_confirmation, void_confirmation_links
from .mail_schema import DELIVERIES as DL
from .mail_schema import SUBSCRIBERS as S
from .reading import PUBLIC
from .schema import RELEASES as R

# At most one confirmation email an hour to one address, so the form cannot be used to flood anyone.
CONFIRMATION_INTERVAL = dt.timedelta(hours=1)


def row_to_subscriber(row: Any) -> Subscriber:
    return Subscriber(
        id=row.id, email=row.email, topics=tuple(row.topics.split()) if row.topics else (),
        frequency=row.frequency, state=row.state, created_at=row.created_at,
        confirmed_at=row.confirmed_at, last_digest_at=row.last_digest_at,
        time_zone=getattr(row, "time_zone", None),
        languages=tuple((getattr(row, "languages", None) or "").split()),
        locale=getattr(row, "locale", None))


def _aware(value: dt.datetime | str) -> dt.datetime:
    if isinstance(value, str):  # SQLite aggregates lose the column type
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


class SubscribersMixin(StorageBase):
    def subscribe(self, email: str, topics: Sequence[str], frequency: str,
                  now: dt.datetime, time_zone: str | None = None,
                  languages: Sequence[str] | None = None, *,
                  locale: str | None = None) -> tuple[Subscriber, bool]:
        """Record a sign-up; True when its confirmation email was queued (storage/confirmations.py).

        A confirmed address is left as it is (its preferences change only through its own link),
        and the caller answers the same either way, so the form tells nobody who is subscribed.
        """
        with self.begin(f"subscribing {email}") as conn:
            row = conn.execute(sa.select(S).where(S.c.email == email)).first()
            values: dict[str, Any] = {"topics": " ".join(topics), "frequency": frequency}
            if time_zone is not None:  # None: the default zone for a new row, theirs kept for an old one
                values["time_zone"] = time_zone
            if languages is not None:  # checked tags; empty: every language
                values["languages"] = " ".join(languages)
            if locale is not None:  # the language of the page they signed up on: their emails'
                values["locale"] = locale
            if row is None:
                conn.execute(S.insert().values(email=email, state="pending", created_at=now,
                                               confirm_sent_at=now, cursor_seq=0, **values))
                send = True
            elif row.state == "confirmed":
                send = False
                # A write all the same: every answer to the form then costs one committed write
                # (SQLite's commit of a write is most of a sign-up's time), whatever the state.
                conn.execute(S.update().where(S.c.id == row.id).values(state=row.state))
            else:
                send = row.confirm_sent_at is None or now - row.confirm_sent_at >= CONFIRMATION_INTERVAL
                update: dict[str, Any] = dict(values, state="pending")
                if send:
                    update["confirm_sent_at"] = now
                conn.execute(S.update().where(S.c.id == row.id).values(**update))
            sub = conn.execute(sa.select(S).where(S.c.email == email)).one()
            if send:
                queue_confirmation(conn, sub.id, now)
            return row_to_subscriber(sub), send

    def confirm_link_state(self, subscriber_id: int, confirmation_id: int | None,
                           signed_at: dt.datetime) -> ConfirmLinkState:
        """What a confirmation link would do now (its GET page shows it; only a POST acts)."""
        with self.read("reading a confirmation link") as conn:
            return _link_state(conn, subscriber_id, confirmation_id, signed_at)

    def confirm_by_link(self, subscriber_id: int, confirmation_id: int | None, signed_at: dt.datetime,
                        now: dt.datetime) -> ConfirmLinkState:
        """Confirm the sign-up a link was made for, once: "confirmed", or why not (subscribers.ConfirmLinkState).

        Every confirmation link of the subscriber stops working with it, as they do when the
        subscriber unsubscribes: an old link never subscribes anyone again.
        """
        with self.begin("confirming a subscription") as conn:
            state = _link_state(conn, subscriber_id, confirmation_id, signed_at)
            if state != "ready":
                return state
            conn.execute(S.update().where(S.c.id == subscriber_id, S.c.state == "pending").values(
                state="confirmed", confirmed_at=now, unsubscribed_at=None, bounce_reason=None,
                cursor_seq=max_seq(conn)))
            void_confirmation_links(conn, subscriber_id, now)
            return "confirmed"

    def add_confirmed(self, email: str, topics: Sequence[str], frequency: str,
                      now: dt.datetime, time_zone: str | None = None,
                      languages: Sequence[str] | None = None, locale: str | None = None) -> bool:
        """Add (or update) an address whose consent the office already holds; True when new.

        `time_zone`: an IANA name checked by the caller (zones.checked_zone); None keeps theirs,
        as do None `languages` and `locale` (one of locales.LOCALES, checked by the caller).
        """
        with self.begin(f"adding {email}") as conn:
            row = conn.execute(sa.select(S.c.id, S.c.state).where(S.c.email == email)).first()
            values: dict[str, Any] = {"topics": " ".join(topics), "frequency": frequency}
            if time_zone is not None:
                values["time_zone"] = time_zone
            if languages is not None:
                values["languages"] = " ".join(languages)
            if locale is not None:
                values["locale"] = locale
            if row is None:
                conn.execute(S.insert().values(email=email, state="confirmed", created_at=now,
                                               confirmed_at=now, cursor_seq=max_seq(conn),
                                               **values))
                return True
            if row.state != "confirmed":
                values |= {"state": "confirmed", "confirmed_at": now, "unsubscribed_at": None,
                           "bounce_reason": None, "cursor_seq": max_seq(conn)}
            conn.execute(S.update().where(S.c.id == row.id).values(**values))
            return False

    def set_preferences(self, subscriber_id: int, topics: Sequence[str], frequency: str,
                        time_zone: str | None = None, languages: Sequence[str] | None = None,
                        locale: str | None = None) -> None:
        """`time_zone`: an IANA name checked by the caller; None keeps theirs (so do `languages`, `locale`).

        `locale`: one of locales.LOCALES, the language of their emails from the next one on.
        """
        values: dict[str, Any] = {"topics": " ".join(topics), "frequency": frequency}
        if time_zone is not None:
            values["time_zone"] = time_zone
        if languages is not None:
            values["languages"] = " ".join(languages)
        if locale is not None:
            values["locale"] = locale
        with self.begin("changing preferences") as conn:
            conn.execute(S.update().where(S.c.id == subscriber_id).values(**values))

    def instant_backlog(self) -> tuple[dt.datetime, dt.datetime] | None:
        """When the oldest and newest public release no instant reader has had yet became public.

        `first_seen` is that instant (a lifted embargo's is its lift); a scan sets it back by a
        second a release for feed order, which only makes the oldest look older: sent sooner.
        """
        with self.read("reading what instant readers wait for") as conn:
            behind = sa.select(sa.func.min(S.c.cursor_seq)).where(
                S.c.state == "confirmed", S.c.frequency == "instant").scalar_subquery()
            row = conn.execute(sa.select(sa.func.min(R.c.first_seen), sa.func.max(R.c.first_seen))
                               .where(PUBLIC, R.c.seq > behind)).one()
            if row[0] is None:
                return None
            return _aware(row[0]), _aware(row[1])

    def subscriber_zones(self) -> set[str]:
        """The time zones confirmed daily or weekly readers chose (NULL, the default, left out)."""
        with self.read("reading subscribers' time zones") as conn:
            return {z for (z,) in conn.execute(sa.select(S.c.time_zone).distinct().where(
                S.c.state == "confirmed", S.c.time_zone.is_not(None), S.c.frequency.in_(("daily", "weekly"))))}

    def unsubscribe(self, subscriber_id: int, now: dt.datetime) -> bool:
        """Stop every email to this subscriber at once, planned ones included; True if it was on."""
        with self.begin("unsubscribing") as conn:
            done = conn.execute(S.update().where(
                S.c.id == subscriber_id, S.c.state.in_(("pending", "confirmed"))).values(
                state="unsubscribed", unsubscribed_at=now)).rowcount
            conn.execute(DL.update().where(DL.c.subscriber_id == subscriber_id,
                                           DL.c.state.in_(SKIP.source)).values(state=SKIP.target))
            void_confirmation_links(conn, subscriber_id, now)
            return bool(done)

    def remove_subscriber(self, email: str) -> bool:
        """Forget an address entirely (its ledger rows go with it)."""
        with self.begin(f"removing {email}") as conn:
            return bool(conn.execute(S.delete().where(S.c.email == email)).rowcount)

    def get_subscriber(self, subscriber_id: int) -> Subscriber | None:
        with self.read("reading a subscriber") as conn:
            row = conn.execute(sa.select(S).where(S.c.id == subscriber_id)).first()
            return row_to_subscriber(row) if row else None

    def get_subscriber_by_email(self, email: str) -> Subscriber | None:
        with self.read("reading a subscriber") as conn:
            row = conn.execute(sa.select(S).where(S.c.email == email)).first()
            return row_to_subscriber(row) if row else None

    def iter_subscribers(self, state: str | None = None) -> Iterator[Subscriber]:
        with self.read("listing subscribers") as conn:
            q = sa.select(S).order_by(S.c.id)
            if state:
                q = q.where(S.c.state == state)
            for row in conn.execution_options(yield_per=1000).execute(q):
                yield row_to_subscriber(row)

    def subscriber_cursor(self, subscriber_id: int) -> int:
        with self.read("reading a subscriber") as conn:
            return int(conn.execute(sa.select(S.c.cursor_seq).where(S.c.id == subscriber_id)).scalar() or 0)

    def subscriber_counts(self) -> dict[str, int]:
        with self.read("counting subscribers") as conn:
            return {state: n for state, n in conn.execute(
                sa.select(S.c.state, sa.func.count()).group_by(S.c.state))}

    # -- the operator's list (/admin) ---------------------------------------------------

    def count_subscribers_by_state(self, address: str = "") -> dict[str, int]:
        """Subscribers per state whose address contains `address` (any case; % and _ are literal)."""
        with self.read("counting subscribers") as conn:
            return {state: n for state, n in conn.execute(
                sa.select(S.c.state, sa.func.count()).where(*_matching(self.dialect, address))
                .group_by(S.c.state))}

    def find_subscribers(self, address: str = "", state: str | None = None, *,
                         limit: int, offset: int = 0) -> list[Subscriber]:
        """One page of subscribers, newest first, by address substring and state (as counted above)."""
        with self.read("listing subscribers") as conn:
            # Newest first by id: the primary key (or, with a state, ix_subscribers_state_id)
            # walks straight to the page instead of sorting every match.
            rows = conn.execute(sa.select(S).where(*_matching(self.dialect, address, state))
                                .order_by(S.c.id.desc()).limit(limit).offset(offset))
            return [row_to_subscriber(r) for r in rows]


def _link_state(conn: sa.Connection, subscriber_id: int, confirmation_id: int | None,
                signed_at: dt.datetime) -> ConfirmLinkState:
    state = conn.execute(sa.select(S.c.state).where(S.c.id == subscriber_id)).scalar()
    if state is None:
        return "gone"
    if state == "confirmed":
        return "already"
    # Links carry whole seconds: an email queued within the second its link was signed is before it.
    row = confirmation_link_row(conn, subscriber_id, confirmation_id, signed_at + dt.timedelta(seconds=1))
    if row is None or row.used_at is not None or state != "pending":
        return "used"
    return "ready"


def _matching(dialect: str, address: str, state: str | None = None) -> list[sa.ColumnElement[bool]]:
    where = []
    if address:
        # autoescape: an operator searching for "a_b" or "100%" means those characters. SQLite's
        # LIKE already ignores ASCII case (as its lower() does), and is twice as fast without it;
        # PostgreSQL's ILIKE is what the trigram index of migration 0012 serves.
        where.append(S.c.email.contains(address, autoescape=True) if dialect == "sqlite"
                     else S.c.email.icontains(address, autoescape=True))
    if state:
        where.append(S.c.state == state)
    return where
