"""What became of a message, and the two errors that stop sending: shared by every mailer."""

from __future__ import annotations

import dataclasses
from typing import Literal

from feedsvc.model import FeedsvcError

SendStatus = Literal["accepted", "permanent_failure", "in_doubt"]


class MailerError(FeedsvcError):
    """Sending cannot go on: credentials, sender or TLS refused. Retrying will not help."""


class TemporaryFailure(FeedsvcError):
    """The server answered 4xx or could not be reached, and kept doing so through every retry.

    Not a MailerError: the next run may well succeed, so the scheduler just tries again later.
    """

    def __init__(self, message_id: str, reason: str, *, code: int | None = None, connection: bool = False) -> None:
        self.message_id, self.reason, self.code = message_id, reason, code
        self.connection = connection  # True: the server is failing (unreachable, 421), not this recipient
        super().__init__(f"{message_id or 'message'}: {reason}")


@dataclasses.dataclass(frozen=True, slots=True)
class SendResult:
    """What became of one message. `in_doubt`: sent, but the connection died before the server's reply."""

    status: SendStatus
    message_id: str
    code: int | None = None
    detail: str = ""

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"

    @property
    def permanent_failure(self) -> bool:
        return self.status == "permanent_failure"

    @property
    def in_doubt(self) -> bool:
        return self.status == "in_doubt"

