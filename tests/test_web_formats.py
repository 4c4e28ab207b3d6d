"""Formats machines read, through the real app and database: JSON Feed, JSON-LD, sitemap, robots.txt, the feeds' XSL."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from pathlib import Path
from typing import Any

import feedparser
import lxml.html
import pytest
from lxml import etree

from feedsvc.links import TOKEN_PATHS, Links
from feedsvc.tokens import Tokens
from feedsvc.topics import load_taxonomy
from feedsvc.web import formats
from tests.conftest import ATOM_RNG, ROOT, jsonfeed_validator
from tests.test_web_feeds import BASE, WEB, feed_paths, ingest

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
HOSTILE_TITLE = "Border Update </script><script>alert(1)</script> <!-- ]]> & Friends"
HOSTILE = (f"{HOSTILE_TITLE}\x07\n\n"
           "Ankara – Migrants & refugees crossed the border; <b>bold</b> ]]> text\x0b here.\n"
           "مرحبا بكم في تركيا — اللاجئون والمهاجرون على الحدود\n")


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return env | WEB


@pytest.fixture
def client(env: dict[str, str], storage, make_app):  # type: ignore[no-untyped-def]
    ingest(env, storage)
    return make_app(env).test_client()


@pytest.fixture(scope="module")
def relaxng() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(ATOM_RNG)))


def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(ROOT / "tests" / name)))


def json_feed(client, path: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    resp = client.get(path)
    assert resp.status_code == 200, path
    assert resp.headers["Content-Type"] == "application/feed+json"
    feed = json.loads(resp.data.decode("utf-8"))
    errors = list(jsonfeed_validator().iter_errors(feed))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]
    return feed  # type: ignore[no-any-return]


# --- JSON Feed ------------------------------------------------------------------------------------

def test_every_topic_has_a_valid_json_feed_served_like_the_atom_one(client) -> None:  # type: ignore[no-untyped-def]
    paths = [p.replace(".atom", ".json") for p in feed_paths(client)]
    assert "/feeds/all.json" in paths and len(paths) >= 9
    for path in paths:
        feed = json_feed(client, path)
        assert feed["feed_url"] == BASE + path
        atom = feedparser.parse(client.get(path.replace(".json", ".atom")).data)
        assert [i["id"] for i in feed["items"]] == [e.id for e in atom.entries], path
        assert [i["title"] for i in feed["items"]] == [e.title for e in atom.entries], path
    first = client.get("/feeds/all.json")
    etag = first.headers["ETag"]
    assert etag.startswith('"') and first.headers["Last-Modified"] and "max-age=" in first.headers["Cache-Control"]
    assert client.get("/feeds/all.json", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/feeds/all.json", headers={"Accept-Encoding": "gzip"}).headers["Content-Encoding"] == "gzip"
    assert client.get("/feeds/no-such-topic.json").status_code == 404
    for page in ("/", "/topics/health"):
        html = etree.HTML(client.get(page).data)
        json_links = [link.get("href") for link in html.iter("link")
                      if link.get("rel") == "alternate" and link.get("type") == "application/feed+json"]
        assert "/feeds/all.json" in json_links, page
        assert client.get(json_links[0]).status_code == 200


def test_hostile_and_undated_releases_give_a_valid_json_feed(env, storage, content_dir, make_app) -> None:  # type: ignore[no-untyped-def]
    (content_dir / "hostile.txt").write_text(HOSTILE, encoding="utf-8")
    (content_dir / "bare.md").write_text("---\ntitle: Bare <script>alert(2)</script> Notice\nlocation: Ankara\n---\n",
                                         encoding="utf-8")
    ingest(env, storage)
    client = make_app(env).test_client()
    feed = json_feed(client, "/feeds/all.json")
    items = {i["title"]: i for i in feed["items"]}
    hostile = items[HOSTILE_TITLE]
    assert "&lt;b&gt;bold&lt;/b&gt; ]]&gt; text here." in hostile["content_html"]
    assert "<b>" not in hostile["content_html"] and "مرحبا بكم" in hostile["content_html"]
    bare = items["Bare <script>alert(2)</script> Notice"]
    assert "date_published" not in bare and bare["date_modified"]  # undated: no date is invented
    assert re.fullmatch(r"Ankara, added on \d{1,2} [A-Z][a-z]+ 20\d\d", bare["content_text"])
    dated = [i for i in feed["items"] if "date_published" in i]
    assert dated and all(i["date_published"] <= i["date_modified"] for i in dated)


# --- NewsArticle JSON-LD --------------------------------------------------------------------------

def json_ld(page: bytes) -> list[Any]:
    doc = lxml.html.fromstring(page)
    return [json.loads(s.text) for s in doc.iter("script") if s.get("type") == "application/ld+json"]


def test_release_pages_carry_news_article_data_hostile_text_cannot_escape(  # type: ignore[no-untyped-def]
        env, storage, content_dir, make_app) -> None:
    (content_dir / "hostile.txt").write_text(HOSTILE, encoding="utf-8")
    (content_dir / "dated.md").write_text("---\ntitle: Dated Notice\nlocation: İzmir\ndate: 2025-12-09\n"
                                          "author: Ayşe Yılmaz\n---\nShelter for families.\n", encoding="utf-8")
    ingest(env, storage)
    client = make_app(env).test_client()
    by_title = {r.title: r for r in storage.list_releases(limit=100)}

    hostile = by_title[HOSTILE_TITLE]
    page = client.get(f"/releases/{hostile.id}").data
    assert b"</script><script>alert(1)" not in page and b"\\u003c/script\\u003e" in page
    doc = lxml.html.fromstring(page)
    # Nothing broke out: the JSON-LD, and the subscribe box's two scripts, are the only scripts.
    assert [(s.get("type"), s.get("src")) for s in doc.iter("script")] == [
        ("application/ld+json", None), (None, "/time-zone.js"), (None, "/subscribe-form.js")]
    (article,) = json_ld(page)
    url = f"{BASE}/releases/{hostile.id}"
    assert article["@context"] == "https://schema.org" and article["@type"] == "NewsArticle"
    assert article["headline"] == HOSTILE_TITLE
    assert (article["url"], article["mainEntityOfPage"]) == (url, {"@type": "WebPage", "@id": url})
    assert "datePublished" not in article  # the listing states no date: none is invented
    assert dt.datetime.fromisoformat(article["dateModified"]) == hostile.updated.replace(microsecond=0)
    org = {"@type": "Organization", "name": "IOM Turkey", "url": f"{BASE}/"}
    assert article["author"] == org and article["publisher"] == org
    assert article["inLanguage"] == "en" and article["dateline"] == "Ankara"

    dated = by_title["Dated Notice"]
    (article,) = json_ld(client.get(f"/releases/{dated.id}").data)
    assert article["datePublished"] == "2025-12-09"
    assert article["author"] == {"@type": "Person", "name": "Ayşe Yılmaz"}
    assert article["description"] == "Shelter for families."
    assert json_ld(client.get("/").data) == []  # only release pages are articles


# --- sitemap.xml and robots.txt -------------------------------------------------------------------

def sitemap_urls(body: bytes) -> dict[str, str | None]:
    doc = etree.fromstring(body)
    assert schema("sitemap.xsd").validate(doc), schema("sitemap.xsd").error_log
    return {u.findtext(f"{SM}loc"): u.findtext(f"{SM}lastmod") for u in doc.iter(f"{SM}url")}


def test_sitemap_lists_every_live_page_with_lastmod_and_drops_withdrawn(  # type: ignore[no-untyped-def]
        env, storage, content_dir, tmp_path, make_app, monkeypatch) -> None:
    (content_dir / "gone.md").write_text("---\ntitle: Soon Gone\nlocation: Ankara\n---\nA short life.\n",
                                         encoding="utf-8")
    ingest(env, storage)
    client = make_app(env).test_client()
    gone = next(r for r in storage.list_releases(limit=100) if r.title == "Soon Gone")
    (content_dir / "gone.md").rename(tmp_path / "gone.md")
    ingest(env, storage)

    resp = client.get("/sitemap.xml")
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert "max-age=" in resp.headers["Cache-Control"] and "public" in resp.headers["Cache-Control"]
    assert client.get("/sitemap.xml", headers={"If-None-Match": resp.headers["ETag"]}).status_code == 304
    urls = sitemap_urls(resp.data)
    live = storage.list_releases(limit=1000)
    assert len(live) == storage.count_releases() == 23
    for r in live:
        assert urls[f"{BASE}/releases/{r.id}"] == r.updated.astimezone(dt.UTC).isoformat(timespec="seconds")
    assert f"{BASE}/releases/{gone.id}" not in urls
    assert urls[f"{BASE}/"] == max(urls[f"{BASE}/releases/{r.id}"] for r in live)  # type: ignore[type-var]
    topics = [f"{BASE}/topics/{slug}" for slug in load_taxonomy(Path(env["FEEDSVC_TOPICS"])).slugs]
    assert set(urls) == {f"{BASE}/", *topics, *(f"{BASE}/releases/{r.id}" for r in live)}
    counts = storage.topic_counts()
    for slug in load_taxonomy(Path(env["FEEDSVC_TOPICS"])).slugs:  # a topic with no release: no lastmod
        assert (urls[f"{BASE}/topics/{slug}"] is None) == (not counts.get(slug)), slug
    for url in urls:  # every address answers
        assert client.get(url.removeprefix(BASE)).status_code == 200, url

    # Past the per-file limit (50,000; 7 here) /sitemap.xml is an index of parts covering the same pages.
    monkeypatch.setattr(formats, "URLS_PER_SITEMAP", 7)
    client = make_app(env).test_client()  # a process started with it: the sitemap is kept per version
    index = client.get("/sitemap.xml")
    doc = etree.fromstring(index.data)
    assert doc.tag == f"{SM}sitemapindex"
    assert schema("siteindex.xsd").validate(doc), schema("siteindex.xsd").error_log
    parts = [(s.findtext(f"{SM}loc"), s.findtext(f"{SM}lastmod")) for s in doc.iter(f"{SM}sitemap")]
    assert len(parts) == -(-len(urls) // 7)
    merged: dict[str, str | None] = {}
    for loc, lastmod in parts:
        assert loc is not None and loc.startswith(f"{BASE}/sitemaps/")
        part = sitemap_urls(client.get(loc.removeprefix(BASE)).data)
        assert len(part) <= 7 and lastmod == max(v for v in part.values() if v)
        merged |= part
    assert merged == urls
    assert client.get(f"/sitemaps/{len(parts) + 1}.xml").status_code == 404
    assert client.get("/sitemaps/0.xml").status_code == 404


def test_robots_txt_allows_all_but_admin_and_signed_links(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/robots.txt")
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "max-age=" in resp.headers["Cache-Control"] and resp.headers["ETag"]
    lines = resp.get_data(as_text=True).splitlines()
    assert lines[:2] == ["User-agent: *", "Allow: /"]
    assert f"Sitemap: {BASE}/sitemap.xml" in lines
    disallowed = [line.removeprefix("Disallow: ") for line in lines if line.startswith("Disallow: ")]
    assert "/admin" in disallowed
    # Every signed link an email carries is under a disallowed path.
    links = Links(BASE, Tokens("test-secret"))
    for url in (links.confirm(1, "a@x.org", 1), links.preferences(1, "a@x.org"), links.unsubscribe(1, "a@x.org"),
                links.digest_archive(1)):
        path = url.removeprefix(BASE)
        assert any(path.startswith(d) for d in disallowed), path
    assert set(TOKEN_PATHS) <= set(disallowed)
    assert Links("https://example.org/news/").private_paths()[0] == "/news/admin"


# --- the feeds' XSL stylesheet --------------------------------------------------------------------

def test_atom_and_rss_name_the_stylesheet_which_makes_a_readable_page(  # type: ignore[no-untyped-def]
        env, storage, content_dir, relaxng, make_app) -> None:
    (content_dir / "hostile.txt").write_text(HOSTILE, encoding="utf-8")
    ingest(env, storage)
    client = make_app(env).test_client()
    xsl = client.get("/feeds/feed.xsl")
    assert xsl.status_code == 200 and xsl.headers["Content-Type"].startswith("text/xsl")
    assert client.get("/feeds/feed.xsl", headers={"If-None-Match": xsl.headers["ETag"]}).status_code == 304
    transform = etree.XSLT(etree.fromstring(xsl.data))
    pi = f'<?xml-stylesheet type="text/xsl" href="{BASE}/feeds/feed.xsl"?>'.encode()
    for path in ("/feeds/all.atom", "/feeds/all.rss", "/feeds/health.atom"):
        body = client.get(path).data
        declaration, second = body.split(b"\n")[:2]
        assert declaration == b"<?xml version='1.0' encoding='UTF-8'?>" and second == pi, path
        doc = etree.fromstring(body)
        if path.endswith(".atom"):
            assert relaxng.validate(doc), relaxng.error_log
        parsed = feedparser.parse(body)
        assert not parsed.bozo and parsed.entries
        page = lxml.html.fromstring(str(transform(doc)))
        text = page.text_content()
        assert "This is a news feed: follow it in a feed reader" in text and "By email" in text
        assert page.xpath("string(//code)") == BASE + path  # the address to copy
        assert page.xpath("//main//a/@href")[0] == parsed.feed.link  # the site's page, for email
        titles = [" ".join(a.text_content().split()) for a in page.xpath("//ul[@class='entries']/li/a")]
        expected = [" ".join(lxml.html.fromstring(f"<p>{e.title}</p>").text_content().split())
                    if path.endswith(".rss") else " ".join(e.title.split()) for e in parsed.entries]
        assert titles == expected, path
        hrefs = page.xpath("//ul[@class='entries']/li/a/@href")
        assert hrefs == [e.link for e in parsed.entries]
        if "health" not in path:
            assert " ".join(HOSTILE_TITLE.split()) in titles  # as text: & and <script> shown, not run
        assert not page.xpath("//script") and not page.xpath("//b")


def test_a_browser_gets_the_feeds_page_a_reader_the_feed(client) -> None:  # type: ignore[no-untyped-def]
    reader = client.get("/feeds/all.atom", headers={"Accept": feedparser.http.ACCEPT_HEADER})
    browser = client.get("/feeds/all.atom", headers={"Accept": BROWSER_ACCEPT})
    plain = client.get("/feeds/all.atom")
    assert reader.headers["Content-Type"] == plain.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert reader.data == plain.data and reader.data.startswith(b"<?xml")
    # The page the feed's stylesheet makes, made by the server: no browser has to run XSLT.
    xsl = etree.XSLT(etree.fromstring(client.get("/feeds/feed.xsl").data))
    assert browser.headers["Content-Type"] == "text/html; charset=utf-8"
    assert browser.data == bytes(xsl(etree.fromstring(reader.data)))
    assert browser.data.lower().startswith(b"<!doctype html")
    assert "This is a news feed: follow it in a feed reader" in browser.get_data(as_text=True)
    assert browser.headers["ETag"] != reader.headers["ETag"] and browser.headers["Content-Security-Policy"]
    assert "Content-Security-Policy" not in reader.headers
    assert "Accept" in browser.headers["Vary"] and "Accept-Encoding" in browser.headers["Vary"]
    assert "Accept" in reader.headers["Vary"]  # caches between must keep the two apart
    assert client.get("/feeds/all.atom", headers={"Accept": BROWSER_ACCEPT,
                                                  "If-None-Match": browser.headers["ETag"]}).status_code == 304
    # The feed's own ETag is not the page's: a browser holding the feed is sent the page.
    assert client.get("/feeds/all.atom", headers={"Accept": BROWSER_ACCEPT,
                                                  "If-None-Match": reader.headers["ETag"]}).status_code == 200
    rss = client.get("/feeds/all.rss", headers={"Accept": BROWSER_ACCEPT, "Accept-Encoding": "gzip"})
    assert rss.headers["Content-Type"] == "text/html; charset=utf-8" and rss.headers["Content-Encoding"] == "gzip"
    assert b"(RSS feed)</title>" in gzip.decompress(rss.data)
    json_resp = client.get("/feeds/all.json", headers={"Accept": BROWSER_ACCEPT})
    assert json_resp.headers["Content-Type"] == "application/feed+json"
    assert "Accept," not in json_resp.headers["Vary"]


def test_the_stylesheet_file_ships_with_the_package() -> None:
    from feedsvc.resources import TEMPLATES_DIR

    assert (TEMPLATES_DIR / "feed.xsl").read_bytes() == Path(ROOT / "templates" / "feed.xsl").read_bytes()
