"""The delivery ledger and the confirmation queue as data: states, named transitions, records.

Beside model.py (which it builds on) and, like it, pure: nothing here touches a database.
storage/digests.py and storage/confirmations.py apply these transitions; runs/ decides them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Literal

from .states import Transition
from .subscribers import Frequency

# A digest delivery's states. `in doubt` is not a state but a flag on a `pending` row: the server
# may already have that message, so its subscriber may get it twice. `parked`: attempted
# MAX_ATTEMPTS times without the server taking it; it waits for the operator (/admin), never
# for the clock, so a message the server keeps half-taking is not sent again every minute.
DeliveryState = Literal["pending", "sending", "sent", "empty", "failed", "skipped", "parked"]
OPEN_STATES: tuple[DeliveryState, ...] = ("pending", "sending")  # a run with any of these is not finished
# Hand-overs a delivery may have before it is parked (issue 14.4): each answer that was not an
# acceptance or a refusal for good (in doubt, a 4xx for this recipient) and each send a dead
# sender left unanswered counts one. A relay that cannot be reached, or a run stopped before the
# message went, counts none.
MAX_ATTEMPTS = 3


@dataclasses.dataclass(frozen=True)
class LedgerStep(Transition[DeliveryState]):
    """One named transition of a delivery: a row in one of `source` moves to `target`."""

    in_doubt: bool = False  # the row is flagged: the message may have reached its subscriber


# Every transition of the ledger, each named once; storage/digests.py applies them, runs/ decides.
CLAIM = LedgerStep("claim", ("pending",), "sending")  # rendered, about to go to the server
NOTHING_NEW = LedgerStep("nothing new", ("pending",), "empty")  # no release for this subscriber
ACCEPTED = LedgerStep("accepted", ("sending",), "sent")  # the server took it (250 after DATA)
REFUSED = LedgerStep("refused", ("sending",), "failed")  # refused for good (5xx): a bounce
RELEASE = LedgerStep("release", ("sending",), "pending")  # not sent: a temporary failure, or never handed over
IN_DOUBT = LedgerStep("in doubt", ("sending",), "pending", in_doubt=True)  # no answer after DATA, or a dead sender's
SKIP = LedgerStep("skip", ("pending",), "skipped")  # its subscriber left (unsubscribe, bounce) before it went
# RELEASE or IN_DOUBT for the MAX_ATTEMPTS-th time: parked, "needs attention" on /admin.
PARK = LedgerStep("park", ("sending",), "parked")
UNPARK = LedgerStep("retry parked", ("parked",), "pending")  # the operator: `feedsvc digest --retry-parked`


@dataclasses.dataclass(frozen=True)
class Delivery:
    """One planned digest: a subscriber's releases (since_seq, until_seq] in one run."""

    id: int
    run_id: int
    subscriber_id: int
    email: str
    topics: tuple[str, ...]
    frequency: Frequency
    period_label: str
    since_seq: int
    until_seq: int
    in_doubt: bool
    attempts: int
    # The Message-ID its first hand-over carried (committed with the CLAIM, before SMTP): every
    # resend carries it again, so a receiver that deduplicates shows one message.
    message_id: str | None = None
    languages: tuple[str, ...] = ()  # the reader's languages (issue 17 item 2); empty: every language
    locale: str | None = None  # the subscriber's interface language (None: FEEDSVC_DEFAULT_LOCALE)


# A queued confirmation email (double opt-in): sent by whichever process drains the queue.
ConfirmationState = Literal["pending", "sending", "sent", "failed"]


@dataclasses.dataclass(frozen=True, slots=True)
class QueuedConfirmation:
    """A confirmation email to send: claimed from the queue, its subscriber read with it."""

    id: int
    subscriber_id: int
    email: str
    queued_at: dt.datetime
    attempts: int
    locale: str | None = None  # the subscriber's (None: FEEDSVC_DEFAULT_LOCALE)


@dataclasses.dataclass(frozen=True)
class RunSummary:
    """A digest run and its deliveries counted by where they stand (for /admin)."""

    id: int
    period_label: str
    frequency: str
    kind: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    planned: int  # every delivery the run planned: the states below add up to it
    sent: int
    failed: int
    pending: int  # still to send, `sending` included
    empty: int  # nothing new for that reader
    skipped: int  # unsubscribed or bounced before it went
    in_doubt: int  # resent after a crash, so possibly received twice (also counted above)
    parked: int = 0  # attempted MAX_ATTEMPTS times: needs the operator


@dataclasses.dataclass(frozen=True)
class ParkedDelivery:
    """A delivery that needs attention (/admin): attempted MAX_ATTEMPTS times, never taken."""

    id: int
    run_id: int
    period_label: str
    email: str
    attempts: int
    in_doubt: bool
    error: str | None
