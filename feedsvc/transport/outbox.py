"""The outbox: each message a .eml file in a folder, the embedded default when SMTP_URL is not set."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import secrets
import tempfile
from email.message import Message
from pathlib import Path

from feedsvc.clock import SYSTEM_CLOCK, Clock
from feedsvc.transport.dkim import Signer
from feedsvc.transport.outcomes import SendResult, TemporaryFailure
from feedsvc.transport.pool import BaseMailer
from feedsvc.transport.wire import return_path

log = logging.getLogger("feedsvc.mailer")


class OutboxMailer(BaseMailer):
    """Writes each message as a .eml file in a folder: the embedded default for development."""

    def __init__(self, outbox_dir: str | Path, *,
                 now: Clock = SYSTEM_CLOCK, signer: Signer | None = None) -> None:
        self.outbox_dir, self._now, self.signer = Path(outbox_dir), now, signer

    def send(self, msg: Message) -> SendResult:
        message_id = str(msg.get("Message-ID", "")) or f"<{secrets.token_hex(8)}@outbox>"
        slug = re.sub(r"[^A-Za-z0-9.-]+", "-", message_id.strip("<>"))[:80]
        name = f"{self._now().astimezone(dt.UTC):%Y%m%dT%H%M%S%fZ}-{slug}.eml"
        try:
            self.outbox_dir.mkdir(parents=True, exist_ok=True)
            # Temp file then os.replace: a reader of the folder never sees half a message.
            fd, tmp = tempfile.mkstemp(dir=self.outbox_dir, prefix=".", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    # Written as a delivering server would (RFC 5322 §3.6.7): the bounce address on
                    # top, outside what DKIM signed, so the outbox shows each message's VERP too.
                    bounce_to = return_path(msg)
                    if bounce_to:
                        f.write(f"Return-Path: <{bounce_to}>\r\n".encode("ascii", "replace"))
                    f.write(self.wire_bytes(msg))
                os.replace(tmp, self.outbox_dir / name)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:  # disk full, permissions: nothing else will get through either
            raise TemporaryFailure(message_id, f"cannot write to {self.outbox_dir}: {exc}", connection=True) from None
        # One line per address only when asked: a run logs its summary (runs/postman.py).
        log.debug("outbox: %s to %s subject %r", name, msg.get("To"), str(msg.get("Subject", "")))
        return SendResult("accepted", message_id, None, str(self.outbox_dir / name))

