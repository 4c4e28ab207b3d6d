"""feedsvc.transport against a real aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

import collections
import email
import email.policy
import shutil
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from feedsvc.model import ConfigError
from feedsvc.transport.outbox import OutboxMailer
from feedsvc.transport.outcomes import MailerError, SendResult, TemporaryFailure
from feedsvc.transport.pool import TokenBucket
from feedsvc.transport.smtp import SmtpMailer, SmtpSettings, make_mailer, parse_smtp_url
from feedsvc.transport.wire import envelope, message_bytes
from tests.smtp_server import (
    FakeTime,
    SmtpTestServer,
    free_port,
    message,
    self_signed_tls,
)


def mailer_for(server: SmtpTestServer, fake: FakeTime | None = None, **kw: object) -> SmtpMailer:
    fake = fake or FakeTime()
    return SmtpMailer(SmtpSettings(server.host, server.port), clock=fake.clock, sleep=fake.sleep,
                      **kw)  # type: ignore[arg-type]


# ---------------------------------------------------------------- one connection


def test_send_and_receive(smtp_server: SmtpTestServer) -> None:
    msg = message(body="Türkçe: ğüşiöç\n.a line starting with a dot\n")
    with mailer_for(smtp_server) as mailer:
        result = mailer.send(msg)
    assert result == SendResult("accepted", "<m0.ayse.example.com@example.org>", 250, "")
    (got,) = smtp_server.messages
    assert got.mail_from == "news@example.org" and got.rcpt_tos == ("ayse@example.com",)
    assert got.message["Subject"] == "Message 0"
    assert got.message.get_content() == "Türkçe: ğüşiöç\r\n.a line starting with a dot\r\n"
    assert got.mail_options == ("BODY=8BITMIME",)  # an 8bit body, declared (RFC 6152)


def test_a_batch_reuses_one_connection(smtp_server: SmtpTestServer) -> None:
    with mailer_for(smtp_server) as mailer:
        results = [mailer.send(message(n=n)) for n in range(10)]
    assert all(r.accepted for r in results)
    assert len(smtp_server.messages) == 10
    assert smtp_server.connections == 1 == mailer.connections_opened


def test_reconnects_after_max_per_connection(smtp_server: SmtpTestServer) -> None:
    with mailer_for(smtp_server, max_per_connection=3) as mailer:
        for n in range(7):
            assert mailer.send(message(n=n)).accepted
    assert smtp_server.connections == 3
    assert [m.connection for m in smtp_server.messages] == [1, 1, 1, 2, 2, 2, 3]


def test_server_cap_421_reconnects_and_delivers_each_once(smtp_server: SmtpTestServer) -> None:
    smtp_server.handler.max_per_connection = 2
    fake = FakeTime()
    with mailer_for(smtp_server, fake, backoff=0.5) as mailer:
        for n in range(5):
            assert mailer.send(message(n=n)).accepted
    assert sorted(m.message["Subject"] for m in smtp_server.messages) == [f"Message {n}" for n in range(5)]
    assert smtp_server.connections == 3 and fake.sleeps == []  # reconnected at once, no back-off


def test_reconnects_when_a_reused_connection_was_closed(tmp_path: Path) -> None:
    port = free_port()
    fake = FakeTime()
    first = SmtpTestServer(port=port).start()
    mailer = SmtpMailer(SmtpSettings("127.0.0.1", port), clock=fake.clock, sleep=fake.sleep)
    assert mailer.send(message(n=1)).accepted
    first.stop()  # e.g. the server's idle timeout
    with SmtpTestServer(port=port) as second:
        assert mailer.send(message(n=2)).accepted
        mailer.close()
        assert len(second.messages) == 1
    assert fake.sleeps == []  # a stale connection costs no retry and no back-off


def test_temporary_refusal_is_retried_and_delivered_once(smtp_server: SmtpTestServer) -> None:
    smtp_server.handler.rcpt_replies["ayse@example.com"] = ["451 4.7.1 Greylisted, try again"]
    fake = FakeTime()
    with mailer_for(smtp_server, fake, backoff=2.0) as mailer:
        result = mailer.send(message())
    assert result.accepted
    assert len(smtp_server.messages) == 1
    assert fake.sleeps == [2.0]
    assert smtp_server.connections == 1  # a 451 does not cost the connection


def test_permanent_refusal_is_reported_not_retried(smtp_server: SmtpTestServer) -> None:
    smtp_server.handler.rcpt_replies["gone@example.com"] = ["550 5.1.1 No such user"]
    fake = FakeTime()
    with mailer_for(smtp_server, fake) as mailer:
        result = mailer.send(message("gone@example.com"))
        assert result.permanent_failure and result.code == 550 and "No such user" in result.detail
        assert mailer.send(message("ok@example.com")).accepted  # the connection is still good
    assert fake.sleeps == [] and smtp_server.handler.mail_commands == 2
    assert [m.rcpt_tos for m in smtp_server.messages] == [("ok@example.com",)]
    assert smtp_server.connections == 1


def test_persistent_4xx_raises_temporary_failure_after_retries(smtp_server: SmtpTestServer) -> None:
    smtp_server.handler.rcpt_replies["ayse@example.com"] = ["452 4.2.2 Mailbox full"] * 10
    fake = FakeTime()
    with mailer_for(smtp_server, fake, retries=3, backoff=1.0) as mailer, \
            pytest.raises(TemporaryFailure) as caught:
        mailer.send(message())
    assert caught.value.code == 452 and not caught.value.connection
    assert fake.sleeps == [1.0, 2.0, 4.0]  # exponential back-off
    assert smtp_server.handler.mail_commands == 4 and smtp_server.messages == []


def test_sender_refused_is_fatal_and_mail_4xx_is_retried(smtp_server: SmtpTestServer) -> None:
    smtp_server.handler.mail_replies = ["451 4.3.0 Local error", "553 5.7.1 Sender not allowed"]
    fake = FakeTime()
    with mailer_for(smtp_server, fake) as mailer, pytest.raises(MailerError, match="refused the sender"):
        mailer.send(message())
    assert fake.sleeps == [1.0] and smtp_server.messages == []


def test_server_down_raises_temporary_failure_after_retries() -> None:
    fake = FakeTime()
    mailer = SmtpMailer(SmtpSettings("127.0.0.1", free_port(), timeout=2), retries=2, backoff=0.25,
                        clock=fake.clock, sleep=fake.sleep)
    with pytest.raises(TemporaryFailure) as caught:
        mailer.send(message())
    assert caught.value.connection and "cannot connect" in caught.value.reason
    assert fake.sleeps == [0.25, 0.5]


def test_connection_lost_after_data_is_in_doubt_and_not_resent(smtp_server: SmtpTestServer) -> None:
    smtp_server.handler.drop_after_data.add("ayse@example.com")
    fake = FakeTime()
    with mailer_for(smtp_server, fake) as mailer:
        result = mailer.send(message())
    assert result.in_doubt and not result.accepted
    assert len(smtp_server.messages) == 1  # the server has it; sending again would duplicate it
    assert fake.sleeps == []


def test_rate_limit_with_injected_clock(smtp_server: SmtpTestServer) -> None:
    fake = FakeTime()
    with mailer_for(smtp_server, fake, rate=5) as mailer:
        for n in range(6):
            assert mailer.send(message(n=n)).accepted
    assert fake.sleeps == pytest.approx([0.2] * 5)  # first one at once, then one every 1/5 s


def test_token_bucket_is_shared_fairly_across_threads() -> None:
    fake = FakeTime()
    bucket = TokenBucket(10, clock=fake.clock, sleep=fake.sleep)
    threads = [threading.Thread(target=lambda: [bucket.acquire() for _ in range(5)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(fake.sleeps) == 19  # 20 tokens; one was in the bucket
    assert max(fake.sleeps) <= 2.0  # each waits for its own turn, never the whole queue twice


def test_bcc_is_in_the_envelope_not_the_headers() -> None:
    msg = message()
    msg["Bcc"] = "audit@example.org"
    assert envelope(msg) == ("news@example.org", ["ayse@example.com", "audit@example.org"])
    assert b"audit@" not in message_bytes(msg) and msg["Bcc"] == "audit@example.org"


# ---------------------------------------------------------------- TLS and login


@pytest.fixture
def tls_contexts(tmp_path: Path) -> tuple[object, object]:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    return self_signed_tls(tmp_path)


@pytest.mark.parametrize("scheme", ["smtp+starttls", "smtps"])
def test_tls_and_login(scheme: str, tls_contexts: tuple[object, object]) -> None:
    server_ctx, client_ctx = tls_contexts
    with SmtpTestServer(tls_context=server_ctx, implicit_tls=scheme == "smtps",  # type: ignore[arg-type]
                        credentials=("me@example.org", "pa:ss/w@rd")) as server:
        url = f"{scheme}://me%40example.org:pa%3Ass%2Fw%40rd@127.0.0.1:{server.port}"
        with make_mailer(url, "unused", ssl_context=client_ctx) as mailer:
            assert mailer.send(message()).accepted
        bad = f"{scheme}://me%40example.org:s3cret-wrong@127.0.0.1:{server.port}"
        with make_mailer(bad, "unused", ssl_context=client_ctx) as mailer, pytest.raises(MailerError) as caught:
            mailer.send(message())
        assert "s3cret" not in str(caught.value) and "user name or password" in str(caught.value)
        assert len(server.messages) == 1


# ---------------------------------------------------------------- SMTP_URL


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://mail.example.org", SmtpSettings("mail.example.org", 25, "plain")),
    ("smtp://user:p%40ss%3Aw@mail.example.org:2525",
     SmtpSettings("mail.example.org", 2525, "plain", "user", "p@ss:w")),
    ("smtp://me%40example.org:pw@mail.example.org?starttls=1",
     SmtpSettings("mail.example.org", 587, "starttls", "me@example.org", "pw")),
    ("smtp+starttls://mail.example.org", SmtpSettings("mail.example.org", 587, "starttls")),
    ("SMTPS://mail.example.org", SmtpSettings("mail.example.org", 465, "tls")),
    ("smtps://mail.example.org:2465/?timeout=5", SmtpSettings("mail.example.org", 2465, "tls", timeout=5.0)),
    ("smtp://[::1]:1025?starttls=0", SmtpSettings("::1", 1025, "plain")),
])
def test_parse_smtp_url(url: str, expected: SmtpSettings) -> None:
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize("url", [
    "http://user:s3cret@mail.example.org", "smtp://user:s3cret@", "smtp://user:s3cret@host:99999",
    "smtp://user:s3cret@host:port", "smtps://user:s3cret@host?starttls=1", "smtp+starttls://u:s3cret@h?starttls=0",
    "smtp://user@host", "smtp://:s3cret@host", "smtp://u:s3cret@host?tls=1", "smtp://u:s3cret@host/path",
    "smtp://u:s3cret@host?timeout=-1", "smtp://u:s3cret@[::1", "", "smtp://u:s3cr%C3%A9t@host",
])
def test_parse_smtp_url_refuses_without_echoing_the_password(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_smtp_url(url)
    assert "SMTP_URL" in str(caught.value) and "s3cret" not in str(caught.value)


def test_password_is_not_in_repr() -> None:
    assert "s3cret" not in repr(parse_smtp_url("smtp://u:s3cret@host"))


def test_make_mailer(tmp_path: Path) -> None:
    assert isinstance(make_mailer(None, tmp_path, rate=5, max_per_connection=10), OutboxMailer)
    smtp = make_mailer("smtp://mail.example.org:2525", tmp_path, rate=5, max_per_connection=10)
    assert isinstance(smtp, SmtpMailer) and smtp.settings.port == 2525 and smtp.max_per_connection == 10


# ---------------------------------------------------------------- outbox


def test_outbox_writes_parseable_eml_files(tmp_path: Path) -> None:
    outbox = tmp_path / "instance" / "outbox"
    with OutboxMailer(outbox) as mailer:
        results = [mailer.send(message(n=n, body="Merhaba dünya\n")) for n in range(3)]
    assert all(r.accepted for r in results)
    files = sorted(outbox.iterdir())
    assert [f.suffix for f in files] == [".eml"] * 3  # and no temporary files left behind
    raw = files[0].read_bytes()
    assert raw.count(b"\n") == raw.count(b"\r\n")
    got = email.message_from_bytes(raw, policy=email.policy.default)
    assert got["Subject"] == "Message 0" and got.get_content() == "Merhaba dünya\r\n"  # type: ignore[attr-defined]
    assert "m0.ayse.example.com" in files[0].name and files[0].name[:8].isdigit()


def test_outbox_failure_is_temporary(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(TemporaryFailure):
        OutboxMailer(blocker / "outbox").send(message())


# ---------------------------------------------------------------- send_many


def test_send_many_delivers_each_message_exactly_once(smtp_server: SmtpTestServer) -> None:
    results: dict[int, SendResult] = {}
    threads: set[int] = set()

    def on_result(key: int, result: SendResult) -> None:
        threads.add(threading.get_ident())
        assert key not in results
        results[key] = result

    mailer = mailer_for(smtp_server, max_per_connection=7)
    report = mailer.send_many(((n, message(f"user{n}@example.com", n)) for n in range(60)),
                              connections=4, on_result=on_result)
    assert report.accepted == 60 and sorted(results) == list(range(60))
    counts = collections.Counter(m.rcpt_tos[0] for m in smtp_server.messages)
    assert len(counts) == 60 and set(counts.values()) == {1}
    assert threads == {threading.get_ident()}  # on_result runs in the caller's thread
    assert 4 <= smtp_server.connections <= 4 * 3  # four workers, each reconnecting after 7


def test_send_many_reports_each_outcome(smtp_server: SmtpTestServer) -> None:
    smtp_server.handler.rcpt_replies["gone@example.com"] = ["550 5.1.1 No such user"]
    smtp_server.handler.rcpt_replies["full@example.com"] = ["452 4.2.2 Mailbox full"] * 10
    smtp_server.handler.drop_after_data.add("doubt@example.com")
    seen: dict[str, str] = {}
    to = ["a@example.com", "gone@example.com", "full@example.com", "doubt@example.com", "b@example.com"]
    report = mailer_for(smtp_server, retries=1, backoff=0).send_many(
        ((addr, message(addr)) for addr in to), connections=2,
        on_result=lambda key, result: seen.__setitem__(key, result.status))
    assert seen == {"a@example.com": "accepted", "b@example.com": "accepted",
                    "gone@example.com": "permanent_failure", "doubt@example.com": "in_doubt"}
    assert [key for key, _ in report.temporary_failures] == ["full@example.com"]
    assert (report.accepted, report.permanent_failures, report.in_doubt) == (2, 1, 1)


def test_send_many_stops_when_the_server_is_down() -> None:
    mailer = SmtpMailer(SmtpSettings("127.0.0.1", free_port(), timeout=2), retries=1, backoff=0)
    called: list[int] = []
    produced: list[int] = []

    def messages() -> Iterator[tuple[int, EmailMessage]]:
        for n in range(1000):
            produced.append(n)
            yield n, message(n=n)

    with pytest.raises(TemporaryFailure):
        mailer.send_many(messages(), connections=3, on_result=lambda k, r: called.append(k))
    assert called == [] and len(produced) < 100


def test_send_many_stops_on_a_server_that_answers_421(smtp_server: SmtpTestServer) -> None:
    smtp_server.handler.max_per_connection = 0  # "421 maximum message count" at every MAIL
    with pytest.raises(TemporaryFailure) as caught:
        mailer_for(smtp_server, retries=1, backoff=0).send_many(
            ((n, message(n=n)) for n in range(200)), connections=2, on_result=lambda k, r: None)
    assert caught.value.code == 421 and caught.value.connection
    assert smtp_server.handler.mail_commands < 20


def test_send_many_is_lazy_and_bounded(smtp_server: SmtpTestServer) -> None:
    produced = 0
    ahead: list[int] = []

    def messages() -> Iterator[tuple[int, EmailMessage]]:
        nonlocal produced
        for n in range(40):
            produced += 1
            yield n, message(n=n)

    def on_result(key: int, result: SendResult) -> None:
        ahead.append(produced - len(ahead))  # rendered but not yet recorded

    mailer_for(smtp_server).send_many(messages(), connections=2, queue_size=3, on_result=on_result)
    assert len(ahead) == 40 and max(ahead) <= 3 + 2 + 2  # queue + one per worker + the one being put


def test_send_many_raises_when_on_result_fails_and_stops_cleanly(smtp_server: SmtpTestServer) -> None:
    before = threading.active_count()

    def on_result(key: int, result: SendResult) -> None:
        if key == 3:
            raise RuntimeError("ledger is down")

    with pytest.raises(RuntimeError, match="ledger is down"):
        mailer_for(smtp_server).send_many(((n, message(n=n)) for n in range(500)), connections=2,
                                          on_result=on_result)
    assert len(smtp_server.messages) < 50  # stopped early
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before


def test_send_many_through_the_outbox(tmp_path: Path) -> None:
    seen: list[int] = []
    report = OutboxMailer(tmp_path).send_many(((n, message(n=n)) for n in range(10)), connections=3,
                                              on_result=lambda k, r: seen.append(k))
    assert report.accepted == 10 and sorted(seen) == list(range(10))
    assert len(list(tmp_path.glob("*.eml"))) == 10


def test_a_refused_login_stops_send_many(tls_contexts: tuple[object, object]) -> None:
    server_ctx, client_ctx = tls_contexts
    with SmtpTestServer(tls_context=server_ctx, credentials=("me", "right")) as server:  # type: ignore[arg-type]
        mailer = make_mailer(f"smtp+starttls://me:wrong@127.0.0.1:{server.port}", "unused", ssl_context=client_ctx)
        with pytest.raises(MailerError):
            mailer.send_many(((n, message(n=n)) for n in range(20)), connections=2, on_result=lambda k, r: None)
        assert server.messages == []

