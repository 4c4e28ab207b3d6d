"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 and a free port, recording what it accepts.

The handler can be told to answer given recipients (or all) with 4xx/5xx codes, to cut the connection
after accepting DATA (the "in doubt" case), or to answer 421 past N messages on a connection.
Also here: a fake monotonic clock for back-off and rate limits, and a small message to send.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email
import email.policy
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclasses.dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes  # as received, after dot-unstuffing
    connection: int  # which connection (1-based) carried it
    mail_options: tuple[str, ...] = ()

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


class RecordingHandler:
    """aiosmtpd handler; every knob is plain data the test sets before sending."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)  # notified as each message is recorded
        self.messages: list[Received] = []
        self.mail_replies: list[str] = []  # replies to MAIL given in turn, then 250
        self.rcpt_replies: dict[str, list[str]] = {}  # recipient -> replies given in turn, then 250
        self.rcpt_default: str | None = None  # the reply to every other RCPT (a misconfigured relay), else 250
        self.rcpt_commands = 0
        self.drop_after_data: set[str] = set()  # recipients whose DATA is recorded, then the line cut
        self.max_per_connection: int | None = None  # 421 at MAIL past this many on one connection
        self.mail_commands = 0
        # Called in the server's thread at ("connect", n), ("mail", n) and ("data", n) (the n-th of
        # each since start), before the server answers: a test can act at an exact point of a
        # conversation, e.g. kill the sending process just before it hears "250" after DATA.
        self.on_event: Callable[[str, int], None] | None = None

    async def handle_MAIL(self, server: SMTP, session: Any, envelope: Any, address: str,
                          mail_options: list[str]) -> str:
        with self.lock:
            self.mail_commands += 1
            n = self.mail_commands
            reply = self.mail_replies.pop(0) if self.mail_replies else None
        if self.on_event is not None:
            self.on_event("mail", n)
        if reply is not None:
            return reply
        count = getattr(session, "transactions", 0)
        if self.max_per_connection is not None and count >= self.max_per_connection:
            _close_soon(server)
            return "421 4.7.0 Maximum message count per session reached"
        session.transactions = count + 1
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: SMTP, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        with self.lock:
            self.rcpt_commands += 1
            replies = self.rcpt_replies.get(address)
            reply = replies.pop(0) if replies else self.rcpt_default
        if reply is not None:
            if reply.startswith("421"):
                _close_soon(server)
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        received = Received(envelope.mail_from, tuple(envelope.rcpt_tos), envelope.original_content,
                            getattr(server, "connection_number", 0), tuple(envelope.mail_options))
        with self.lock:
            self.messages.append(received)
            n = len(self.messages)
            self.arrived.notify_all()
        if self.on_event is not None:
            self.on_event("data", n)
        if self.drop_after_data.intersection(envelope.rcpt_tos):
            # Stored, but the client never hears so: the case a mailer must report as in doubt.
            assert server.transport is not None
            server.transport.abort()
        return "250 2.0.0 Queued"


def _close_soon(server: SMTP) -> None:
    # After the reply is written, as real servers do after a 421.
    transport = server.transport
    if transport is not None:
        asyncio.get_running_loop().call_soon(transport.close)


class _CountingController(Controller):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connections = 0

    def factory(self) -> SMTP:
        # aiosmtpd creates one SMTP protocol object per accepted connection.
        smtp = super().factory()
        self.connections += 1
        smtp.connection_number = self.connections  # type: ignore[attr-defined]
        hook = getattr(self.handler, "on_event", None)
        if hook is not None:
            hook("connect", self.connections)
        return smtp


class SmtpTestServer:
    """`with SmtpTestServer() as server:` → server.host, server.port, server.handler.messages."""

    def __init__(self, *, port: int | None = None, tls_context: ssl.SSLContext | None = None,
                 implicit_tls: bool = False, credentials: tuple[str, str] | None = None) -> None:
        self.handler = RecordingHandler()
        self.host, self.port = "127.0.0.1", port or free_port()
        kwargs: dict[str, Any] = {}
        if credentials is not None:
            kwargs["authenticator"] = _Authenticator(*credentials)
            kwargs["auth_require_tls"] = False  # a test server: AUTH over plain text is fine here
        if tls_context is not None and not implicit_tls:
            kwargs["tls_context"] = tls_context
        self.controller = _CountingController(self.handler, hostname=self.host, port=self.port,
                                              ssl_context=tls_context if implicit_tls else None, **kwargs)

    @property
    def connections(self) -> int:
        return self.controller.connections

    @property
    def messages(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.messages)

    def wait_for_messages(self, count: int, timeout: float = 30.0) -> list[Received]:
        """Block until `count` messages have arrived (the exact event, not a sleep); fail after `timeout`."""
        with self.handler.arrived:
            if not self.handler.arrived.wait_for(lambda: len(self.handler.messages) >= count, timeout):
                raise AssertionError(f"{count} message(s) expected, {len(self.handler.messages)} arrived "
                                     f"in {timeout} s")
            return list(self.handler.messages)

    def start(self) -> SmtpTestServer:
        self.controller.start()
        self.controller.connections = 0  # start() made one connection to check the server is up
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> SmtpTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Authenticator:
    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user.encode(), password.encode()

    def __call__(self, server: SMTP, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data == (self.user, self.password)
        return AuthResult(success=ok, handled=False)


def self_signed_tls(tmp: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context trusting it) for 127.0.0.1, made with the openssl command."""
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


class FakeTime:
    """A monotonic clock that only moves when slept on: back-off and rate limits cost no real time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.sleeps.append(seconds)
            self.now += seconds


def message(to: str = "ayse@example.com", n: int = 0, body: str = "Hello\n") -> EmailMessage:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = "IOM Turkey <news@example.org>"
    msg["To"] = to
    msg["Subject"] = f"Message {n}"
    msg["Message-ID"] = f"<m{n}.{to.replace('@', '.')}@example.org>"
    msg.set_content(body)
    return msg
