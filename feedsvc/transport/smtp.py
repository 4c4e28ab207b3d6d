"""SMTP: SMTP_URL parsed, messages sent over a reused connection with retries, and make_mailer.

One SmtpMailer is one connection and is not thread-safe; pool.BaseMailer.send_many gives each of
its worker threads its own clone, sharing one rate limit.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from collections.abc import Callable
from email.message import Message
from pathlib import Path
from typing import Any

# The URL is parsed where configuration is read (start-up checks it); the mailer uses the result.
from feedsvc.smtp_url import SmtpSettings, parse_smtp_url
from feedsvc.transport.dkim import Signer
from feedsvc.transport.outbox import OutboxMailer
from feedsvc.transport.outcomes import MailerError, SendResult, TemporaryFailure
from feedsvc.transport.pool import BaseMailer, TokenBucket
from feedsvc.transport.wire import envelope

log = logging.getLogger("feedsvc.mailer")

# ---------------------------------------------------------------- SMTP


class _Retry(Exception):
    """Internal: this attempt failed in a way another attempt may fix."""

    def __init__(self, reason: str, code: int | None = None, *, connection: bool = False,
                 stale: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.code, self.connection = reason, code, connection
        self.stale = stale  # a reused connection was found closed before anything was sent


def _dot_stuffed(data: bytes) -> bytes:
    # RFC 5321 §4.5.2: a line starting with "." gets another; the message ends with CRLF.CRLF.
    data = (b"." if data.startswith(b".") else b"") + data.replace(b"\n.", b"\n..")
    return data + (b".\r\n" if data.endswith(b"\r\n") else b"\r\n.\r\n")


class SmtpMailer(BaseMailer):
    """Sends over one reused SMTP connection; use it as a context manager around a batch.

    Not thread-safe: one per thread (send_many gives each worker its own, sharing the rate limit).
    """

    def __init__(self, settings: SmtpSettings, *, max_per_connection: int = 100, rate: float = 0.0,
                 retries: int = 3, backoff: float = 1.0, envelope_from: str | None = None,
                 ssl_context: ssl.SSLContext | None = None, local_hostname: str | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 limiter: TokenBucket | None = None, signer: Signer | None = None) -> None:
        self.settings = settings
        self.max_per_connection, self.retries, self.backoff = max_per_connection, retries, backoff
        self.envelope_from, self.ssl_context, self.local_hostname = envelope_from, ssl_context, local_hostname
        self._sleep, self.signer = sleep, signer
        # One bucket shared by every clone: `rate` is what the provider allows this sender in all.
        self.limiter = limiter or TokenBucket(rate, clock=clock, sleep=sleep)
        self._conn: smtplib.SMTP | None = None
        self._sent_on_connection = 0
        self.connections_opened = 0

    def _clone(self) -> SmtpMailer:
        return SmtpMailer(self.settings, max_per_connection=self.max_per_connection, retries=self.retries,
                          backoff=self.backoff, envelope_from=self.envelope_from, ssl_context=self.ssl_context,
                          local_hostname=self.local_hostname, sleep=self._sleep, limiter=self.limiter,
                          signer=self.signer)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                conn.close()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        try:
            if s.security == "tls":
                conn: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self._tls(),
                                                      local_hostname=self.local_hostname)
            else:
                conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout, local_hostname=self.local_hostname)
        except ssl.SSLCertVerificationError as exc:
            raise MailerError(f"SMTP_URL: TLS certificate of {s.host} refused: {exc.verify_message}") from None
        except OSError as exc:  # refused, timed out, 421 greeting (SMTPConnectError)
            raise _Retry(f"cannot connect to {s.host}:{s.port}: {exc}", connection=True) from None
        try:
            conn.ehlo_or_helo_if_needed()
            if s.security == "starttls":
                conn.starttls(context=self._tls())
                conn.ehlo()
            if s.username is not None:
                conn.login(s.username, s.password or "")
        except BaseException as exc:
            conn.close()
            if isinstance(exc, smtplib.SMTPAuthenticationError):
                raise MailerError(f"SMTP_URL: {s.host} refused the user name or password ({exc.smtp_code})") from None
            if isinstance(exc, (smtplib.SMTPNotSupportedError, ssl.SSLCertVerificationError)):
                raise MailerError(f"SMTP_URL: {s.host}: {exc}") from None
            # Order matters: SMTPException is an OSError, and only some of them are worth a retry.
            if isinstance(exc, (smtplib.SMTPServerDisconnected, smtplib.SMTPHeloError)):
                raise _Retry(f"{s.host}:{s.port} closed the session: {exc}", connection=True) from None
            if isinstance(exc, smtplib.SMTPException):  # e.g. no AUTH mechanism in common
                raise MailerError(f"SMTP_URL: {s.host}: {exc}") from None
            if isinstance(exc, OSError):  # reset, timed out, TLS handshake cut
                raise _Retry(f"{s.host}:{s.port} closed the session: {exc}", connection=True) from None
            raise
        self.connections_opened += 1
        self._sent_on_connection = 0
        return conn

    def _tls(self) -> ssl.SSLContext:
        if self.ssl_context is None:
            self.ssl_context = ssl.create_default_context()
        return self.ssl_context

    def send(self, msg: Message) -> SendResult:
        """Send one message: accepted, permanent_failure or in_doubt; TemporaryFailure after retries."""
        message_id = str(msg.get("Message-ID", ""))
        sender, recipients = envelope(msg, self.envelope_from)
        if not all(a.isascii() for a in (sender, *recipients)):
            return SendResult("permanent_failure", message_id, None, "non-ASCII address (SMTPUTF8 unsupported)")
        data = _dot_stuffed(self.wire_bytes(msg))
        failures, stale_reconnected = 0, False
        while True:
            try:
                return self._attempt(sender, recipients, data, message_id)
            except _Retry as retry:
                if retry.stale and not stale_reconnected:
                    stale_reconnected = True  # idle timeout on a reused connection: just reconnect
                    continue
                failures += 1
                if failures > self.retries:
                    raise TemporaryFailure(message_id, retry.reason, code=retry.code,
                                           connection=retry.connection) from None
                log.warning("%s: %s; retry %d/%d", message_id, retry.reason, failures, self.retries)
                self._sleep(self.backoff * 2 ** (failures - 1))

    def _attempt(self, sender: str, recipients: list[str], data: bytes, message_id: str) -> SendResult:
        if self._conn is not None and self._sent_on_connection >= self.max_per_connection:
            self.close()  # providers refuse past a cap per session (SES: "421 maximum message count")
        if self._conn is None:
            self._conn = self._open()
        conn, reused = self._conn, self._sent_on_connection > 0
        self.limiter.acquire()
        self._sent_on_connection += 1
        stage = "MAIL"
        try:
            # An 8-bit body is declared where the server offers it (RFC 6152); digests are 7-bit.
            eight_bit = not data.isascii() and conn.has_extn("8bitmime")
            code, reply = conn.mail(sender, ["BODY=8BITMIME"] if eight_bit else [])
            if code != 250:
                if 500 <= code < 600:
                    self._reset()
                    raise MailerError(f"{self.settings.host} refused the sender {sender}: {code} {reply!r}")
                return self._refused(code, reply, message_id, "MAIL", reused)
            stage = "RCPT"
            refused = {}
            for rcpt in recipients:
                code, reply = conn.rcpt(rcpt)
                if code not in (250, 251):
                    refused[rcpt] = (code, reply)
            if len(refused) == len(recipients):
                # Retry when any recipient's refusal is temporary; otherwise it is permanent.
                code, reply = min(refused.values(), key=lambda cr: cr[0])
                return self._refused(code, reply, message_id, "RCPT")
            stage = "DATA"
            code, reply = conn.docmd("DATA")
            if code != 354:
                return self._refused(code, reply, message_id, "DATA")
            conn.send(data)
            # From here the server may have the whole message: a lost connection means in doubt.
            stage = "end of DATA"
            code, reply = conn.getreply()
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            if stage == "end of DATA":
                return SendResult("in_doubt", message_id, None, f"connection lost awaiting the reply: {exc}")
            raise _Retry(f"connection lost at {stage}: {exc}", connection=True,
                         stale=reused and stage == "MAIL") from None
        if code == 250:
            detail = f"refused: {', '.join(refused)}" if refused else ""
            return SendResult("accepted", message_id, code, detail)
        return self._refused(code, reply, message_id, stage)

    def _refused(self, code: int, reply: bytes, message_id: str, stage: str, reused: bool = False) -> SendResult:
        text = reply.decode("utf-8", "replace")
        # 421 (closing the session) and a 4xx to MAIL concern the server or sender, not this
        # recipient: send_many stops instead of spending the back-off on every remaining message.
        server_wide = code == 421 or stage == "MAIL"
        if code == 421:
            self._drop()
        else:
            self._reset()
        if 400 <= code < 500:
            # A 421 to MAIL on a reused connection is most likely a per-session cap: reconnect now.
            raise _Retry(f"{stage}: {code} {text}", code, connection=server_wide,
                         stale=reused and code == 421 and stage == "MAIL")
        return SendResult("permanent_failure", message_id, code, f"{stage}: {text}")

    def _reset(self) -> None:
        if self._conn is not None and self._conn.sock is not None:
            try:
                self._conn.rset()
            except (OSError, smtplib.SMTPException):
                self._drop()
        else:
            self._drop()


def make_mailer(smtp_url: str | None, outbox_dir: str | Path, **opts: Any) -> SmtpMailer | OutboxMailer:
    """An SmtpMailer for SMTP_URL, else an OutboxMailer (which ignores the SMTP options)."""
    if smtp_url:
        return SmtpMailer(parse_smtp_url(smtp_url), **opts)
    return OutboxMailer(outbox_dir, **{k: v for k, v in opts.items() if k in ("now", "signer")})
