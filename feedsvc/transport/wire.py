"""A message as it goes on the wire: its bytes (CRLF, no Bcc) and its SMTP envelope."""

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
    """The message as sent: CRLF line endings whatever its policy, Bcc left out."""
    policy = msg.policy if msg.policy.linesep == "\r\n" else msg.policy.clone(linesep="\r\n")
    if "Bcc" in msg:
        msg = copy.copy(msg)  # __delitem__ builds a new header list: the caller's copy keeps Bcc
        del msg["Bcc"]
    buf = io.BytesIO()
    _CrlfGenerator(buf, mangle_from_=False, policy=policy).flatten(msg, unixfrom=False)
    return buf.getvalue()


def envelope(msg: Message, envelope_from: str | None = None) -> tuple[str, list[str]]:
    """The SMTP envelope: bounce address and recipients (To, Cc, Bcc)."""
    sender = envelope_from or _address(str(msg.get("Sender") or msg.get("From") or ""))
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

