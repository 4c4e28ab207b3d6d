"""Mail servers that misbehave (issue 14.4), through real parts on SQLite and PostgreSQL: aiosmtpd on
loopback refusing every recipient (a misconfigured relay), cutting the line after accepting, or
answering 4xx; the ledger, /admin and the `feedsvc digest` command."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa

from feedsvc.cli import make_ingester
from feedsvc.config import Settings, load_settings
from feedsvc.deliveries import MAX_ATTEMPTS
from feedsvc.runs.postman import Postman
from feedsvc.storage import Storage
from feedsvc.storage.mail_schema import DELIVERIES
from feedsvc.transport.smtp import SmtpMailer, parse_smtp_url
from tests.html_tables import table_rows
from tests.smtp_server import SmtpTestServer, free_port
from tests.test_cli import run
from tests.test_failure_paths import listing

ADMIN_TOKEN = "mail-servers-admin-token"
RELAYING_DENIED = "554 5.7.1 Relay access denied"
DENIED_TEXT = "5.7.1 Relay access denied"  # as the mailer reports it: "554 RCPT: 5.7.1 …"


@pytest.fixture
def env(env: dict[str, str], mail_env: dict[str, str]) -> dict[str, str]:
    return env | mail_env | {"FEEDSVC_ADMIN_TOKEN": ADMIN_TOKEN, "LOG_LEVEL": "WARNING"}


def readers_with_news(storage: Storage, settings: Settings, addresses: list[str], clock: Any) -> None:
    """Confirmed readers, then a release none of them has had: each gets a delivery in the next run."""
    for address in addresses:
        storage.add_confirmed(address, (), "daily", clock() - dt.timedelta(hours=1))
    (settings.content_dir / "news.txt").write_text(listing("Shelter Upgrades Finished Before Winter"),
                                                   encoding="utf-8")
    make_ingester(settings, storage).scan()


def quick_postman(storage: Storage, settings: Settings, clock: Any) -> Postman:
    """The real Postman and SMTP mailer, without the mailer's own back-off between retries (seconds each)."""
    url = settings.smtp_url
    assert url
    return Postman(storage, settings, clock=clock,
                   mailer_factory=lambda: SmtpMailer(parse_smtp_url(url), retries=0))


def admin_page(env: dict[str, str], make_app: Any) -> tuple[Any, str]:
    client = make_app(env).test_client()
    resp = client.get("/admin", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert resp.status_code == 200
    return client, resp.get_data(as_text=True)


def ledger(storage: Storage) -> list[Any]:
    with storage.read("test: the ledger") as conn:
        return list(conn.execute(sa.select(DELIVERIES).order_by(DELIVERIES.c.id)))


def to_whom(server: SmtpTestServer) -> Counter[str]:
    return Counter(m.rcpt_tos[0] for m in server.messages)


# -- a relay that refuses everyone ------------------------------------------------------------


def test_a_relay_refusing_every_recipient_pauses_the_run_and_bounces_nobody(
        env: dict[str, str], storage: Storage, smtp_server: SmtpTestServer, clock: Any, make_app: Any,
        caplog: pytest.LogCaptureFixture) -> None:
    settings = load_settings(env)
    readers = [f"reader{i:02}@domain{i:02}.example" for i in range(35)]  # 35 different domains
    readers_with_news(storage, settings, readers, clock)
    postman = Postman(storage, settings, clock=clock)
    (run_id,) = postman.manual_runs(("daily",))
    smtp_server.handler.rcpt_default = RELAYING_DENIED  # relaying denied to this sender: a config error

    with caplog.at_level(logging.ERROR, logger="feedsvc.postman"):
        report = postman.send_pending()
    assert report.relay_failing and report.sent == report.failed == 0
    assert smtp_server.messages == []
    # Refused 20 times in a row for 20 domains, then it stopped (at most a message in flight on
    # each other connection got its answer after that).
    assert 20 <= smtp_server.handler.rcpt_commands <= 20 + settings.mail_connections - 1
    (line,) = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert "PAUSED" in line and "20 different recipient domains" in line and DENIED_TEXT in line
    assert "Nobody was marked bounced" in line and "`feedsvc digest`" in line
    # Nobody bounced; every delivery is planned again, none counted as an attempt.
    assert {s.state for s in storage.iter_subscribers()} == {"confirmed"}
    assert [(d.state, d.attempts, d.in_doubt) for d in ledger(storage)] == [("pending", 0, False)] * 35
    pause = storage.sending_pause()
    assert pause is not None and pause.cause == "relay" and DENIED_TEXT in pause.reason
    assert "nobody was marked bounced" in pause.reason

    # The clock, every minute: sending stays paused (not one more connection to the relay), and
    # a run planned meanwhile waits with the rest.
    connections = smtp_server.connections
    (later,) = postman.manual_runs(("weekly",))
    again = postman.send_pending()
    assert again.sent == 0 and again.paused and DENIED_TEXT in again.paused
    assert smtp_server.connections == connections

    # /admin says so at the top.
    _, page = admin_page(env, make_app)
    assert "Sending is paused" in page and DENIED_TEXT in page and "Nobody was marked bounced" in page
    assert "Resume sending" in page
    (row,) = [r for r in table_rows(page, "digest-runs") if r.get("Run", "").startswith(f"#{run_id} ")]
    assert (row["Finished"], row["Pending"], row["Failed"]) == ("not yet", "35", "0")

    # The operator fixes the relay and runs `feedsvc digest`: each reader gets the digest once.
    smtp_server.handler.rcpt_default = None
    out = run("digest", env=env | {"LOG_LEVEL": "INFO"}).stdout
    assert "sending resumed (it was paused: the relay refused 20 messages in a row" in out
    assert "digests: 35 sent" in out
    assert to_whom(smtp_server) == dict.fromkeys(readers, 1)
    assert storage.sending_pause() is None and {s.state for s in storage.iter_subscribers()} == {"confirmed"}
    assert all(r.finished_at is not None for r in storage.run_summaries()) and later
    assert "Sending is paused" not in admin_page(env, make_app)[1]


def test_a_complaints_pause_is_not_lifted_by_plain_digest(env: dict[str, str], storage: Storage,
                                                         smtp_server: SmtpTestServer, clock: Any) -> None:
    """Only the relay's pause goes with `feedsvc digest`: one for spam complaints needs --resume."""
    settings = load_settings(env)
    readers_with_news(storage, settings, ["reader@example.org"], clock)
    Postman(storage, settings, clock=clock).manual_runs(("daily",))
    storage.pause_sending("digest run #1: 2 spam complaints", clock(), run_id=1)
    assert "sending is paused (digest run #1: 2 spam complaints)" in run("digest", env=env).stdout
    assert smtp_server.messages == [] and storage.sending_pause() is not None
    assert "digests: 1 sent" in run("digest", "--resume", env=env).stdout


def test_refusals_the_relay_cannot_explain_are_bounces(env: dict[str, str], storage: Storage,
                                                       smtp_server: SmtpTestServer, clock: Any) -> None:
    """What does not pause: 25 refusals at one domain (its addresses are gone), and refusals between acceptances."""
    settings = load_settings(env)
    gone = [f"former{i:02}@defunct.example" for i in range(25)]
    mixed = [f"reader{i}@site{i}.example" for i in range(6)]
    readers_with_news(storage, settings, gone + mixed, clock)
    for address in gone + mixed[:2]:
        smtp_server.handler.rcpt_replies[address] = ["550 5.1.1 No such user"]
    postman = Postman(storage, settings, clock=clock)
    postman.manual_runs(("daily",))
    report = postman.send_pending()
    assert report.relay_failing is None and storage.sending_pause() is None
    assert (report.sent, report.failed) == (4, 27)
    states = {s.email: s.state for s in storage.iter_subscribers()}
    assert states == dict.fromkeys(gone + mixed[:2], "bounced") | dict.fromkeys(mixed[2:], "confirmed")
    assert to_whom(smtp_server) == dict.fromkeys(mixed[2:], 1)


def test_the_admin_button_resumes_a_paused_relay(env: dict[str, str], storage: Storage, smtp_server: SmtpTestServer,
                                                 clock: Any, make_app: Any) -> None:
    settings = load_settings(env | {"FEEDSVC_RELAY_FAILURES": "3"})
    readers = [f"reader{i}@domain{i}.example" for i in range(5)]
    readers_with_news(storage, settings, readers, clock)
    postman = Postman(storage, settings, clock=clock)
    postman.manual_runs(("daily",))
    smtp_server.handler.rcpt_default = RELAYING_DENIED
    assert postman.send_pending().relay_failing
    smtp_server.handler.rcpt_default = None

    client, _ = admin_page(env, make_app)
    login = client.get("/admin/login").get_data(as_text=True)
    csrf = login.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert client.post("/admin/login", data={"token": ADMIN_TOKEN, "csrf_token": csrf}).status_code == 302
    page = client.get("/admin").get_data(as_text=True)
    csrf = page.split('action="/admin/resume"><input id="csrf_token" name="csrf_token" type="hidden" value="')[1]
    assert client.post("/admin/resume", data={"csrf_token": csrf.split('"')[0]}).status_code == 303
    assert storage.sending_pause() is None
    # The clock's next pass sends it (it sends whatever is pending while sending is not paused).
    assert postman.send_pending().sent == 5 and to_whom(smtp_server) == dict.fromkeys(readers, 1)


# -- in doubt, the same Message-ID, at most three attempts -----------------------------------


def test_an_in_doubt_delivery_is_resent_with_its_message_id_three_times_at_most_then_parked(
        env: dict[str, str], storage: Storage, smtp_server: SmtpTestServer, clock: Any, make_app: Any) -> None:
    settings = load_settings(env)
    readers = ["unlucky@example.org", "reader1@example.net", "reader2@example.com"]
    readers_with_news(storage, settings, readers, clock)
    postman = Postman(storage, settings, clock=clock)
    postman.manual_runs(("daily",))
    # The server stores the message, then the line drops before the client hears "250".
    smtp_server.handler.drop_after_data.add(readers[0])

    reports = [postman.send_pending() for _ in range(MAX_ATTEMPTS + 1)]
    assert [(r.sent, r.retry_later, r.parked) for r in reports] == [(2, 1, 0), (0, 1, 0), (0, 1, 1), (0, 0, 0)]
    copies = [m.message for m in smtp_server.messages if m.rcpt_tos == (readers[0],)]
    assert len(copies) == MAX_ATTEMPTS  # never one a minute: parked after the third
    (unlucky,) = [d for d in ledger(storage) if d.state not in ("sent",)]
    assert (unlucky.state, unlucky.attempts, unlucky.in_doubt) == ("parked", MAX_ATTEMPTS, True)
    # Every copy is the same message to a receiver that deduplicates: the id stored before the first.
    assert {str(m["Message-ID"]) for m in copies} == {unlucky.message_id}
    assert storage.run_summaries()[0].finished_at is not None  # parked is not open work

    # /admin lists it under "Needs attention".
    _, page = admin_page(env, make_app)
    (row,) = table_rows(page, "parked-deliveries")
    assert row["Address"] == readers[0] and row["Attempts"] == str(MAX_ATTEMPTS) and row["In doubt"] == "yes"
    assert "Retry parked deliveries" in page and "Needs attention (1)" in page

    # The server is mended; the operator retries it: one more attempt, same Message-ID, sent.
    smtp_server.handler.drop_after_data.clear()
    out = run("digest", "--retry-parked", env=env | {"LOG_LEVEL": "INFO"}).stdout
    assert "1 parked deliveries back in the queue" in out and "digests: 1 sent" in out
    last = smtp_server.messages[-1]
    assert last.rcpt_tos == (readers[0],) and str(last.message["Message-ID"]) == unlucky.message_id
    assert [d.state for d in ledger(storage)] == ["sent"] * 3
    assert table_rows(admin_page(env, make_app)[1], "parked-deliveries") == [
        {"": "Nothing: every delivery was sent, or is on its way."}]


def test_a_dead_senders_delivery_is_resent_with_the_same_message_id(
        env: dict[str, str], storage: Storage, smtp_server: SmtpTestServer, clock: Any) -> None:
    """A sender killed after handing a message over: the next one resends it, with its Message-ID."""
    settings = load_settings(env)
    readers_with_news(storage, settings, ["reader@example.org"], clock)
    postman = Postman(storage, settings, clock=clock)
    postman.manual_runs(("daily",))
    (d,) = storage.pending_deliveries()
    msg, ids = postman.renderer().render(d)
    assert msg is not None
    writer = storage.ledger_writer()
    try:
        assert writer.claim([(d.id, " ".join(ids), str(msg["Message-ID"]))]) == {d.id}  # committed, then the crash
    finally:
        writer.close()
    report = postman.send_pending()
    assert (report.in_doubt, report.sent) == (1, 1)
    (got,) = smtp_server.messages
    assert str(got.message["Message-ID"]) == str(msg["Message-ID"])
    assert [(r.state, r.attempts, r.in_doubt) for r in ledger(storage)] == [("sent", 1, True)]


def test_temporary_refusals_count_attempts_an_unreachable_server_does_not(
        env: dict[str, str], storage: Storage, smtp_server: SmtpTestServer, clock: Any) -> None:
    settings = load_settings(env)
    readers = ["full@example.org", "fine@example.net"]
    readers_with_news(storage, settings, readers, clock)
    Postman(storage, settings, clock=clock).manual_runs(("daily",))

    # The relay is down for a while: however often the clock tries, nothing counts an attempt.
    down = load_settings(env | {"SMTP_URL": f"smtp://127.0.0.1:{free_port()}"})
    for _ in range(MAX_ATTEMPTS + 1):
        assert quick_postman(storage, down, clock).send_pending().sent == 0
    assert [(d.state, d.attempts) for d in ledger(storage)] == [("pending", 0)] * 2

    # A mailbox over quota answers 452 every time: three attempts, then parked.
    smtp_server.handler.rcpt_replies[readers[0]] = ["452 4.2.2 Mailbox full"] * 10
    postman = quick_postman(storage, settings, clock)
    parked = sum(postman.send_pending().parked for _ in range(MAX_ATTEMPTS + 1))
    assert parked == 1
    assert [(d.state, d.attempts) for d in ledger(storage)] == [("parked", MAX_ATTEMPTS), ("sent", 0)]
    assert "452" in (storage.parked_deliveries()[0].error or "")
    assert storage.get_subscriber_by_email(readers[0]).state == "confirmed"  # type: ignore[union-attr]
    assert to_whom(smtp_server) == {readers[1]: 1}
