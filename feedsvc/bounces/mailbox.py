"""The bounce mailbox: its messages read, and each moved out of the way once recorded (IMAP or maildir).

A message is moved only after its events are committed, into `feedsvc-processed` (a bounce or
complaint) or `feedsvc-unrecognised` (anything else, kept for a person to look at). A crash
between the two leaves it in place; read again, it records nothing new (the events are keyed
on its Message-ID), and is moved then.
"""

from __future__ import annotations

import contextlib
import imaplib
import mailbox
import re
import ssl
from collections.abc import Iterator
from typing import Any, Literal, Protocol

from ..model import FeedsvcError
from .mailbox_url import MailboxSettings

PROCESSED = "feedsvc-processed"
UNRECOGNISED = "feedsvc-unrecognised"
Outcome = Literal["processed", "unrecognised"]
FOLDERS: dict[Outcome, str] = {"processed": PROCESSED, "unrecognised": UNRECOGNISED}


class MailboxError(FeedsvcError):
    """The mailbox cannot be reached or read; the message says where (never the password)."""


class Mailbox(Protocol):
    """A source of bounce messages: read each, then file it."""

    def count(self) -> int: ...

    def messages(self) -> Iterator[tuple[str, bytes]]: ...

    def file(self, handle: str, outcome: Outcome) -> None: ...

    def close(self) -> None: ...


def open_mailbox(settings: MailboxSettings, *, ssl_context: ssl.SSLContext | None = None) -> Mailbox:
    """The mailbox FEEDSVC_BOUNCE_MAILBOX names, opened (logged in, folder selected); MailboxError if it cannot be."""
    if settings.kind == "maildir":
        return MaildirBox(settings)
    return ImapBox(settings, ssl_context or ssl.create_default_context())


class MaildirBox:
    """A maildir (new/, cur/, tmp/) on this machine, as a local delivery agent writes it."""

    def __init__(self, settings: MailboxSettings) -> None:
        path = settings.path
        if path is None or not all((path / sub).is_dir() for sub in ("new", "cur", "tmp")):
            raise MailboxError(f"{settings.where()}: not a maildir (it needs new/, cur/ and tmp/ folders)")
        self.where = settings.where()
        # factory=None: messages as bytes, never parsed twice.
        self.box = mailbox.Maildir(path, factory=None, create=False)

    def count(self) -> int:
        return len(self.box)

    def messages(self) -> Iterator[tuple[str, bytes]]:
        for key in sorted(self.box.iterkeys()):
            try:
                yield key, self.box.get_bytes(key)
            except KeyError:
                continue  # another reader filed it meanwhile

    def file(self, handle: str, outcome: Outcome) -> None:
        name = FOLDERS[outcome]
        try:
            folder = self.box.get_folder(name)
        except mailbox.NoSuchMailboxError:
            folder = self.box.add_folder(name)  # Maildir++ (.name/), as dovecot and courier keep folders
        try:
            data = self.box.get_bytes(handle)
        except KeyError:
            return  # filed by another reader
        folder.add(data)
        with contextlib.suppress(KeyError, FileNotFoundError):
            self.box.remove(handle)

    def close(self) -> None:
        self.box.close()


class ImapBox:
    """One folder of an IMAP mailbox, over TLS (imaps) or STARTTLS (imap); messages addressed by UID."""

    def __init__(self, settings: MailboxSettings, context: ssl.SSLContext) -> None:
        self.where, self.folder = settings.where(), settings.folder
        try:
            if settings.implicit_tls:
                self.conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(settings.host, settings.port, ssl_context=context,
                                                             timeout=settings.timeout)
            else:
                self.conn = imaplib.IMAP4(settings.host, settings.port, timeout=settings.timeout)
                # STARTTLS is required: the password must not cross the network in clear.
                self.conn.starttls(ssl_context=context)
        except ssl.SSLCertVerificationError as exc:
            raise MailboxError(f"{self.where}: TLS certificate refused: {exc.verify_message}") from None
        except (OSError, imaplib.IMAP4.error) as exc:
            raise MailboxError(f"{self.where}: cannot connect: {exc}") from None
        try:
            self.conn.login(settings.username, settings.password)
            self._ok(self.conn.select(_quote(self.folder)), f"cannot open the folder {self.folder}")
            # Asked again once logged in: servers announce MOVE and UIDPLUS only then (imaplib
            # keeps the list it got at the greeting).
            _, data = self._ok(self.conn.capability(), "cannot list the server's capabilities")
            listed = data[0] if data and isinstance(data[0], bytes) else b""
            self.capabilities = set(listed.decode("ascii", "replace").upper().split())
        except imaplib.IMAP4.error as exc:
            self._drop()
            raise MailboxError(f"{self.where}: {_said(exc)}") from None
        except (OSError, MailboxError):
            self._drop()
            raise
        self._made: set[str] = set()

    def count(self) -> int:
        return len(self._search())

    def messages(self) -> Iterator[tuple[str, bytes]]:
        for uid in self._search():
            typ, data = self.conn.uid("FETCH", uid, "(BODY.PEEK[])")  # PEEK: leaves \\Seen alone
            raw = next((part[1] for part in data if isinstance(part, tuple)), None)
            if typ == "OK" and isinstance(raw, bytes):
                yield uid, raw

    def file(self, handle: str, outcome: Outcome) -> None:
        folder = FOLDERS[outcome]
        if folder not in self._made:
            typ, data = self.conn.create(_quote(folder))
            # NO [ALREADYEXISTS] (RFC 5530), or a server's own words for it: the folder is there.
            if typ != "OK" and b"exist" not in b" ".join(d for d in data if isinstance(d, bytes)).lower():
                raise MailboxError(f"{self.where}: cannot create the folder {folder}: {data!r}")
            self._made.add(folder)
        if "MOVE" in self.capabilities:  # RFC 6851: one atomic step
            self._ok(self.conn.uid("MOVE", handle, _quote(folder)), f"cannot move a message to {folder}")
            return
        self._ok(self.conn.uid("COPY", handle, _quote(folder)), f"cannot copy a message to {folder}")
        self._ok(self.conn.uid("STORE", handle, "+FLAGS.SILENT", r"(\Deleted)"), "cannot delete a message")
        if "UIDPLUS" in self.capabilities:
            self._ok(self.conn.uid("EXPUNGE", handle), "cannot expunge a message")  # only this one
        else:
            self._ok(self.conn.expunge(), "cannot expunge")

    def close(self) -> None:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            self.conn.close()
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            self.conn.logout()

    def _search(self) -> list[str]:
        _, data = self._ok(self.conn.uid("SEARCH", "ALL"), "cannot list the messages")
        found = data[0] if data and isinstance(data[0], bytes) else b""
        return [uid.decode("ascii") for uid in found.split()]

    def _ok(self, answer: tuple[str, list[Any]], doing: str) -> tuple[str, list[Any]]:
        typ, data = answer
        if typ != "OK":
            raise MailboxError(f"{self.where}: {doing}: {data!r}")
        return typ, data

    def _drop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.shutdown()


def _quote(folder: str) -> str:
    # mailbox_url refuses quotes and backslashes in a folder name, so quoting is enough.
    return f'"{folder}"'


def _said(exc: imaplib.IMAP4.error) -> str:
    text = str(exc)
    text = re.sub(r"^b'|'$", "", text)
    return text or exc.__class__.__name__
