"""Digests end to end through real parts: files, database, ingest, a real SMTP server, the web app."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from feedsvc.cli import make_ingester
from feedsvc.config import load_settings
from feedsvc.links import Links
from feedsvc.runs.postman import Postman
from feedsvc.scheduler import Clock as DigestClock
from feedsvc.scheduler import latest_due
from feedsvc.storage import Storage
from feedsvc.storage.mail_schema import DeliveryRow, SubscriberRow
from feedsvc.tokens import Tokens

NEW_RELEASES = """Press Releases

Opinion: Why Safe Migration Matters

By Jane Doe, Chief of Mission

Safe migration saves lives, and we must protect migrants' rights everywhere.

IOM Scales Up Aid at the Border After New Arrivals

Edirne – IOM teams provided emergency assistance to migrants arriving at the border this week.
"""


@pytest.fixture
def env(env: dict[str, str], mail_env: dict[str, str]) -> dict[str, str]:
    return env | mail_env


@pytest.fixture
def postman(env, storage: Storage, clock) -> Postman:  # type: ignore[no-untyped-def]
    return Postman(storage, load_settings(env), clock=clock)


def ingest(env: dict[str, str], storage: Storage) -> None:
    make_ingester(load_settings(env), storage).scan()


def by_recipient(smtp_server) -> dict[str, list]:  # type: ignore[no-untyped-def]
    out: dict[str, list] = {}
    for m in smtp_server.messages:
        msg = m.message
        out.setdefault(str(msg["To"]), []).append(msg)
    return out


def signed_links(env: dict[str, str]) -> Links:
    settings = load_settings(env)
    return Links(settings.base_url, Tokens(settings.secret_key))


def body_text(msg) -> str:  # type: ignore[no-untyped-def]
    return msg.get_body(("plain",)).get_content()


def test_each_subscriber_gets_their_topics_once(env, storage, postman, smtp_server, content_dir, clock) -> None:  # type: ignore[no-untyped-def]
    ingest(env, storage)
    storage.add_confirmed("op@example.org", ("opinion",), "daily", clock())
    storage.add_confirmed("all@example.org", (), "weekly", clock())
    # Confirmed after the samples were stored: no back catalogue.
    postman.manual_runs()
    assert postman.send_pending().sent == 0 and smtp_server.messages == []

    (content_dir / "new.txt").write_text(NEW_RELEASES, encoding="utf-8")
    ingest(env, storage)
    postman.manual_runs()
    report = postman.send_pending()
    assert report.sent == 2
    got = by_recipient(smtp_server)
    op, everything = got["op@example.org"], got["all@example.org"]
    assert len(op) == 1 and len(everything) == 1
    assert "Why Safe Migration Matters" in body_text(op[0])
    assert "Scales Up Aid at the Border" not in body_text(op[0])
    assert "Why Safe Migration Matters" in body_text(everything[0])
    assert "Scales Up Aid at the Border" in body_text(everything[0])
    assert body_text(everything[0]).count("Scales Up Aid at the Border") == 1  # in several topics, listed once
    msg = op[0]
    assert msg["List-Unsubscribe"].startswith("<https://press.example.org/unsubscribe/")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "(1 new)" in msg["Subject"] and msg["Message-ID"] and msg["Date"] and msg["List-Id"]
    assert "/unsubscribe/" in body_text(msg)

    # Straight after: nothing new, nothing sent; an edit is not new either.
    postman.manual_runs()
    assert postman.send_pending().sent == 0
    (content_dir / "new.txt").write_text(NEW_RELEASES.replace("this week", "on Monday"), encoding="utf-8")
    ingest(env, storage)
    postman.manual_runs()
    assert postman.send_pending().sent == 0
    assert len(smtp_server.messages) == 2


def test_two_clocks_make_one_scheduled_run_and_downtime_one_catch_up(env, storage, postman, clock) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(env)
    when = latest_due("daily", settings, clock())
    a = postman.scheduled_run("daily", when)
    b = Postman(storage, settings, clock=clock).scheduled_run("daily", when)
    assert a[0] == b[0] and a[1] is True and b[1] is False

    # Three days down: one run for the latest period, not three.
    clock.advance(days=3)
    made = DigestClock(postman, settings).catch_up()
    assert len([k for k in made if k.startswith("daily")]) == 1
    assert DigestClock(postman, settings).catch_up() == []


def test_latest_due_respects_the_time_zone(env) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(env | {"FEEDSVC_TIMEZONE": "Europe/Istanbul", "FEEDSVC_DAILY_AT": "08:00",
                                    "FEEDSVC_WEEKLY_ON": "mon"})
    now = dt.datetime(2026, 11, 23, 5, 30, tzinfo=dt.UTC)  # 08:30 in Istanbul, a Monday
    assert latest_due("daily", settings, now) == dt.datetime(2026, 11, 23, 5, 0, tzinfo=dt.UTC)
    assert latest_due("weekly", settings, now) == dt.datetime(2026, 11, 23, 5, 0, tzinfo=dt.UTC)
    earlier = dt.datetime(2026, 11, 23, 4, 30, tzinfo=dt.UTC)  # 07:30 there
    assert latest_due("weekly", settings, earlier).date() == dt.date(2026, 11, 16)


def test_one_click_unsubscribe_post_acts_get_only_shows(env, storage, postman, smtp_server, content_dir,
                                                        clock, make_app) -> None:  # type: ignore[no-untyped-def]
    ingest(env, storage)
    storage.add_confirmed("leaver@example.org", (), "daily", clock())
    (content_dir / "new.txt").write_text(NEW_RELEASES, encoding="utf-8")
    ingest(env, storage)
    postman.manual_runs(("daily",))
    postman.send_pending()
    (msg,) = by_recipient(smtp_server)["leaver@example.org"]
    url = msg["List-Unsubscribe"].strip("<>")
    path = url.removeprefix("https://press.example.org")
    client = make_app(env).test_client()

    page = client.get(path)  # what a link scanner does
    assert page.status_code == 200 and b"<form method=\"post\">" in page.data
    assert storage.get_subscriber_by_email("leaver@example.org").state == "confirmed"

    one_click = client.post(path, data="List-Unsubscribe=One-Click",
                            content_type="application/x-www-form-urlencoded")
    assert one_click.status_code == 200
    assert storage.get_subscriber_by_email("leaver@example.org").state == "unsubscribed"
    assert client.post(path[:-3] + "xyz").status_code == 400  # a forged token does nothing

    (content_dir / "more.txt").write_text(NEW_RELEASES.replace("Why Safe", "Why Regular"), encoding="utf-8")
    ingest(env, storage)
    postman.manual_runs(("daily",))
    postman.send_pending()
    assert len(by_recipient(smtp_server)["leaver@example.org"]) == 1


def test_view_in_browser_shows_exactly_what_that_digest_carried(env, storage, postman, smtp_server, content_dir,
                                                               clock, make_app) -> None:  # type: ignore[no-untyped-def]
    ingest(env, storage)
    storage.add_confirmed("op@example.org", ("opinion",), "daily", clock())
    (content_dir / "new.txt").write_text(NEW_RELEASES, encoding="utf-8")
    ingest(env, storage)
    postman.manual_runs(("daily",))
    postman.send_pending()
    (msg,) = by_recipient(smtp_server)["op@example.org"]
    (url,) = {w for w in body_text(msg).split() if "/digests/" in w}
    path = url.strip("<>()").removeprefix("https://press.example.org")
    client = make_app(env).test_client()

    page = client.get(path)
    assert page.status_code == 200
    assert b"Why Safe Migration Matters" in page.data
    assert b"Scales Up Aid at the Border" not in page.data  # not one of this subscriber's topics
    assert client.get(path[:-3] + "xyz").status_code == 400  # a forged token shows nothing
    # A genuine token for a delivery that never carried anything (or never existed) is a 404.
    missing = signed_links(env).digest_archive(999_999).removeprefix("https://press.example.org")
    assert client.get(missing).status_code == 404


def test_smtp_outage_then_everything_delivered_once(env, storage, clock, content_dir, smtp_server) -> None:  # type: ignore[no-untyped-def]
    from tests.smtp_server import SmtpTestServer, free_port

    port = free_port()
    settings = load_settings(env | {"SMTP_URL": f"smtp://127.0.0.1:{port}"})
    postman = Postman(storage, settings, clock=clock)
    for i in range(30):
        storage.add_confirmed(f"user{i}@example.org", (), "daily", clock())
    (content_dir / "new.txt").write_text(NEW_RELEASES, encoding="utf-8")
    ingest(env, storage)
    postman.manual_runs(("daily",))
    down = postman.send_pending()
    assert down.sent == 0 and storage.count_pending() == 30
    with SmtpTestServer(port=port) as server:
        up = postman.send_pending()
        assert up.sent == 30
        counts: dict[str, int] = {}
        for m in server.messages:
            counts[str(m.message["To"])] = counts.get(str(m.message["To"]), 0) + 1
        assert counts == {f"user{i}@example.org": 1 for i in range(30)}
        assert postman.send_pending().sent == 0


def test_a_run_of_70000_readers_is_planned_in_one_go(storage: Storage, clock) -> None:  # type: ignore[no-untyped-def]
    """More readers than a statement may bind parameters (PostgreSQL 65,535; SQLite 32,766): all planned."""
    readers = 70_000
    S = SubscriberRow.__table__
    with storage.begin("test: readers in bulk") as conn:
        for at in range(0, readers, 5000):
            conn.execute(S.insert(), [{"email": f"r{i}@example.org", "topics": "", "frequency": "weekly",
                                       "state": "confirmed", "created_at": clock(), "cursor_seq": -1}
                                      for i in range(at, at + 5000)])
    run_id, made = storage.create_run("weekly:bulk", "weekly", "scheduled", "bulk", clock())
    assert made
    until = storage.max_seq()
    DL = DeliveryRow.__table__
    with storage.read("test: the planned run") as conn:
        planned = conn.execute(sa.select(sa.func.count(), sa.func.count(sa.distinct(DL.c.subscriber_id)))
                               .where(DL.c.run_id == run_id, DL.c.state == "pending",
                                      DL.c.since_seq == -1, DL.c.until_seq == until)).one()
        moved = conn.execute(sa.select(sa.func.count()).where(S.c.cursor_seq == until)).scalar()
    assert tuple(planned) == (readers, readers) and moved == readers
    assert storage.create_run("weekly:bulk", "weekly", "scheduled", "bulk", clock()) == (run_id, False)
