"""What a bounce or a complaint changes, decided purely: suppressing an address, pausing sending.

- A hard bounce or a complaint suppresses the address at once: the address does not exist, or
  its reader called the mail spam (mailing it again is what mailbox providers punish).
- Soft bounces suppress once 3 different messages to the address soft-bounced within 14 days:
  one full mailbox is a holiday, three in two weeks is an abandoned mailbox.
- Gmail's bulk-sender rules ask senders to keep spam complaints under 0.3% (aim under 0.1%).
  A run whose complaints pass 0.3% of the messages it delivered pauses all sending, but only
  from its second complaint: up to 333 delivered messages a single complaint is already over
  0.3%, and one reader's click would stop an office's whole list; at a healthy 0.1% true
  rate a 300-message run would see a complaint about one time in four (Poisson, mean 0.3),
  and two about one time in 27. Two complaints say the run, not one reader, is the problem.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from .events import BounceKind

SOFT_LIMIT = 3  # soft-bounced messages ...
SOFT_WINDOW = dt.timedelta(days=14)  # ... within this long suppress the address
COMPLAINT_LIMIT = 0.003  # Gmail's ceiling: 0.3% of delivered messages
PAUSE_MIN_COMPLAINTS = 2  # see the module's docstring


@dataclasses.dataclass(frozen=True, slots=True)
class SoftBounce:
    """A soft bounce already recorded for an address."""

    event_id: int
    occurred_at: dt.datetime
    delivery_id: int | None  # the message it was about, when known


def suppression_reason(kind: BounceKind, soft_history: Sequence[SoftBounce], now: dt.datetime,
                       detail: str = "") -> str | None:
    """Why the address is to be suppressed after this event, or None while it may still be mailed.

    `soft_history` holds the address's soft bounces recorded since its last suppression was
    lifted (this event included when it is one). Two reports about one message (a delay warning,
    then the final failure) count as one message.
    """
    said = f": {detail}" if detail else ""
    if kind == "hard":
        return f"hard bounce{said}"
    if kind == "complaint":
        return f"spam complaint{said}"
    recent = [b for b in soft_history if dt.timedelta(0) <= now - b.occurred_at <= SOFT_WINDOW]
    messages = {("delivery", b.delivery_id) if b.delivery_id is not None else ("event", b.event_id)
                for b in recent}
    if len(messages) >= SOFT_LIMIT:
        return f"{len(messages)} soft bounces within {SOFT_WINDOW.days} days{said}"
    return None


@dataclasses.dataclass(frozen=True, slots=True)
class RunRates:
    """A digest run's bounces and complaints against the messages it delivered."""

    run_id: int
    delivered: int  # accepted by the relay
    refused: int  # refused by the relay while sending (a bounce too)
    bounced: int  # messages that bounced after the relay accepted them (hard or soft)
    complaints: int  # messages their reader reported as spam

    @property
    def bounce_rate(self) -> float:
        attempted = self.delivered + self.refused
        return (self.refused + self.bounced) / attempted if attempted else 0.0

    @property
    def complaint_rate(self) -> float:
        return self.complaints / self.delivered if self.delivered else 0.0

    @property
    def over_complaint_limit(self) -> bool:
        return self.complaint_rate > COMPLAINT_LIMIT


def should_pause(rates: RunRates) -> bool:
    """Whether this run's complaints are enough to stop all sending until an operator looks."""
    return rates.complaints >= PAUSE_MIN_COMPLAINTS and rates.over_complaint_limit


def pause_reason(rates: RunRates) -> str:
    return (f"digest run #{rates.run_id}: {rates.complaints} spam complaints for {rates.delivered} delivered "
            f"messages ({rates.complaint_rate:.2%}), over Gmail's {COMPLAINT_LIMIT:.1%} limit")
