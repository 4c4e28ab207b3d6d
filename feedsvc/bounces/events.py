"""A bounce or a complaint as read from a DSN, an ARF report or a webhook: one address, one event."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Final, Literal, get_args

from .verp import ReturnToken

# hard: the address does not exist or refuses for good; soft: a failure that may pass (mailbox
# full, greylisted, delayed); complaint: the reader marked the message as spam.
BounceKind = Literal["hard", "soft", "complaint"]
BOUNCE_KINDS: Final[tuple[BounceKind, ...]] = get_args(BounceKind)

# Where it came from: the bounce mailbox, a webhook, or the relay's refusal while sending.
BounceSource = Literal["mailbox", "ses", "postmark", "smtp"]


@dataclasses.dataclass(frozen=True, slots=True)
class BounceReport:
    """One address's bounce or complaint, before it is matched to a subscriber."""

    source: BounceSource
    # What makes it the same event when read twice: the report's own Message-ID (the mailbox),
    # SES's feedbackId, Postmark's record ID. Stored with the address, unique.
    key: str
    kind: BounceKind
    address: str | None  # the address the report names, lower-cased; None when it names none
    detail: str  # status and diagnostic, as the operator should see them
    occurred_at: dt.datetime | None = None  # when the report says it happened (aware UTC)
    token: ReturnToken | None = None  # our VERP token, when the report carried one back
    message_id: str | None = None  # the Message-ID of our message that bounced, when the report quotes it

