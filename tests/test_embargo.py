"""An embargoed release watched before and after its instant on every surface (issue 17 item 1).

Real parts throughout: a content folder with a listing and a Markdown file, SQLite and PostgreSQL,
the app through Flask's test client (feeds through the feed server in front of it), feedparser,
a real SMTP server for the digests, and a real HTTP server playing the WebSub hub. Time is the
tests' clock, moved past each instant; the lift is the scheduler's own job function.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import feedparser
import pytest

from feedsvc.app import create_app
from feedsvc.config import load_settings
from feedsvc.scheduler import LIFT_EVERY_SECONDS
from feedsvc.scheduler import Clock as DigestClock
from feedsvc.services import Services, build_services
from feedsvc.storage import Storage
from tests.html_tables import table_rows
from tests.test_web_feeds import feed_and_archives
from tests.test_websub import Hub

BASE = "https://press.example.org"
TOKEN = "embargo-admin-token"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
ATOM_NS = "{http://www.w3.org/2005/Atom}"
UTC = dt.UTC

# A: held until 09:00 UTC as written; B: an embargo that cannot be read (held until corrected).
HELD_LISTING = """\
Press releases

EMBARGOED UNTIL 09:00 GMT, 24 November 2026

Cholera vaccination reaches Zanzibarian islands
24 November 2026
ANKARA – Health teams vaccinated 40,000 people on the Zanzibarian islands this month.

Embargoed until further notice
Quokkaland health survey results
23 November 2026
ANKARA – A health survey of Quokkaland households is published today.
"""
# C: no zone written, so in FEEDSVC_TIMEZONE (Europe/Paris): 11:00 there is 10:00 UTC.
HELD_MARKDOWN = """\
---
title: Budget for Wombatshire health clinics
date: 2026-11-24
location: Brussels
embargo: 2026-11-24 11:00
---
The health budget for Wombatshire clinics was agreed today.
"""
PUBLIC_LISTING = """\
Press releases

Volunteers honoured at annual ceremony
23 November 2026
NAIROBI – The office honoured forty volunteers at its annual ceremony in Platypusville.
"""
TITLES = {"A": "Cholera vaccination reaches Zanzibarian islands", "B": "Quokkaland health survey results",
          "C": "Budget for Wombatshire health clinics"}
WORDS = {"A": "Zanzibarian", "B": "Quokkaland", "C": "Wombatshire"}
PUBLIC_TITLE = "Volunteers honoured at annual ceremony"


@pytest.fixture
def env(env: dict[str, str], mail_env: dict[str, str]) -> dict[str, str]:
    return env | mail_env | {"FEEDSVC_BASE_URL": BASE, "FEEDSVC_ADMIN_TOKEN": TOKEN, "FEEDSVC_TIMEZONE": "Europe/Paris",
                             "FEEDSVC_FEED_RECHECK": "0", "MAIL_FROM": "Press <news@press.example.org>"}


def surfaces(client, storage: Storage, slugs: set[str]) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Every public page, feed, archive page and search a reader can reach for these topics, by path."""
    out: dict[str, str] = {}
    for slug in sorted({"all", *slugs}):
        out |= feed_and_archives(client, slug, BASE)
        if slug != "all":
            for n in range(1, max(1, -(-storage.count_releases(slug) // 30)) + 1):
                out[f"/topics/{slug}?page={n}"] = client.get(f"/topics/{slug}?page={n}").get_data(as_text=True)
    for path in ("/", "/sitemap.xml", "/feeds.opml", *(f"/search?q={w}" for w in WORDS.values())):
        out[path] = client.get(path).get_data(as_text=True)
    return out


def mentions(found: dict[str, str], *words: str) -> dict[str, set[str]]:
    return {w: {path for path, text in found.items() if w in text} for w in words}


def held_rows(client) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    resp = client.get("/admin", headers=ADMIN)
    assert resp.status_code == 200
    return table_rows(resp.get_data(as_text=True), "held-releases")


def digest_texts(services: Services, smtp_server) -> list[str]:  # type: ignore[no-untyped-def]
    """Run a digest now through the real SMTP server; the text of each message it sent."""
    before = len(smtp_server.messages)
    postman = services.postman()
    postman.manual_runs(("daily",))
    postman.send_pending()
    return [m.message.get_body(("plain",)).get_content() for m in smtp_server.messages[before:]]


def feed_entry_titles(client, path: str) -> list[str]:  # type: ignore[no-untyped-def]
    body = client.get(path).data
    if path.endswith(".json"):
        return [item["title"] for item in json.loads(body)["items"]]
    return [e.title for e in feedparser.parse(body).entries]


def test_an_embargoed_release_is_public_nowhere_until_its_instant_then_everywhere(  # type: ignore[no-untyped-def]
        env: dict[str, str], storage: Storage, content_dir: Path, clock, smtp_server) -> None:
    hub = Hub()
    env = env | {"FEEDSVC_WEBSUB_HUB": hub.url}
    services = build_services(load_settings(env), clock, storage=storage)
    client = create_app(services=services).test_client()
    lift_job = DigestClock(services.postman(), services.settings, services.publisher).lift_embargoes
    try:
        many = ["Press Releases", ""]
        for i in range(60):  # enough for archive pages
            many += [f"Border communities supported, part {i}", "", f"Ankara – Support in round {i}.", ""]
        (content_dir / "many.txt").write_text("\n".join(many), encoding="utf-8")
        services.ingester().scan()
        storage.add_confirmed("reader@example.org", (), "daily", clock())  # from here on, digests are news
        counts, total = storage.topic_counts(), storage.count_releases()

        # The held files arrive: stored, and not one feed changes, so the hub hears nothing.
        assert services.publisher.flush()
        hub.pings.clear()
        clock.advance(minutes=1)
        (content_dir / "embargoed.txt").write_text(HELD_LISTING, encoding="utf-8")
        (content_dir / "budget.md").write_text(HELD_MARKDOWN, encoding="utf-8")
        result = services.ingester().scan()
        assert result.summary.releases_new == 3 and result.held == 3
        assert any("not understood" in w.message and "further notice" in w.message for w in result.warnings)
        assert services.publisher.flush() and hub.pings == []
        held = {h.title: h for h in storage.held_releases()}
        ids = {k: held[t].id for k, t in TITLES.items()}
        assert held[TITLES["A"]].until == dt.datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
        assert held[TITLES["C"]].until == dt.datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # 11:00 in Paris
        assert held[TITLES["B"]].until is None

        # A public release comes next, and a digest goes out during the embargo.
        clock.advance(minutes=1)
        (content_dir / "news.txt").write_text(PUBLIC_LISTING, encoding="utf-8")
        services.ingester().scan()
        (text,) = digest_texts(services, smtp_server)
        assert PUBLIC_TITLE in text and not any(t in text for t in TITLES.values())
        watermark = storage.max_seq()  # the reader's digests are planned up to here

        def check_held(*keys: str) -> None:
            slugs = {"health", "data-and-research", "events-and-campaigns"}
            found = surfaces(client, storage, slugs)
            for key in keys:
                # Its unique word shows only in its own search page, as the words searched for.
                assert mentions(found, TITLES[key], WORDS[key], ids[key]) == {
                    TITLES[key]: set(), WORDS[key]: {f"/search?q={WORDS[key]}"}, ids[key]: set()}, key
                # Its address answers exactly as an address that never existed: nothing leaks.
                for suffix in ("", "/history"):
                    page, none = client.get(f"/releases/{ids[key]}{suffix}"), client.get(f"/releases/0000000000000000{suffix}")
                    assert (page.status_code, page.data) == (none.status_code, none.data) == (404, none.data)
                    assert page.headers["Cache-Control"] == none.headers["Cache-Control"] == "no-cache"
                assert ids[key] not in {r.id for r in storage.releases_between(0, storage.max_seq())}

        check_held("A", "B", "C")
        (public,) = [r for r in storage.list_releases(limit=5) if r.title == PUBLIC_TITLE]
        assert storage.topic_counts() == counts | {t: counts.get(t, 0) + 1 for t in public.topics}
        assert storage.count_releases() == total + 1
        assert [(r["Release"], r["Public at"]) for r in held_rows(client)] == [
            (TITLES["B"], "not understood: held until corrected"),
            (TITLES["A"], "2026-11-24 09:00:00"), (TITLES["C"], "2026-11-24 10:00:00")]

        # One second before the instant, the job lifts nothing.
        feed_before = client.get("/feeds/all.atom")
        clock.now = dt.datetime(2026, 11, 24, 8, 59, 59, tzinfo=UTC)
        assert services.publisher.flush()
        hub.pings.clear()
        lift_job()
        assert services.publisher.flush() and hub.pings == []
        check_held("A", "B", "C")

        # At the instant: A is everywhere, and the hub hears of every feed it is in.
        clock.now = dt.datetime(2026, 11, 24, 9, 0, 0, tzinfo=UTC)
        lift_job()
        assert services.publisher.flush()
        a = storage.get_release(ids["A"])
        assert a is not None and a.first_seen == a.updated == clock.now  # first seen by the public now
        pinged = {p["hub.url"].removeprefix(BASE) for p in hub.pings}
        assert pinged == {f"/feeds/{slug}.{ext}" for slug in ("all", *a.topics) for ext in ("atom", "rss", "json")} | {
            f"/feeds/{a.language}/{slug}.{ext}" for slug in ("all", *a.topics) for ext in ("atom", "json")}
        found = surfaces(client, storage, set(a.topics))
        where = mentions(found, f"/releases/{ids['A']}")[f"/releases/{ids['A']}"]
        assert {"/", "/sitemap.xml", f"/search?q={WORDS['A']}"} <= where
        assert {f"/feeds/{s}.{e}" for s in ("all", *a.topics) for e in ("atom", "rss", "json")} <= where
        assert {f"/topics/{s}?page=1" for s in a.topics} <= where
        for path in ("/feeds/all.atom", "/feeds/all.rss", "/feeds/all.json", f"/feeds/{a.topics[0]}.json"):
            assert feed_entry_titles(client, path)[0] == TITLES["A"], path
        page = client.get(f"/releases/{ids['A']}")
        assert page.status_code == 200 and TITLES["A"] in page.get_data(as_text=True)
        assert page.headers["Cache-Control"] == "no-cache"
        history = client.get(f"/releases/{ids['A']}/history").get_data(as_text=True)
        assert "Version 1, seen on" in history and "24 November 2026" in history and "Version 2" not in history
        assert [v.seen_at for v in storage.release_versions(ids["A"])] == [clock.now]
        assert storage.count_releases() == total + 2
        check_held("B", "C")

        # No cache holds it back past max-age: the feed's validators both moved.
        after = client.get("/feeds/all.atom")
        assert after.headers["ETag"] != feed_before.headers["ETag"]
        assert after.headers["Last-Modified"] != feed_before.headers["Last-Modified"]
        assert after.headers["Cache-Control"] == "public, max-age=300"  # FEEDSVC_FEED_MAX_AGE
        for validator in ({"If-None-Match": feed_before.headers["ETag"]},
                          {"If-Modified-Since": feed_before.headers["Last-Modified"]}):
            revalidated = client.get("/feeds/all.atom", headers=validator)
            assert revalidated.status_code == 200 and TITLES["A"].encode() in revalidated.data

        # The digest after the lift carries A once, though its embargo began below the watermark.
        assert [r.id for r in storage.releases_between(watermark, storage.max_seq())] == [ids["A"]]
        (text,) = digest_texts(services, smtp_server)
        assert text.count(TITLES["A"]) == 1 and TITLES["C"] not in text and PUBLIC_TITLE not in text
        assert digest_texts(services, smtp_server) == []  # and never again

        # C's own instant, written without a zone: 11:00 in Paris.
        clock.now = dt.datetime(2026, 11, 24, 10, 0, 30, tzinfo=UTC)
        lift_job()
        (text,) = digest_texts(services, smtp_server)
        assert TITLES["C"] in text and TITLES["A"] not in text
        assert TITLES["C"] in client.get("/").get_data(as_text=True)

        # B waits for ever, until its line is corrected; then it is public at that scan.
        clock.advance(days=30)
        lift_job()
        check_held("B")
        assert [r["Release"] for r in held_rows(client)] == [TITLES["B"]]
        hub.pings.clear()
        (content_dir / "embargoed.txt").write_text(
            HELD_LISTING.replace("Embargoed until further notice", "Embargoed until 1 December 2026"), encoding="utf-8")
        services.ingester().scan()
        assert services.publisher.flush()
        assert TITLES["B"] in feed_entry_titles(client, "/feeds/all.atom")
        assert any(p["hub.url"] == BASE + "/feeds/all.atom" for p in hub.pings)
        assert held_rows(client) == [{"": "No release is waiting for an embargo."}]
        (text,) = digest_texts(services, smtp_server)
        assert TITLES["B"] in text and TITLES["A"] not in text
    finally:
        services.publisher.close()
        hub.close()


def test_a_lift_whose_process_died_before_the_rebuild_is_finished_by_the_next_job(  # type: ignore[no-untyped-def]
        env: dict[str, str], storage: Storage, content_dir: Path, clock) -> None:
    hub = Hub()
    env = env | {"FEEDSVC_WEBSUB_HUB": hub.url}
    services = build_services(load_settings(env), clock, storage=storage)
    try:
        (content_dir / "embargoed.txt").write_text(HELD_LISTING, encoding="utf-8")
        services.ingester().scan()
        clock.now = dt.datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
        # The dying process committed the lift and got no further: no feed rebuilt, no ping.
        lifted = storage.lift_embargoes(clock())
        assert [storage.get_release(i).title for i in lifted.ids] == [TITLES["A"]]  # type: ignore[union-attr]
        assert TITLES["A"] not in storage.get_feed_document("all.atom").body.decode()  # type: ignore[union-attr]
        assert services.publisher.flush()
        hub.pings.clear()
        # The next process's job: nothing is due any more, yet it rebuilds what the lift left stale.
        DigestClock(services.postman(), services.settings, services.publisher).lift_embargoes()
        assert services.publisher.flush()
        assert TITLES["A"] in storage.get_feed_document("all.atom").body.decode()  # type: ignore[union-attr]
        assert BASE + "/feeds/all.atom" in {p["hub.url"] for p in hub.pings}
        assert storage.stale_feeds() == {}
    finally:
        services.publisher.close()
        hub.close()


def test_the_clock_runs_the_lift_job_well_within_a_minute(env: dict[str, str], storage: Storage, clock) -> None:  # type: ignore[no-untyped-def]
    services = build_services(load_settings(env), clock, storage=storage)
    digest_clock = DigestClock(services.postman(), services.settings, services.publisher)
    digest_clock.start()
    try:
        job = digest_clock.scheduler.get_job("embargoes")
        assert job is not None and job.func == digest_clock.lift_embargoes
        # Due within the interval, rebuilt feeds seen by every web process within FEEDSVC_FEED_RECHECK.
        assert job.trigger.interval == dt.timedelta(seconds=LIFT_EVERY_SECONDS)
        assert LIFT_EVERY_SECONDS + services.settings.feed_recheck_seconds < 60
    finally:
        digest_clock.stop()


def test_parse_shows_each_embargo_and_never_publishes_an_unreadable_one(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from feedsvc.cli import main

    (tmp_path / "embargoed.txt").write_text(HELD_LISTING, encoding="utf-8")
    (tmp_path / "budget.md").write_text(HELD_MARKDOWN, encoding="utf-8")
    result = CliRunner().invoke(main, ["parse", str(tmp_path / "embargoed.txt"), str(tmp_path / "budget.md")])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "embargo: held until 2026-11-24 09:00 UTC+00:00" in out
    assert "embargo: not understood: held, published nowhere, until the line is corrected" in out
    assert "warning: line 9: embargo 'Embargoed until further notice' not understood" in out
    assert "embargo: held until 2026-11-24 11:00 in FEEDSVC_TIMEZONE" in out
    as_json: list[dict[str, Any]] = json.loads(CliRunner().invoke(
        main, ["parse", "--json", str(tmp_path / "embargoed.txt")]).stdout)
    assert [r["embargo"]["until"] for r in as_json] == ["2026-11-24T09:00:00+00:00", None]
    assert re.search(r"'further notice' is not a date", as_json[1]["embargo"]["note"])
