"""A message of the bounce mailbox read: which addresses bounced, how, and about which message of ours.

Pure: bytes in, reports out. Three kinds of message are understood:
- ARF complaint reports (RFC 5965: `multipart/report; report-type=feedback-report`, Feedback-Type
  abuse or fraud) that mailbox providers' feedback loops (Yahoo, AOL, Microsoft…) send;
- delivery status notifications, read by flufl.bounce (`all_failures`: RFC 3464 DSNs and the
  non-standard reports of many servers), each failed recipient then classed hard or soft by the
  status code the DSN gives it (RFC 3463);
- anything else is unrecognised (an auto-reply, spam): nothing is recorded from it.

Which subscriber: the VERP token when the report carries our return path back (it names the
subscriber and the delivery); else the Message-ID of our message the report quotes; else the
address it names. processor.py resolves those against the database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import hashlib
from email.message import Message
from email.utils import parseaddr, parsedate_to_datetime

from flufl.bounce import all_failures

from .events import BounceKind, BounceReport
from .verp import ReturnPaths, ReturnToken

COMPLAINT_TYPES = ("abuse", "fraud")  # RFC 5965 §7.3; "not-spam", "virus", "other" are not complaints
MAX_SCANNED = 1_000_000  # a bounce quoting a huge message: the return path is in its first bytes


@dataclasses.dataclass(frozen=True)
class Reading:
    """What one message of the mailbox said."""

    key: str  # its Message-ID, else a hash of its bytes: the same message read twice has the same key
    reports: tuple[BounceReport, ...]  # none: not a bounce or complaint this code understands
    why_not: str = ""  # for an unrecognised message, why (shown in the log)


def bounce_kind(status: str | None, permanent: bool) -> BounceKind:
    """Hard or soft, from a DSN's status code (RFC 3463) when it gives one, else flufl's verdict.

    4.x.x is a persistent transient failure, whatever the Action says (a server gives up on a
    4.2.2 after days of retries with "Action: failed"); X.2.2, mailbox full, is transient too by
    RFC 3463 §3.3 ("should be used as a persistent transient failure") even as 5.2.2.
    """
    if status:
        klass, _, rest = status.strip().partition(".")
        if klass == "4" or (klass == "5" and rest.startswith("2.2")):
            return "soft"
        if klass == "5":
            return "hard"
    return "hard" if permanent else "soft"


def read_message(raw: bytes, paths: ReturnPaths | None) -> Reading:
    """The reports in one message of the bounce mailbox."""
    # compat32: flufl.bounce's detectors walk the classic Message API.
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    key = _one_line(str(msg.get("Message-ID") or "")) or f"sha256:{hashlib.sha256(raw).hexdigest()}"
    token = paths.find(raw[:MAX_SCANNED].decode("latin-1")) if paths is not None else None
    quoted = _quoted_message_id(msg)
    occurred = _date(msg.get("Arrival-Date") or msg.get("Date"))
    if msg.get_content_type() == "multipart/report" and \
            str(msg.get_param("report-type", "")).lower() == "feedback-report":
        return _complaint(msg, key, token, paths, quoted, occurred)
    temporary, permanent = all_failures(msg)
    if not temporary and not permanent:
        return Reading(key, (), "no failed recipient found (not a bounce)")
    statuses = _statuses(msg)
    found: list[BounceReport] = []
    for raw_address in sorted(permanent | temporary):
        address = raw_address.decode("ascii", "replace").strip().lower()
        status, diagnostic, arrived = statuses.get(address, (None, "", None))
        kind = bounce_kind(status, raw_address in permanent)
        detail = " ".join(x for x in (status, diagnostic) if x) or ("failed" if kind == "hard" else "delayed")
        found.append(BounceReport("mailbox", key, kind, address or None, detail[:500], arrived or occurred,
                                  token, quoted))
    if token is not None and len(found) > 1:
        # One message of ours has one recipient: a report listing more (an alias that forwards)
        # is about the one the token names, and its worst verdict counts.
        found.sort(key=lambda r: r.kind != "hard")
        found = found[:1]
    return Reading(key, tuple(found))


def _complaint(msg: Message, key: str, token: ReturnToken | None, paths: ReturnPaths | None,
               quoted: str | None, occurred: dt.datetime | None) -> Reading:
    fields = _feedback_fields(msg)
    if fields is None:
        return Reading(key, (), "a feedback report without its message/feedback-report part")
    feedback = str(fields.get("Feedback-Type", "")).strip().lower()
    if feedback not in COMPLAINT_TYPES:
        return Reading(key, (), f"a feedback report of type {feedback or 'none'!r}, not a complaint")
    mail_from = str(fields.get("Original-Mail-From", ""))
    if paths is not None and mail_from:
        token = paths.read(mail_from) or token  # the envelope sender the provider saw: our VERP
    # Some providers redact the recipient (AOL writes "redacted@aol.com"): then only the token or
    # the quoted Message-ID can say who complained.
    address = _address(str(fields.get("Original-Rcpt-To", ""))) or _quoted_recipient(msg)
    if address is not None and address.startswith("redacted"):
        address = None
    agent = _one_line(str(fields.get("User-Agent", ""))) or "a feedback loop"
    when = _date(fields.get("Arrival-Date") or fields.get("Received-Date")) or occurred
    return Reading(key, (BounceReport("mailbox", key, "complaint", address, f"{feedback} report from {agent}",
                                      when, token, quoted),))


def _feedback_fields(msg: Message) -> Message | None:
    for part in msg.walk():
        if part.get_content_type() == "message/feedback-report":
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
            if isinstance(payload, str):  # sent base64 or as text: parse the fields ourselves
                text = part.get_payload(decode=True)
                return email.message_from_bytes(text if isinstance(text, bytes) else b"")
    return None


def _statuses(msg: Message) -> dict[str, tuple[str | None, str, dt.datetime | None]]:
    """Per recipient of each message/delivery-status part: its Status, Diagnostic-Code and arrival."""
    out: dict[str, tuple[str | None, str, dt.datetime | None]] = {}
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            continue
        arrived = None
        for block in blocks:
            if not isinstance(block, Message):
                continue
            arrived = _date(block.get("Arrival-Date")) or arrived
            status = _one_line(str(block.get("Status", ""))) or None
            diagnostic = _one_line(str(block.get("Diagnostic-Code", "")))
            for field in ("Original-Recipient", "Final-Recipient", "X-Actual-Recipient"):
                value = str(block.get(field, ""))
                address = _address(value.partition(";")[2] if ";" in value else value)
                if address and (status or diagnostic):
                    out.setdefault(address, (status, diagnostic, arrived))
    return out


def _quoted_message_id(msg: Message) -> str | None:
    """The Message-ID of the original message a report quotes (message/rfc822 or text/rfc822-headers)."""
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message) and inner[0].get("Message-ID"):
                return _one_line(str(inner[0]["Message-ID"])) or None
        elif kind == "text/rfc822-headers":
            text = part.get_payload(decode=True)
            headers = email.message_from_bytes(text if isinstance(text, bytes) else b"",
                                               policy=email.policy.compat32)
            if headers.get("Message-ID"):
                return _one_line(str(headers["Message-ID"])) or None
    return None


def _quoted_recipient(msg: Message) -> str | None:
    for part in msg.walk():
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                return _address(str(inner[0].get("To", "")))
    return None


def _address(value: str) -> str | None:
    address = parseaddr(_one_line(value))[1].strip().lower()
    return address if "@" in address else None


def _date(value: object) -> dt.datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(_one_line(str(value)))
    except (TypeError, ValueError, IndexError):
        return None
    return when.astimezone(dt.UTC) if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def _one_line(value: str) -> str:
    return " ".join(value.split())
