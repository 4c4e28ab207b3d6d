"""A message as it goes on the wire: its bytes (CRLF, no Bcc, no Return-Path) and its SMTP envelope.

A message may carry its own bounce address as a Return-Path header (the VERP return path of
bounces/verp.py): the envelope's MAIL FROM is taken from it and the header is left out of the
bytes sent, as RFC 5321 §4.4 asks (the final delivery server writes Return-Path itself).
"""

from __future__ import annotations

import copy
import functools
import io
from email.generator import BytesGenerator
from email.message import Message
from email.utils import getaddresses, parseaddr

from feedsvc.transport.mime import SIMPLE_ADDRESS


class _CrlfGenerator(BytesGenerator):
    # Generator._write_lines writes a body line at a time (~800 writes for a digest), splitting on
    # a regex; str.replace gives the same bytes (every \r\n, \r or \n becomes the policy's line
    # ending) at a fraction of the cost.
    def _write_lines(self, lines: str) -> None:
        if lines:
            nl: str = self._NL  # type: ignore[attr-defined]
            if "\r" in lines:
                lines = lines.replace("\r\n", "\n").replace("\r", "\n")
            self.write(lines.replace("\n", nl))


def message_bytes(msg: Message) -> bytes:
    """The message as sent: CRLF line endings whatever its policy, Bcc and Return-Path left out."""
    policy = msg.policy if msg.policy.linesep == "\r\n" else msg.policy.clone(linesep="\r\n")
    if "Bcc" in msg or "Return-Path" in msg:
        msg = copy.copy(msg)  # __delitem__ builds a new header list: the caller's copy keeps them
        del msg["Bcc"]
        del msg["Return-Path"]
    buf = io.BytesIO()
    _CrlfGenerator(buf, mangle_from_=False, policy=policy).flatten(msg, unixfrom=False)
    return buf.getvalue()


def return_path(msg: Message) -> str | None:
    """The message's own bounce address (its Return-Path header), if it has one."""
    value = msg.get("Return-Path")
    if value is None:
        return None
    return parseaddr(str(value))[1] or None


def envelope(msg: Message, envelope_from: str | None = None) -> tuple[str, list[str]]:
    """The SMTP envelope: bounce address (the message's Return-Path, else `envelope_from`, else its
    Sender or From) and recipients (To, Cc, Bcc)."""
    sender = return_path(msg) or envelope_from or _address(str(msg.get("Sender") or msg.get("From") or ""))
    fields = [str(v) for name in ("To", "Cc", "Bcc") for v in msg.get_all(name, [])]
    if all(SIMPLE_ADDRESS.fullmatch(f) for f in fields):
        recipients = fields  # the usual digest: one bare address, no parsing needed
    else:
        recipients = [addr for _, addr in getaddresses(fields) if addr]
    if not sender or not recipients:
        raise ValueError("a message needs a From and at least one recipient")
    return sender, recipients


@functools.lru_cache(maxsize=64)
def _address(value: str) -> str:
    return parseaddr(value)[1]  # a run's From is parsed once, not per message

