"""The failure paths the README promises, each shown once through real parts: the clock's own
scheduled run firing, a 4xx inside a run, a refused TLS certificate, the database lost mid-send."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent

from feedsvc.cli import make_ingester
from feedsvc.config import load_settings
from feedsvc.model import FeedsvcError
from feedsvc.runs.postman import Postman
from feedsvc.scheduler import Clock as DigestClock
from feedsvc.storage import Storage
from feedsvc.storage.mail_schema import DeliveryRow

from .conftest import Clock
from .smtp_server import SmtpTestServer, self_signed_tls
from .tcp_proxy import TcpProxy


def listing(title: str, place: str = "Ankara") -> str:
    return f"Press Releases\n\n{title}\n\n{place} – IOM teams met the families who arrived this week.\n"


def per_recipient(server: SmtpTestServer) -> Counter[str]:
    return Counter(str(m.message["To"]) for m in server.messages)


def test_the_clocks_scheduled_daily_job_fires_a_run(env: dict[str, str], mail_env: dict[str, str],
                                                    storage: Storage, content_dir: Path, clock: Clock,
                                                    smtp_server: SmtpTestServer) -> None:
    settings = load_settings(env | mail_env)
    storage.add_confirmed("reader@example.org", (), "daily", clock() - dt.timedelta(hours=1))
    (content_dir / "monday.txt").write_text(listing("Mobile Clinics Reach the Border Villages"), encoding="utf-8")
    make_ingester(settings, storage).scan()
    digests = DigestClock(Postman(storage, settings, clock=clock), settings)

    done: dict[str, threading.Event] = {"resume-now": threading.Event(), "digests": threading.Event()}
    errors: list[BaseException] = []

    def on_job(event: JobExecutionEvent) -> None:
        if event.exception is not None:
            errors.append(event.exception)
        if event.job_id in done:
            done[event.job_id].set()

    digests.scheduler.add_listener(on_job, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    digests.start()  # catches up on today's 08:00 digest and sends it
    try:
        assert done["resume-now"].wait(60) and not errors
        assert per_recipient(smtp_server) == {"reader@example.org": 1}

        # A day later, something new: the minute job itself fires (told to run now rather than
        # waiting for the wall clock's next minute), plans tomorrow's period and sends it.
        clock.advance(days=1)
        (content_dir / "tuesday.txt").write_text(listing("Vocational Courses Open in Gaziantep", "Gaziantep"),
                                                 encoding="utf-8")
        make_ingester(settings, storage).scan()
        # Cleared only now: a run of the job on its own minute after this point sees the new day too.
        done["digests"].clear()
        digests.scheduler.modify_job("digests", next_run_time=dt.datetime.now(dt.UTC))
        assert done["digests"].wait(60) and not errors
    finally:
        digests.stop()
    runs = [r for r in storage.recent_runs() if r["frequency"] == "daily" and r["kind"] == "scheduled"]
    assert len(runs) == 2
    assert per_recipient(smtp_server) == {"reader@example.org": 2}
    assert "Gaziantep" in smtp_server.messages[-1].message.get_body(("plain",)).get_content()


def test_a_4xx_inside_a_run_leaves_those_digests_for_later_and_sends_them_once(
        env: dict[str, str], mail_env: dict[str, str], storage: Storage, content_dir: Path, clock: Clock,
        smtp_server: SmtpTestServer) -> None:
    settings = load_settings(env | mail_env)
    readers = [f"reader{i}@example.org" for i in range(8)]
    for address in readers:
        storage.add_confirmed(address, (), "daily", clock() - dt.timedelta(hours=1))
    (content_dir / "news.txt").write_text(listing("Shelter Upgrades Finished Before Winter"), encoding="utf-8")
    make_ingester(settings, storage).scan()
    # Two mailboxes are over quota for longer than the mailer retries within a run.
    for address in readers[:2]:
        smtp_server.handler.rcpt_replies[address] = ["452 4.2.2 Mailbox full"] * 10
    postman = Postman(storage, settings, clock=clock)
    postman.manual_runs(("daily",))
    first = postman.send_pending()
    assert first.sent == 6 and first.retry_later == 2 and first.failed == 0
    assert storage.count_pending() == 2
    assert all(storage.get_subscriber_by_email(a).state == "confirmed" for a in readers[:2])  # type: ignore[union-attr]

    smtp_server.handler.rcpt_replies.clear()  # the mailboxes have room again
    second = postman.send_pending()
    assert second.sent == 2 and storage.count_pending() == 0
    assert per_recipient(smtp_server) == dict.fromkeys(readers, 1)


def test_a_refused_tls_certificate_stops_the_run_and_loses_nothing(
        env: dict[str, str], storage: Storage, content_dir: Path, tmp_path: Path, clock: Clock,
        caplog: pytest.LogCaptureFixture) -> None:
    server_tls, _client = self_signed_tls(tmp_path)
    with SmtpTestServer(tls_context=server_tls) as relay:
        settings = load_settings(env | {"SMTP_URL": f"smtp+starttls://{relay.host}:{relay.port}",
                                        "MAIL_FROM": "IOM Turkey <news@press.example.org>"})
        for i in range(4):
            storage.add_confirmed(f"reader{i}@example.org", (), "daily", clock() - dt.timedelta(hours=1))
        (content_dir / "news.txt").write_text(listing("Water Points Repaired in Three Camps"), encoding="utf-8")
        make_ingester(settings, storage).scan()
        postman = Postman(storage, settings, clock=clock)
        postman.manual_runs(("daily",))
        with caplog.at_level(logging.WARNING), pytest.raises(FeedsvcError, match="certificate"):
            postman.send_pending()
        assert relay.messages == []
    # Nothing was sent, nothing failed, nobody bounced: the run waits for a relay it can trust.
    assert storage.delivery_counts() == {"pending": 4}
    assert {s.state for s in storage.iter_subscribers()} == {"confirmed"}


@pytest.mark.parametrize("db_kind", ["postgresql"])
def test_the_database_lost_in_the_middle_of_a_send_loses_no_digest(
        env: dict[str, str], mail_env: dict[str, str], storage: Storage, content_dir: Path, clock: Clock,
        smtp_server: SmtpTestServer) -> None:
    url = storage.engine.url
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        settings = load_settings(env | mail_env | {"DATABASE_URL": proxied, "FEEDSVC_MAIL_CONNECTIONS": "2"})
        through = Storage(settings.database_url)
        readers = [f"reader{i:02}@example.org" for i in range(40)]
        for address in readers:
            through.add_confirmed(address, (), "daily", clock() - dt.timedelta(hours=1))
        (content_dir / "news.txt").write_text(listing("Cash Assistance Reaches Flood Families"), encoding="utf-8")
        make_ingester(settings, through).scan()
        postman = Postman(through, settings, clock=clock)
        postman.manual_runs(("daily",))

        # The database host goes away as the server accepts the 15th message.
        smtp_server.handler.on_event = lambda kind, n: proxy.stop() if (kind, n) == ("data", 15) else None
        with pytest.raises(FeedsvcError):
            postman.send_pending()
        smtp_server.handler.on_event = None
        got_before = len(smtp_server.messages)
        assert 15 <= got_before < 40

        proxy.start()  # it comes back; the next senders finish the run
        # As the clock does (it resumes every minute): send until nothing is open. More than one
        # pass can be needed: the dead sender's last claim may still be running on the server
        # when the next sender recovers, and commit after it; the pass after that resends it.
        recovered = 0
        for _ in range(5):
            report = Postman(through, settings, clock=clock).send_pending()
            recovered += report.in_doubt
            counts_now = through.delivery_counts()
            if not counts_now.get("pending") and not counts_now.get("sending"):
                break
        through.close()
    DL = DeliveryRow.__table__
    with storage.read("test: the ledger") as conn:
        states = Counter(r.state for r in conn.execute(sa.select(DL.c.state)))
        in_doubt = {r.id for r in conn.execute(sa.select(DL.c.id).where(DL.c.in_doubt.is_(True)))}
    counts = per_recipient(smtp_server)
    assert set(counts) == set(readers)  # nobody missed it
    assert states == {"sent": 40}
    duplicates = sum(n - 1 for n in counts.values())
    assert duplicates <= len(in_doubt) <= recovered  # only what the ledger marked in doubt
