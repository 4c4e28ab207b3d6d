"""Who gets the mail, as data: a subscriber, the states a subscription moves through, how often
they are sent a digest, what a confirmation link can do. Pure, beside model.py (the releases)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Final, Literal, get_args

# instant: each release within 10 minutes of becoming public, several close together in one email.
Frequency = Literal["daily", "weekly", "instant"]
FREQUENCIES: Final[tuple[Frequency, ...]] = get_args(Frequency)

# A digest run is planned by the clock for its period, or asked for by the operator.
RunKind = Literal["scheduled", "manual"]

# A subscriber's life: pending until confirmed; unsubscribed by their own link; bounced when the
# mail server refused the address (or the operator says so).
SubscriberState = Literal["pending", "confirmed", "unsubscribed", "bounced"]
SUBSCRIBER_STATES: Final[tuple[SubscriberState, ...]] = get_args(SubscriberState)


# What a confirmation link can do (issue 14.2): confirm a pending sign-up ("ready", then
# "confirmed"), nothing more once the subscription is confirmed ("already"), nothing at all once
# it was used, replaced or its subscriber left since ("used"), or its subscriber was deleted ("gone").
ConfirmLinkState = Literal["ready", "confirmed", "already", "used", "gone"]


@dataclasses.dataclass(frozen=True, slots=True)
class Subscriber:
    """Someone who gets the email digest."""

    id: int
    email: str
    topics: tuple[str, ...]  # topic slugs; empty means every topic
    frequency: Frequency
    state: SubscriberState
    created_at: dt.datetime
    confirmed_at: dt.datetime | None = None
    last_digest_at: dt.datetime | None = None  # the cut-off of the last digest they were sent
    time_zone: str | None = None  # IANA name their digests are timed in; None: FEEDSVC_TIMEZONE
    languages: tuple[str, ...] = ()  # BCP 47 tags of the releases they want; empty means every language
    locale: str | None = None  # the interface language of their emails; None: FEEDSVC_DEFAULT_LOCALE
