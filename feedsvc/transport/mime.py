"""Building EmailMessages quickly, with headers that nothing put in them can break."""

from __future__ import annotations

import binascii
import datetime as dt
import email.policy
import functools
import random
import re
from collections.abc import Callable
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any
from urllib.parse import urlsplit

# C0/C1 controls, DEL, line/paragraph separators and BOM: any of them in a header is either an
# injection (CR/LF) or a parse error on the receiving side.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]+")
_URL_UNSAFE = re.compile(r"[\x00-\x20\x7f-\x9f<>\"\\^`{|}\u2028\u2029]")


def one_line(value: str) -> str:
    """The text with control characters removed and whitespace collapsed: safe in a header."""
    return " ".join(_UNSAFE.sub(" ", value).split())


def absolute_url(value: str, what: str) -> str:
    """Check that a URL is absolute http(s) and has nothing that could break a header or an attribute."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or _URL_UNSAFE.search(value):
        raise ValueError(f"{what} must be an absolute http(s) URL without spaces or controls: {value!r}")
    return value


class _Verbatim:
    """A header written exactly as given: for values we make ourselves (URLs, ids, boundaries).

    CPython folds an unstructured-header token longer than a line into RFC 2047 encoded words
    "so it can wrap", turning `<https://…>` into `=?utf-8?q?=3Chttps…?=`: mailbox providers then
    find no List-Unsubscribe URL. Skipping the parser also saves its cost on every message.
    """

    max_count: int | None = 1

    @classmethod
    def parse(cls, value: str, kwds: dict[str, Any]) -> None:
        if not value.isascii() or one_line(value) != value or len(value) > 900:
            raise ValueError(f"header value must be one ASCII line under 900 characters: {value!r}")
        kwds["parse_tree"] = None  # fold() below never needs one
        kwds["decoded"] = value

    def fold(self, *, policy: Any) -> str:
        return f"{self.name}: {self}{policy.linesep}"  # type: ignore[attr-defined]


verbatim: Callable[[str, str], BaseHeader] = type("_VerbatimHeader", (_Verbatim, BaseHeader), {})


class _MemoFoldHeader(BaseHeader):
    """Remembers its folded form: the headers shared by a run's messages are folded once, not per send."""

    def fold(self, *, policy: Any) -> str:
        key = (policy.linesep, policy.max_line_length, policy.utf8)
        folds: dict[tuple[Any, ...], str] = self.__dict__.setdefault("_folds", {})
        if key not in folds:
            folds[key] = super().fold(policy=policy)
        return folds[key]


class _CachedRegistry(HeaderRegistry):
    # HeaderRegistry.__getitem__ builds a new class on every call (several per header set).
    @functools.lru_cache(maxsize=256)  # noqa: B019 - one registry per process, lives forever
    def __getitem__(self, name: str) -> type[BaseHeader]:
        return super().__getitem__(name)


# email.policy.SMTP (CRLF line endings) with a faster header registry; same behaviour.
POLICY = email.policy.SMTP.clone(header_factory=_CachedRegistry(base_class=_MemoFoldHeader))


@functools.lru_cache(maxsize=512)
def header(name: str, value: str) -> BaseHeader:
    # Parsing a header costs 20-100 µs; From, Date, List-Id and most subjects repeat across a run.
    # Header objects are immutable (str subclasses), so messages can share them.
    return POLICY.header_factory(name, value)  # type: ignore[no-any-return]


# A dot-atom local part and a dotted domain (RFC 5322 §3.4.1): no room for a second address.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
SIMPLE_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def _recipient(address: str) -> BaseHeader | str:
    address = one_line(address)
    if SIMPLE_ADDRESS.fullmatch(address):  # nearly all: skip the full parser (a tenth of a digest's cost)
        return verbatim("To", address)
    # Address(addr_spec=…) refuses leftovers, so "a@x, b@y" cannot add a second recipient.
    return Address(addr_spec=address).addr_spec


def new_message(*, mail_from: str, to: str, subject: str, now: dt.datetime, idstring: str,
                reply_to: str | None = None, message_id: str | None = None) -> EmailMessage:
    """A message with its envelope headers set, each sanitised; Message-ID's domain is mail_from's.

    `message_id` given (a resend of a message that may have arrived): that one, so a receiver
    that deduplicates by Message-ID shows one message.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    msg = EmailMessage(policy=POLICY)
    msg["Subject"] = header("Subject", one_line(subject))
    msg["From"] = header("From", one_line(mail_from))
    msg["To"] = _recipient(to)
    if reply_to:
        msg["Reply-To"] = header("Reply-To", one_line(reply_to))
    msg["Date"] = header("Date", format_datetime(now))
    msg_id = message_id or make_msgid(re.sub(r"[^A-Za-z0-9.-]", "", idstring), domain=address_domain(mail_from))
    msg["Message-ID"] = verbatim("Message-ID", msg_id)
    return msg


@functools.lru_cache(maxsize=64)
def address_domain(mail_from: str) -> str:
    """The domain of an address header such as "IOM Turkey <news@example.org>"."""
    domain = parseaddr(one_line(mail_from))[1].rpartition("@")[2]
    return re.sub(r"[^A-Za-z0-9.-]", "", domain) or "localhost"


def _qp(text: str) -> str:
    # binascii's C encoder: email's pure-Python one took 0.2 ms a part. Quoted-printable keeps
    # the message 7-bit clean (no 8BITMIME needed) and the source readable.
    return binascii.b2a_qp(text.encode("utf-8")).decode("ascii")


_qp_shared = functools.lru_cache(maxsize=128)(_qp)


def qp_encode(text: str, shared: str = "") -> str:
    """Quoted-printable; whole lines equal to `shared` (the digest's sections) are encoded once per run."""
    # QP works line by line, so encoding a body in pieces split at line ends gives the same text.
    i = text.find(shared) if shared.endswith("\n") else -1
    if i <= 0 or text[i - 1] != "\n":
        return _qp(text)
    return _qp(text[:i]) + _qp_shared(shared) + _qp(text[i + len(shared):])


def _text_part(subtype: str, text: str, shared: str) -> EmailMessage:
    part = EmailMessage(policy=POLICY)
    part["Content-Type"] = header("Content-Type", f'text/{subtype}; charset="utf-8"')
    part["Content-Transfer-Encoding"] = header("Content-Transfer-Encoding", "quoted-printable")
    part.set_payload(qp_encode(text.replace("\r\n", "\n"), shared))
    return part


def set_alternatives(msg: EmailMessage, text: str, html: str, shared: tuple[str, str] = ("", "")) -> None:
    # Built by hand rather than with set_content()/add_alternative(), which re-parse every
    # header they write (~0.6 ms a message). "=_" cannot occur in quoted-printable text, so
    # the boundary cannot collide with a body line (RFC 2045 §6.7 and RFC 2046 §5.1.1).
    msg["MIME-Version"] = header("MIME-Version", "1.0")
    # Not secrets: a boundary needs to be unique, not unguessable (urandom cost 0.08 ms a message).
    boundary = f"=_{random.getrandbits(96):024x}"
    msg["Content-Type"] = verbatim("Content-Type", f'multipart/alternative; boundary="{boundary}"')
    msg.set_payload([_text_part("plain", text, shared[0]), _text_part("html", html, shared[1])])
