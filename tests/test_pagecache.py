"""Pages kept rendered per version of what they show (issue 17 item 7): web/pagecache.py, storage/pages.py.

Real parts: a content folder ingested into SQLite and PostgreSQL, the app through Flask's test
client (the page cache and the feed server in front of it, as in production), and a second app
with its own connections over the same database, as a second web process. Renders are counted by
the page cache's own counter, the one an operator can read.
"""

from __future__ import annotations

import datetime as dt
import gzip
import re
from pathlib import Path
from typing import Any

import pytest

from feedsvc.app import create_app
from feedsvc.config import load_settings
from feedsvc.services import Services, build_services
from feedsvc.storage import Storage
from feedsvc.storage.pages import REFRESH
from tests.waiting import wait_for

LISTING = """\
Press releases

Platypus shelter opens in Wombatshire
23 November 2026
ANKARA – A shelter for displaced families opened in Wombatshire this week, with health care on site.
"""
HELD = """\
Press releases

EMBARGOED UNTIL 09:00 GMT, 24 November 2026

Quokka census results published
24 November 2026
ANKARA – The census of Quokkaland households shows the health needs of returning families.
"""
LATER = """\
Press releases

Koala volunteers honoured in Platypusville
23 November 2026
ANKARA – Forty volunteers were honoured for their health work in Platypusville.
"""
SHELTER, CENSUS, KOALA = "Platypus shelter opens in Wombatshire", "Quokka census results published", \
    "Koala volunteers honoured in Platypusville"


def renders(app: Any) -> int:
    return int(app.extensions["feedsvc.page_cache"].renders)


def site(env: dict[str, str], storage: Storage, clock: Any) -> tuple[Services, Any]:
    services = build_services(load_settings(env), clock, storage=storage)
    services.ingester().scan()
    return services, create_app(services=services)


def release_id(storage: Storage, title: str) -> str:
    found = [r.id for r in storage.list_releases(limit=500) if r.title == title]
    found += [h.id for h in storage.held_releases() if h.title == title]
    (rid,) = found
    return rid


def test_a_page_is_rendered_once_then_served_with_its_etag_and_304(  # type: ignore[no-untyped-def]
        env: dict[str, str], storage: Storage, clock, content_dir: Path) -> None:
    (content_dir / "shelter.txt").write_text(LISTING, encoding="utf-8")
    _, app = site(env, storage, clock)
    client = app.test_client()
    rid = release_id(storage, SHELTER)
    topic = storage.get_release(rid).topics[0]  # type: ignore[union-attr]
    for path in ("/", f"/topics/{topic}", f"/topics/{topic}?page=1", f"/releases/{rid}", f"/releases/{rid}/history"):
        before = renders(app)
        first = client.get(path)
        assert first.status_code == 200, path
        etag = first.headers["ETag"]
        for _ in range(5):
            again = client.get(path)
            assert (again.status_code, again.data, again.headers["ETag"]) == (200, first.data, etag), path
        assert renders(app) == before + 1, path
        # As before the cache: a shared cache asks again before each use (pages.REVALIDATED).
        assert first.headers["Cache-Control"] == "no-cache"
        # Vary names Cookie for the interface language's cookie (web/i18n.py), which the cache keys on.
        assert "Set-Cookie" not in first.headers and "Accept-Language, Cookie" in first.headers.get("Vary", "")
        assert first.headers["Content-Security-Policy"] and "Strict-Transport-Security" not in first.headers
        not_modified = client.get(path, headers={"If-None-Match": etag})
        assert (not_modified.status_code, not_modified.data) == (304, b"")
        assert not_modified.headers["ETag"] == etag
        assert client.get(path, headers={"If-None-Match": '"something-else"'}).status_code == 200
        zipped = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert zipped.headers["Content-Encoding"] == "gzip" and gzip.decompress(zipped.data) == first.data
        assert client.get(path, headers={"If-None-Match": zipped.headers["ETag"]}).status_code == 304
        head = client.head(path)
        assert (head.status_code, head.data, head.headers["ETag"]) == (200, b"", etag)
        assert renders(app) == before + 1, path
    # What a page differs by besides its address (pagecache.variant): HTTPS answers carry HSTS.
    secure = client.get("/", base_url="https://press.example.org")
    assert secure.headers["Strict-Transport-Security"] and secure.data == client.get("/").data
    assert "Strict-Transport-Security" not in client.get("/").headers
    # Paging is part of the key: page 1 asked as `?page=1` is its own copy, and the same bytes.
    assert client.get(f"/topics/{topic}?page=1").data == client.get(f"/topics/{topic}").data
    # Answers that are not pages are never kept: the same 404 every time, rendered every time.
    before = renders(app)
    for path in (f"/topics/{topic}?page=abc", "/topics/no-such-topic", "/releases/0000000000000000"):
        assert client.get(path).status_code == client.get(path).status_code == 404, path
    assert renders(app) == before


def test_the_sitemap_is_made_once_per_change_and_its_parts_too(  # type: ignore[no-untyped-def]
        env: dict[str, str], storage: Storage, clock, content_dir: Path, monkeypatch) -> None:
    from feedsvc.web import formats

    (content_dir / "shelter.txt").write_text(LISTING, encoding="utf-8")
    services, app = site(env, storage, clock)
    client = app.test_client()
    first = client.get("/sitemap.xml")
    assert first.status_code == 200 and first.headers["Cache-Control"] == "public, max-age=300"
    made = renders(app)
    for _ in range(3):
        assert client.get("/sitemap.xml").data == first.data
    assert client.get("/sitemap.xml", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    assert renders(app) == made
    # A new release is in the very next answer: the ingest raised the pages' version.
    (content_dir / "koala.txt").write_text(LATER, encoding="utf-8")
    services.ingester().scan()
    koala = release_id(storage, KOALA)
    assert f"/releases/{koala}</loc>" in client.get("/sitemap.xml").get_data(as_text=True)
    assert renders(app) == made + 1
    # Split into parts (the protocol's 50,000 URLs, shrunk here): each part kept alike; 404s never.
    monkeypatch.setattr(formats, "URLS_PER_SITEMAP", 2)
    (content_dir / "held.txt").write_text(HELD.replace("EMBARGOED UNTIL 09:00 GMT, 24 November 2026\n", ""),
                                          encoding="utf-8")
    services.ingester().scan()
    index = client.get("/sitemap.xml").get_data(as_text=True)
    assert "<sitemapindex" in index and "/sitemaps/2.xml" in index
    made = renders(app)
    part = client.get("/sitemaps/2.xml")
    assert part.status_code == 200 and client.get("/sitemaps/2.xml").data == part.data
    assert renders(app) == made + 1
    assert client.get("/sitemaps/999.xml").status_code == client.get("/sitemaps/999.xml").status_code == 404
    assert renders(app) == made + 1


def pages_of(client: Any, *paths: str) -> dict[str, tuple[int, str, str | None]]:
    out = {}
    for path in paths:
        resp = client.get(path)
        out[path] = (resp.status_code, resp.get_data(as_text=True), resp.headers.get("ETag"))
    return out


@pytest.mark.parametrize("change", ["ingest", "withdrawal", "embargo lift"])
def test_each_change_is_served_at_once_by_every_web_process(  # type: ignore[no-untyped-def]
        env: dict[str, str], storage: Storage, clock, content_dir: Path, make_app, change: str) -> None:
    (content_dir / "shelter.txt").write_text(LISTING, encoding="utf-8")
    (content_dir / "census.txt").write_text(HELD, encoding="utf-8")
    services, app = site(env, storage, clock)
    # Two web processes over one database: this test's app and one with its own Storage.
    clients = [app.test_client(), make_app(env).test_client()]
    shelter, census = release_id(storage, SHELTER), release_id(storage, CENSUS)
    paths = ("/", f"/releases/{shelter}", f"/releases/{census}")
    before = [pages_of(c, *paths) for c in clients]
    for pages in before:  # kept now: asked again, the same
        assert SHELTER in pages["/"][1] and CENSUS not in pages["/"][1]
        assert pages[f"/releases/{shelter}"][0] == 200 and pages[f"/releases/{census}"][0] == 404
    assert [pages_of(c, *paths) for c in clients] == before
    version = storage.pages_version()

    if change == "ingest":
        (content_dir / "koala.txt").write_text(LATER, encoding="utf-8")
        services.ingester().scan()
    elif change == "withdrawal":
        (content_dir / "shelter.txt").unlink()
        services.ingester().scan()
    else:
        clock.now = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
        services.publisher.lift_embargoes()
    assert storage.pages_version() > version
    # The process that made the change serves it at once. On SQLite so does every other (each
    # request reads the number); on PostgreSQL another process serves it once the change's
    # notification has reached it (storage/pages.py), well within the periodic read.
    other = clients[1].application.extensions["feedsvc"].storage
    if storage.dialect == "sqlite":
        assert other.pages_version() > version
    else:
        wait_for(lambda: other.pages_version() > version, "the change heard by the other process",
                 timeout=REFRESH / 2)

    for client, old in zip(clients, before, strict=True):
        new = pages_of(client, *paths)
        home = new["/"][1]
        assert new["/"][2] != old["/"][2] and home != old["/"][1]  # a new ETag, new content
        # The old ETag no longer matches: a client revalidating gets the new page.
        assert client.get("/", headers={"If-None-Match": old["/"][2]}).status_code == 200
        if change == "ingest":
            assert KOALA in home and SHELTER in home
        elif change == "withdrawal":
            assert SHELTER not in home
            assert new[f"/releases/{shelter}"][0] == 410  # its withdrawn notice
        else:
            assert CENSUS in home
            assert new[f"/releases/{census}"][0] == 200 and CENSUS in new[f"/releases/{census}"][1]
    services.publisher.flush()


def token_of(page: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, "no token in the page"
    return match.group(1)


def test_the_sign_up_form_of_a_kept_page_still_works(  # type: ignore[no-untyped-def]
        env: dict[str, str], storage: Storage, clock) -> None:
    _, app = site(env, storage, clock)
    client = app.test_client()
    home = client.get("/")
    assert client.get("/").data == home.data and renders(app) == 1  # kept: the same for everyone
    # The short form carries no one's token, so keeping the page leaks none and sets no cookie.
    assert '<input type="hidden" name="csrf_token" value="">' in home.get_data(as_text=True)
    assert "Set-Cookie" not in home.headers
    form = {"email": "reader@example.org", "frequency": "weekly", "time_zone": "", "csrf_token": ""}

    # Without scripts: nothing is done; the form comes back filled in, with this visitor's token.
    again = client.post("/subscribe", data=form)
    page = again.get_data(as_text=True)
    assert again.status_code == 200 and "once more" in page and 'value="reader@example.org"' in page
    assert storage.get_subscriber_by_email("reader@example.org") is None
    done = client.post("/subscribe", data=form | {"csrf_token": token_of(page)})
    assert done.status_code == 200 and "Check your inbox" in done.get_data(as_text=True)
    assert storage.get_subscriber_by_email("reader@example.org") is not None

    # With /subscribe-form.js: the token is fetched on submit, never kept by a cache.
    other = app.test_client()
    fetched = other.get("/subscribe/token")
    assert fetched.headers["Cache-Control"] == "no-store" and "Set-Cookie" in fetched.headers
    done = other.post("/subscribe", data=form | {"email": "second@example.org", "csrf_token": fetched.get_data(as_text=True)})
    assert "Check your inbox" in done.get_data(as_text=True)
    assert storage.get_subscriber_by_email("second@example.org") is not None
    assert "/subscribe/token" in other.get("/subscribe-form.js").get_data(as_text=True)

    # A token from another visitor's session (a forged page's) subscribes nobody.
    third = app.test_client()
    refused = third.post("/subscribe", data=form | {"email": "third@example.org",
                                                    "csrf_token": fetched.get_data(as_text=True)})
    assert refused.status_code == 200 and "once more" in refused.get_data(as_text=True)
    assert storage.get_subscriber_by_email("third@example.org") is None


def test_query_strings_never_grow_the_cache_past_its_bound(  # type: ignore[no-untyped-def]
        env: dict[str, str], storage: Storage, clock) -> None:
    _, app = site(env | {"FEEDSVC_PAGE_CACHE_MB": "1"}, storage, clock)
    cache = app.extensions["feedsvc.page_cache"]
    client = app.test_client()
    home = client.get("/").data
    for n in range(300):  # each a copy of its own, as a crawler's tracking parameters would be
        assert client.get(f"/?utm_source={n}").data == home
        client.get("/")  # the page in use stays: least recently used go first
        assert cache.size <= 1_000_000
    assert len(cache.pages) < 300 and renders(app) == 301
    assert ("/", "") in [(k[-2], k[-1]) for k in cache.pages]


def test_nothing_is_kept_when_the_cache_is_off(env: dict[str, str], storage: Storage, clock) -> None:  # type: ignore[no-untyped-def]
    _, app = site(env | {"FEEDSVC_PAGE_CACHE_MB": "0"}, storage, clock)
    client = app.test_client()
    assert client.get("/").status_code == client.get("/").status_code == 200
    assert renders(app) == 0 and not app.extensions["feedsvc.page_cache"].pages
