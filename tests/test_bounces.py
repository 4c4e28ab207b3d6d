"""Bounces and complaints end to end, through real parts: digests sent with VERP return paths to a real
SMTP server, real DSNs and ARF reports put into a real IMAP server (a private dovecot) by APPEND,
`feedsvc bounces` run as an operator runs it, the database on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from feedsvc.bounces.mailbox import PROCESSED, UNRECOGNISED, ImapBox, MailboxError, open_mailbox
from feedsvc.bounces.mailbox_url import parse_mailbox
from feedsvc.bounces.processor import BounceProcessor
from feedsvc.bounces.verp import ReturnPaths
from feedsvc.config import load_settings
from feedsvc.runs.postman import Postman
from feedsvc.storage import Storage
from tests.bounce_messages import gmail_hard_bounce, mailbox_full, yahoo_complaint
from tests.dovecot import Dovecot, run_dovecot
from tests.smtp_server import Received
from tests.test_runs import NEW_RELEASES, ingest

SECRET = "bounce-test-secret-long-enough-for-production"
DOMAIN = "bounces.press.example.org"
READERS = ["hard@gmail.com", "full@gmail.com", "spam@yahoo.com", "aol@aol.com", "fine@example.net"]


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    yield from run_dovecot()


@pytest.fixture
def env(env: dict[str, str], mail_env: dict[str, str]) -> dict[str, str]:
    return env | mail_env | {"SECRET_KEY": SECRET, "FEEDSVC_BOUNCE_DOMAIN": DOMAIN}


def send_digest(env: dict[str, str], storage: Storage, clock, content_dir: Path, smtp_server,  # type: ignore[no-untyped-def]
                readers: list[str], edition: int = 0) -> dict[str, Received]:
    """A digest of new releases to each reader; what the SMTP server received, by recipient."""
    for address in readers:
        storage.add_confirmed(address, (), "daily", clock())
    (content_dir / f"new{edition}.txt").write_text(edition_text(edition), encoding="utf-8")
    before = len(smtp_server.messages)
    ingest(env, storage)
    postman = Postman(storage, load_settings(env), clock=clock)
    postman.manual_runs(("daily",))
    assert postman.send_pending().sent == len(readers)
    return {m.rcpt_tos[0]: m for m in smtp_server.messages[before:]}


def edition_text(edition: int) -> str:
    """A listing whose releases are new in each edition (new titles, so new releases)."""
    return NEW_RELEASES.replace("Why Safe Migration Matters", f"Why Safe Migration Matters, part {edition}") \
        .replace("After New Arrivals", f"After New Arrivals in Week {edition}")


def run_cli(*args: str, env: dict[str, str], extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("FEEDSVC_", "DATABASE_URL", "SMTP_URL"))}
    full.update(env, **(extra or {}))
    return subprocess.run([sys.executable, "-m", "feedsvc.cli", *args], env=full, capture_output=True, text=True,
                          timeout=300, check=False)


def test_each_message_goes_out_with_its_own_signed_return_path(env, storage, clock, content_dir,  # type: ignore[no-untyped-def]
                                                               smtp_server) -> None:
    got = send_digest(env, storage, clock, content_dir, smtp_server, READERS[:2])
    paths = ReturnPaths(SECRET, DOMAIN)
    for address, received in got.items():
        token = paths.read(received.mail_from)
        assert token is not None and token.kind == "digest", received.mail_from
        sub = storage.get_subscriber_by_email(address)
        assert sub is not None and token.subscriber_id == sub.id
        delivery = storage.get_delivery(token.ref)
        assert delivery is not None and delivery["subscriber_id"] == sub.id and delivery["state"] == "sent"
        assert b"Return-Path" not in received.data  # RFC 5321 §4.4: the receiving server writes it
        assert received.message["From"] == "IOM Turkey <news@press.example.org>"  # the From is unchanged


def test_the_outbox_records_each_return_path(env, storage, clock, content_dir, smtp_server,  # type: ignore[no-untyped-def]
                                             tmp_path: Path) -> None:
    del env["SMTP_URL"]
    storage.add_confirmed("reader@example.net", (), "daily", clock())
    (content_dir / "new.txt").write_text(NEW_RELEASES, encoding="utf-8")
    ingest(env, storage)
    postman = Postman(storage, load_settings(env), clock=clock)
    postman.manual_runs(("daily",))
    assert postman.send_pending().sent == 1
    written, = (tmp_path / "instance" / "outbox").glob("*.eml")
    first = written.read_bytes().split(b"\r\n", 1)[0].decode()
    assert first.startswith("Return-Path: <bounces+") and first.endswith(f"@{DOMAIN}>")
    token = ReturnPaths(SECRET, DOMAIN).read(first.split(": ", 1)[1])
    sub = storage.get_subscriber_by_email("reader@example.net")
    assert token is not None and sub is not None and token.subscriber_id == sub.id


def test_an_operator_reads_a_bounce_mailbox_of_hard_soft_and_complaint_messages(  # type: ignore[no-untyped-def]
        env, storage, clock, content_dir, smtp_server, dovecot: Dovecot) -> None:
    got = send_digest(env, storage, clock, content_dir, smtp_server, READERS)
    verp = {address: m.mail_from for address, m in got.items()}
    dovecot.append(gmail_hard_bounce(verp["hard@gmail.com"], got["hard@gmail.com"].data))
    dovecot.append(mailbox_full(verp["full@gmail.com"], got["full@gmail.com"].data))
    dovecot.append(yahoo_complaint(verp["spam@yahoo.com"], got["spam@yahoo.com"].data))
    dovecot.append(yahoo_complaint(verp["aol@aol.com"], got["aol@aol.com"].data, aol=True, report_id="aol.77"))
    dovecot.append(b"From: fine@example.net\r\nTo: " + verp["fine@example.net"].encode() +
                   b"\r\nSubject: Auto: out of office\r\nMessage-ID: <ooo.1@example.net>\r\n\r\nAway.\r\n")
    env = {**env, "FEEDSVC_BOUNCE_MAILBOX": dovecot.url("imaps")}
    trust = {"SSL_CERT_FILE": str(dovecot.cert)}  # the test server's self-signed certificate

    done = run_cli("bounces", env=env, extra=trust)
    assert done.returncode == 0, done.stderr
    assert ("bounces: 5 messages read: 1 hard, 1 soft, 2 complaints, 0 already counted, 0 unmatched, "
            "1 unrecognised; 3 addresses suppressed") in done.stdout
    for address in ("hard@gmail.com", "spam@yahoo.com", "aol@aol.com"):
        assert f"suppressed {address}" in done.stdout
    # Two complaints out of five delivered: far past 0.3%, so sending paused by itself, and said so.
    assert "sending is paused" in done.stderr and "2 spam complaints for 5 delivered" in done.stderr
    assert "SENDING PAUSED" in done.stdout
    assert (dovecot.count("INBOX"), dovecot.count(PROCESSED), dovecot.count(UNRECOGNISED)) == (0, 4, 1)

    kinds = {s.email: (s.kind, s.reason) for s in storage.suppressions()}
    assert kinds["hard@gmail.com"][0] == "hard" and "5.1.1" in kinds["hard@gmail.com"][1]
    assert {a: k for a, (k, _) in kinds.items()} == {"hard@gmail.com": "hard", "spam@yahoo.com": "complaint",
                                                     "aol@aol.com": "complaint"}
    states = {a: storage.get_subscriber_by_email(a).state for a in READERS}  # type: ignore[union-attr]
    assert states == {"hard@gmail.com": "bounced", "full@gmail.com": "confirmed", "spam@yahoo.com": "unsubscribed",
                      "aol@aol.com": "unsubscribed", "fine@example.net": "confirmed"}
    run_id = storage.get_delivery(ReturnPaths(SECRET, DOMAIN).read(verp["hard@gmail.com"]).ref)["run_id"]  # type: ignore[union-attr, index]
    rates = storage.run_rates([run_id])[run_id]
    assert (rates.delivered, rates.bounced, rates.complaints) == (5, 2, 2)

    # The same DSN delivered again (same Message-ID): read, counted once, filed.
    dovecot.append(gmail_hard_bounce(verp["hard@gmail.com"], got["hard@gmail.com"].data))
    again = run_cli("bounces", env=env, extra=trust)
    assert "bounces: 1 messages read: 0 hard, 0 soft, 0 complaints, 1 already counted" in again.stdout
    assert storage.bounce_event_counts() == {"hard": 1, "soft": 1, "complaint": 2}
    assert dovecot.count("INBOX") == 0

    # Paused: nothing goes out, whatever is planned, until the operator resumes.
    postman = Postman(storage, load_settings(env), clock=clock)
    postman.manual_runs(("daily",))
    assert postman.send_pending().paused is not None
    resumed = run_cli("digest", "--resume", env=env, extra=trust)
    assert resumed.returncode == 0, resumed.stderr
    assert "sending resumed (paused since" in resumed.stdout
    assert storage.sending_pause() is None
    # Resumed, the same run's complaints do not pause sending again: an operator has looked at it.
    assert storage.pause_acknowledged(run_id)


def test_imap_with_starttls_and_a_wrong_password(dovecot: Dovecot) -> None:
    box = open_mailbox(parse_mailbox(dovecot.url("imap")), ssl_context=dovecot.client_tls)
    try:
        assert box.count() == 0
        assert isinstance(box, ImapBox) and {"MOVE", "UIDPLUS"} <= box.capabilities  # as logged in, not at the greeting
    finally:
        box.close()
    wrong = dovecot.url("imap").replace("s3cret", "wrong")
    with pytest.raises(MailboxError, match=r"AUTHENTICATIONFAILED|Authentication failed") as raised:
        open_mailbox(parse_mailbox(wrong), ssl_context=dovecot.client_tls)
    assert "wrong" not in str(raised.value) and "s3cret" not in str(raised.value)  # never the password
    with pytest.raises(MailboxError, match="certificate"):  # a certificate nobody vouches for is refused
        open_mailbox(parse_mailbox(dovecot.url("imaps")))


def test_a_maildir_three_soft_bounces_suppress_and_planner_and_confirmations_skip(  # type: ignore[no-untyped-def]
        env, storage, clock, content_dir, smtp_server, tmp_path: Path) -> None:
    import mailbox

    maildir = tmp_path / "Maildir"
    box = mailbox.Maildir(maildir, create=True)
    env = {**env, "FEEDSVC_BOUNCE_MAILBOX": str(maildir)}
    processor = BounceProcessor(storage, load_settings(env), clock)
    for edition in range(3):
        got = send_digest(env, storage, clock, content_dir, smtp_server, ["full@gmail.com"], edition)
        box.add(mailbox_full(got["full@gmail.com"].mail_from, got["full@gmail.com"].data, queue_id=f"Q{edition}"))
        tally = processor.read_mailbox()
        assert (tally.read, tally.soft) == (1, 1)
        assert tally.suppressed == (["full@gmail.com"] if edition == 2 else [])
        clock.advance(days=2)
    assert len(box) == 0 and len(box.get_folder(PROCESSED)) == 3
    suppression, = storage.suppressions()
    assert suppression.reason.startswith("3 soft bounces within 14 days")

    # Re-added by hand, a suppressed address is still not planned; a sign-up's confirmation is dropped.
    storage.add_confirmed("full@gmail.com", (), "daily", clock())
    (content_dir / "more.txt").write_text(edition_text(99), encoding="utf-8")
    ingest(env, storage)
    postman = Postman(storage, load_settings(env), clock=clock)
    postman.manual_runs(("daily",))
    before = len(smtp_server.messages)
    assert postman.send_pending().sent == 0 and len(smtp_server.messages) == before
    storage.remove_subscriber("full@gmail.com")
    storage.subscribe("full@gmail.com", (), "daily", clock())
    assert storage.claim_confirmations(clock(), stale_before=clock()) == []
    assert storage.confirmation_counts() == {"failed": 1}

    # Lifted: mailed again.
    assert storage.lift_suppression("full@gmail.com", clock())
    storage.subscribe("full@gmail.com", (), "daily", clock.advance(hours=2))
    claimed = storage.claim_confirmations(clock(), stale_before=clock())
    assert [c.email for c in claimed] == ["full@gmail.com"]


def test_the_clock_reads_the_mailbox_every_five_minutes_and_survives_its_failures(  # type: ignore[no-untyped-def]
        env, storage, clock, content_dir, smtp_server, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import datetime as dt
    import mailbox

    from feedsvc.cli.bounces import bounce_reader
    from feedsvc.scheduler import Clock as DigestClock
    from feedsvc.services import build_services

    got = send_digest(env, storage, clock, content_dir, smtp_server, ["hard@gmail.com"])
    maildir = tmp_path / "Maildir"
    mailbox.Maildir(maildir, create=True).add(gmail_hard_bounce(got["hard@gmail.com"].mail_from,
                                                                got["hard@gmail.com"].data))
    services = build_services(load_settings({**env, "FEEDSVC_BOUNCE_MAILBOX": str(maildir)}), clock, storage=storage)
    assert bounce_reader(build_services(load_settings(env), clock, storage=storage)) is None  # unset: no job
    digest_clock = DigestClock(services.postman(), services.settings, read_bounces=bounce_reader(services))
    digest_clock.start()
    try:
        job = digest_clock.scheduler.get_job("bounces")
        assert job is not None and job.trigger.interval == dt.timedelta(minutes=5)
    finally:
        digest_clock.stop()
    digest_clock.bounces()  # what the job runs
    assert storage.is_suppressed("hard@gmail.com") and len(mailbox.Maildir(maildir)) == 0
    (maildir / "new").rename(tmp_path / "gone")  # the mailbox breaks: logged, the clock goes on
    digest_clock.bounces()
    assert "reading the bounce mailbox failed" in caplog.text and "not a maildir" in caplog.text


def test_a_bounced_confirmation_email_suppresses_its_address_without_touching_any_run(  # type: ignore[no-untyped-def]
        env, storage, clock, content_dir, smtp_server, tmp_path: Path) -> None:
    import mailbox

    from feedsvc.services import build_services

    got = send_digest(env, storage, clock, content_dir, smtp_server, ["reader@example.net"])  # a run, sent
    run_id = storage.get_delivery(ReturnPaths(SECRET, DOMAIN).read(got["reader@example.net"].mail_from).ref)["run_id"]  # type: ignore[union-attr, index]
    services = build_services(load_settings(env), clock, storage=storage)
    # The reader leaves, then signs up again: the confirmation email is what bounces, not the digest.
    reader = storage.get_subscriber_by_email("reader@example.net")
    assert reader is not None and storage.unsubscribe(reader.id, clock())
    storage.subscribe("reader@example.net", (), "weekly", clock.advance(hours=1))
    assert services.confirmations().send_queued().sent == 1
    sent = smtp_server.messages[-1]
    token = ReturnPaths(SECRET, DOMAIN).read(sent.mail_from)
    assert token is not None and token.kind == "confirmation"
    maildir = tmp_path / "Maildir"
    mailbox.Maildir(maildir, create=True).add(gmail_hard_bounce(sent.mail_from, sent.data))
    processor = BounceProcessor(storage, load_settings({**env, "FEEDSVC_BOUNCE_MAILBOX": str(maildir)}), clock)
    assert processor.read_mailbox().suppressed == ["reader@example.net"]
    assert storage.get_subscriber_by_email("reader@example.net").state == "bounced"  # type: ignore[union-attr]
    assert storage.run_rates([run_id])[run_id].bounced == 0  # a confirmation is no digest run's bounce
