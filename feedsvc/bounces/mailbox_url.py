"""FEEDSVC_BOUNCE_MAILBOX: what it may say, and the settings the mailbox reader gets from it.

Its own module, as smtp_url.py is, so configuration checks it at start-up without loading imaplib.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from ..model import ConfigError

MailboxKind = Literal["imap", "maildir"]
DEFAULT_PORTS = {"imaps": 993, "imap": 143}


@dataclasses.dataclass(frozen=True, slots=True)
class MailboxSettings:
    kind: MailboxKind
    # IMAP: imaps (implicit TLS) or imap with STARTTLS, which is required: a password is never sent in clear.
    host: str = ""
    port: int = 0
    implicit_tls: bool = True
    username: str = ""
    password: str = dataclasses.field(default="", repr=False)
    folder: str = "INBOX"
    path: Path | None = None  # maildir
    timeout: float = 30.0

    def where(self) -> str:
        """Where the mailbox is, for messages (never the password)."""
        if self.kind == "maildir":
            return f"maildir {self.path}"
        scheme = "imaps" if self.implicit_tls else "imap"
        return f"{scheme}://{self.username}@{self.host}:{self.port}/{self.folder}"


def parse_mailbox(value: str, *, cwd: Path | None = None) -> MailboxSettings:
    """`imaps://user:pass@host[:port]/FOLDER`, `imap://…` (STARTTLS) or a maildir path."""

    def invalid(reason: str) -> ConfigError:
        # Never the URL itself: it carries the password.
        return ConfigError(f"FEEDSVC_BOUNCE_MAILBOX is invalid: {reason} (expected "
                           "imaps://user:password@host[:port]/INBOX, imap://… with STARTTLS, or a maildir path)")

    value = value.strip()
    if "://" not in value:
        path = Path(value).expanduser()
        return MailboxSettings(kind="maildir", path=path if path.is_absolute() else (cwd or Path.cwd()) / path)
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise invalid("malformed host or port") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise invalid(f"unknown scheme {parts.scheme!r}")
    if not parts.hostname:
        raise invalid("no host")
    if not parts.username or parts.password is None:
        raise invalid("no user name and password")
    if parts.query or parts.fragment:
        raise invalid("unexpected query or fragment")
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    if any(c in folder for c in '"\\\r\n') or not folder.isprintable():
        raise invalid("the folder name has quotes, backslashes or control characters")
    return MailboxSettings(kind="imap", host=parts.hostname, port=port or DEFAULT_PORTS[scheme],
                           implicit_tls=scheme == "imaps", username=unquote(parts.username),
                           password=unquote(parts.password), folder=folder)
