"""Issue 13: no invented dates, and one order everywhere (home, topic pages, feeds, digest).

Through the real parts: files on disk, the ingester and storage (SQLite and PostgreSQL), the Flask
app, feedparser on the served feeds, and the digest as planned and rendered from storage.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import feedparser
import lxml.html
import pytest
from lxml import etree

from feedsvc.app import create_app
from feedsvc.config import load_settings
from feedsvc.digest import DigestLinks, MailSettings, plan_digest, render_digest
from feedsvc.services import Services, build_services
from feedsvc.storage import Storage
from feedsvc.subscribers import Subscriber
from tests.test_web_feeds import WEB

TOPIC = "borders-and-emergencies"
ATOM = "{http://www.w3.org/2005/Atom}"

# Read in at 08:00: an undated release (position 0) above two dated months and years ago.
BACK_CATALOGUE = """Press Releases

Emergency Shelter Opens for Arrivals on the Aegean Coast
Ayvalık – An emergency shelter opened for sea arrivals on the Aegean coast, with room for 200 people.

Migrants Rescued in the Aegean Sea
2 March 2026
Dikili – Forty migrants were rescued in the Aegean by the coast guard in the early hours.

Border Monitoring Report Published
15 January 2025
Edirne – IOM published its yearly border monitoring report, covering arrivals at land borders.
"""
# Added at 10:00 the same day, every release dated today.
TODAY = """Press Releases

Coast Guard Rescues 40 People off Bodrum
23 November 2026
Bodrum – The coast guard rescued 40 people from a sinking boat on Monday morning, IOM staff said.

Border Crossing at Kapıkule Reopens to Families
23 November 2026
Edirne – The border crossing reopened for families travelling together, after a week of closure.

Shipwreck Survivors Receive Humanitarian Assistance in Çeşme
23 November 2026
Çeşme – Survivors of Sunday's shipwreck are receiving humanitarian assistance from IOM teams.
"""
UNDATED = "Emergency Shelter Opens for Arrivals on the Aegean Coast"
# Newest day first; within 23 November the listing added last (in listing order), then the
# undated release first seen at 08:00; then the older stated dates.
EXPECTED = ["Coast Guard Rescues 40 People off Bodrum", "Border Crossing at Kapıkule Reopens to Families",
            "Shipwreck Survivors Receive Humanitarian Assistance in Çeşme", UNDATED,
            "Migrants Rescued in the Aegean Sea", "Border Monitoring Report Published"]


@pytest.fixture
def services(env: dict[str, str], storage: Storage, tmp_path: Path, clock) -> Services:  # type: ignore[no-untyped-def]
    """The app's services over an empty content folder, which each test fills."""
    folder = tmp_path / "office"
    folder.mkdir()
    settings = load_settings(env | WEB | {"FEEDSVC_CONTENT_DIR": str(folder)})
    return build_services(settings, clock, storage=storage)


def ingest_day(services: Services, clock) -> None:  # type: ignore[no-untyped-def]
    folder = services.settings.content_dir
    (folder / "back-catalogue.txt").write_text(BACK_CATALOGUE, encoding="utf-8")
    services.ingester().scan()  # 08:00 (the clock fixture)
    clock.advance(hours=2)
    (folder / "today.txt").write_text(TODAY, encoding="utf-8")
    services.ingester().scan()


def page_titles(body: bytes) -> list[str]:
    return [a.text_content() for a in lxml.html.fromstring(body).xpath('//ul[@class="releases"]//a[@class="title"]')]


def digest_text(services: Services) -> str:
    releases = services.storage.releases_between(0, services.storage.max_seq())
    reader = Subscriber(id=1, email="ayse@example.com", topics=(), frequency="daily", state="confirmed",
                        created_at=services.clock() - dt.timedelta(days=1))
    sections = plan_digest(reader, releases, services.taxonomy().titles)
    links = DigestLinks(unsubscribe_url="https://x.org/u", preferences_url="https://x.org/p",
                        archive_url="https://x.org/d/1", release_url="https://x.org/r/{id}",
                        base_url="https://x.org/")
    settings = MailSettings(mail_from="Press <news@example.org>", list_id="Press <releases.example.org>",
                            organisation="Press office")
    msg = render_digest(reader, sections, period_label="23 November 2026", links=links, settings=settings,
                        now=services.clock(), run_id=1)
    return str(msg.get_body(("plain",)).get_content())


def test_a_listing_dated_today_added_later_comes_first_everywhere(services: Services, clock) -> None:  # type: ignore[no-untyped-def]
    ingest_day(services, clock)
    assert [r.title for r in services.storage.list_releases()] == EXPECTED
    assert [r.title for r in services.storage.list_releases(TOPIC)] == EXPECTED
    # Archive pages walk the same order, oldest first.
    assert [r.title for r in services.storage.list_releases(oldest_first=True)] == EXPECTED[::-1]
    client = create_app(services=services).test_client()
    assert page_titles(client.get("/").data) == EXPECTED
    assert page_titles(client.get(f"/topics/{TOPIC}").data) == EXPECTED
    for path in ("/feeds/all.atom", "/feeds/all.rss", f"/feeds/{TOPIC}.atom", f"/feeds/{TOPIC}.rss"):
        assert [e.title for e in feedparser.parse(client.get(path).data).entries] == EXPECTED, path
    text = digest_text(services)
    assert sorted(EXPECTED, key=text.index) == EXPECTED


def test_an_undated_release_shows_no_publication_date(services: Services, clock) -> None:  # type: ignore[no-untyped-def]
    ingest_day(services, clock)
    undated = next(r for r in services.storage.list_releases() if r.title == UNDATED)
    dated = next(r for r in services.storage.list_releases() if r.title == EXPECTED[0])
    first_seen = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
    assert (undated.date, undated.published, undated.first_seen) == (None, None, first_seen)
    assert undated.updated == first_seen  # `updated` stays the instant first seen
    client = create_app(services=services).test_client()

    page = lxml.html.fromstring(client.get(f"/releases/{undated.id}").data)
    meta = page.xpath('//article/p[@class="meta"][span]')[0].text_content()
    assert "Published" not in meta and "Added on 23 November 2026" in meta
    page = lxml.html.fromstring(client.get(f"/releases/{dated.id}").data)
    meta = page.xpath('//article/p[@class="meta"][span]')[0].text_content()
    assert "Published 23 November 2026" in meta and "Added on 23 November 2026" in meta
    home = lxml.html.fromstring(client.get("/").data)
    item = next(li for li in home.xpath('//ul[@class="releases"]/li') if UNDATED in li.text_content())
    assert "Added on 23 November 2026" in item.text_content()

    atom = etree.fromstring(client.get("/feeds/all.atom").data)
    entries = {e.findtext(f"{ATOM}title"): e for e in atom.iter(f"{ATOM}entry")}
    assert entries[UNDATED].find(f"{ATOM}published") is None
    assert entries[UNDATED].findtext(f"{ATOM}updated") == "2026-11-23T08:00:00+00:00"
    assert entries[EXPECTED[4]].findtext(f"{ATOM}published") == "2026-03-02T00:00:00+00:00"
    rss = {e.title: e for e in feedparser.parse(client.get("/feeds/all.rss").data).entries}
    assert dt.datetime(*rss[UNDATED].published_parsed[:6], tzinfo=dt.UTC) == first_seen

    text = digest_text(services)
    block = text[text.index(UNDATED):]
    block = block[:block.index(EXPECTED[4])]
    assert "2026" not in block and "November" not in block  # its dateline is its place alone
    assert "Ayvalık" in block


def test_one_listing_read_at_one_instant_keeps_listing_order(services: Services, clock) -> None:  # type: ignore[no-untyped-def]
    folder = services.settings.content_dir
    (folder / "today.txt").write_text(TODAY, encoding="utf-8")
    services.ingester().scan()
    titles = EXPECTED[:3]
    assert [r.title for r in services.storage.list_releases()] == titles
    client = create_app(services=services).test_client()
    assert page_titles(client.get("/").data) == titles
    assert [e.title for e in feedparser.parse(client.get("/feeds/all.atom").data).entries] == titles
