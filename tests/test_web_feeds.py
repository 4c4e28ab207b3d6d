"""Feeds and pages through the real app: a real database, real files, feedparser and the RELAX NG schema."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import feedparser
import listparser
import lxml.html
import pytest
from lxml import etree

from feedsvc.cli import make_ingester
from feedsvc.config import load_settings
from feedsvc.storage import Storage
from tests.conftest import ATOM_RNG

BASE = "http://localhost"
ATOM_NS = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def relaxng() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(ATOM_RNG)))


# What the web tests set over conftest's `env`: a laptop's address, feeds rechecked on every request.
WEB = {"FEEDSVC_BASE_URL": BASE, "FEEDSVC_FEED_RECHECK": "0", "FEEDSVC_ORGANISATION": "IOM Turkey",
       "FEEDSVC_TAG_AUTHORITY": "press.example.org"}


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return env | WEB


def write_many(content_dir: Path, count: int) -> None:
    """A listing of `count` releases, many.txt, the newest first (Part 0)."""
    lines = ["Press Releases", ""]
    for i in range(count):
        lines += [f"IOM Supports Border Communities, Part {i}", "",
                  f"Ankara – Border communities received support in round {i} of the programme.", ""]
    (content_dir / "many.txt").write_text("\n".join(lines), encoding="utf-8")


def ingest(env: dict[str, str], storage: Storage):  # type: ignore[no-untyped-def]
    return make_ingester(load_settings(env), storage).scan()


@pytest.fixture
def client(env: dict[str, str], storage: Storage, make_app):  # type: ignore[no-untyped-def]
    ingest(env, storage)
    app = make_app(env)
    return app.test_client()


def feed_paths(client) -> list[str]:  # type: ignore[no-untyped-def]
    """The Atom feeds of the OPML list but the languages' (/feeds/<lang>/…: test_languages.py)."""
    outlines = listparser.parse(client.get("/feeds.opml").data.decode())
    return [p for f in outlines.feeds if (p := f.url.removeprefix(BASE)).count("/") == 2]


def check_atom(body: bytes, url: str, relaxng: etree.RelaxNG) -> feedparser.FeedParserDict:
    doc = etree.fromstring(body)
    assert relaxng.validate(doc), relaxng.error_log
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    self_links = [link.get("href") for link in doc.findall(f"{ATOM_NS}link") if link.get("rel") == "self"]
    assert self_links == [url]
    ids = [e.id for e in parsed.entries]
    assert len(ids) == len(set(ids))
    updated = [e.updated for e in parsed.entries]
    assert len(updated) == len(set(updated)), "two entries share an updated instant"
    for e in parsed.entries:
        # `published` only when the release states a date (issue 13): none is invented.
        assert e.updated_parsed and e.author and e.id.startswith("tag:")
    if parsed.entries:
        assert parsed.feed.updated_parsed == max(e.updated_parsed for e in parsed.entries)
    return parsed


def html_text(fragment: str) -> str:
    """What a reader rendering `fragment` as HTML (as RSS readers do title and description) shows."""
    return lxml.html.fragment_fromstring(fragment, create_parent="div").text_content()


def check_rss(body: bytes, url: str) -> feedparser.FeedParserDict:
    """What the W3C validator checks of RSS and its readers rely on: text in every item, self link."""
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    doc = etree.fromstring(body)
    assert [link.get("href") for link in doc.iter(f"{ATOM_NS}link") if link.get("rel") == "self"] == [url]
    assert b"<script" not in body
    guids = [e.id for e in parsed.entries]
    assert len(guids) == len(set(guids))
    for e in parsed.entries:
        assert e.title.strip() and html_text(e.summary).strip(), e.id  # never an item that says nothing
        assert e.author and e.published_parsed and e.id.startswith("tag:")
    return parsed


def test_every_feed_is_valid_and_served_like_a_good_publisher(client, relaxng) -> None:  # type: ignore[no-untyped-def]
    paths = feed_paths(client)
    assert "/feeds/all.atom" in paths and len(paths) >= 9
    total = 0
    for path in paths:
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert resp.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
        assert resp.headers["ETag"].startswith('"') and resp.headers["Last-Modified"]
        assert "max-age=" in resp.headers["Cache-Control"]
        parsed = check_atom(resp.data, BASE + path, relaxng)
        if path == "/feeds/all.atom":
            total = len(parsed.entries)
        rss = client.get(path.replace(".atom", ".rss"))
        assert rss.headers["Content-Type"] == "application/rss+xml; charset=utf-8"
        check_rss(rss.data, BASE + path.replace(".atom", ".rss"))
    assert total == 23


def test_conditional_get_gzip_and_head(client) -> None:  # type: ignore[no-untyped-def]
    first = client.get("/feeds/all.atom")
    etag, lm = first.headers["ETag"], first.headers["Last-Modified"]
    assert client.get("/feeds/all.atom", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/feeds/all.atom", headers={"If-None-Match": f'"x", {etag}'}).status_code == 304
    assert client.get("/feeds/all.atom", headers={"If-Modified-Since": lm}).status_code == 304
    # If-None-Match wins over If-Modified-Since (RFC 9110 §13.1.3).
    assert client.get("/feeds/all.atom", headers={"If-None-Match": '"other"',
                                                  "If-Modified-Since": lm}).status_code == 200
    assert client.get("/feeds/all.atom", headers={
        "If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}).status_code == 200
    gz = client.get("/feeds/all.atom", headers={"Accept-Encoding": "gzip, deflate"})
    assert gz.headers["Content-Encoding"] == "gzip" and gzip.decompress(gz.data) == first.data
    assert gz.headers["ETag"] != etag
    assert client.get("/feeds/all.atom", headers={"Accept-Encoding": "gzip",
                                                  "If-None-Match": gz.headers["ETag"]}).status_code == 304
    assert "Content-Encoding" not in client.get("/feeds/all.atom",
                                                headers={"Accept-Encoding": "gzip;q=0"}).headers
    head = client.head("/feeds/all.atom")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == str(len(first.data))


def test_edit_moves_only_its_entry_and_its_feeds(env, storage, client, content_dir, make_app) -> None:  # type: ignore[no-untyped-def]
    paths = feed_paths(client)
    before = {p: client.get(p) for p in paths}
    entries_before = {e.id: (e.get("published"), e.updated) for e in feedparser.parse(before["/feeds/all.atom"].data).entries}

    # A restart and a re-ingest of unchanged files change nothing.
    ingest(env, storage)
    again = make_app(env).test_client()
    for p in paths:
        assert again.get(p).data == before[p].data, p

    path = content_dir / "000_f6e31e41b8e258ab.txt"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "along with commentaries", "along with short commentaries"), encoding="utf-8")
    ingest(env, storage)
    after = {p: again.get(p) for p in paths}
    entries_after = {e.id: (e.get("published"), e.updated) for e in feedparser.parse(after["/feeds/all.atom"].data).entries}
    assert entries_after.keys() == entries_before.keys()
    moved = [i for i in entries_after if entries_after[i] != entries_before[i]]
    assert len(moved) == 1 and entries_after[moved[0]][0] == entries_before[moved[0]][0]
    edited = storage.get_release(moved[0].rsplit("/", 1)[1])
    changed = {p for p in paths if after[p].headers["ETag"] != before[p].headers["ETag"]}
    assert changed == {"/feeds/all.atom"} | {f"/feeds/{t}.atom" for t in edited.topics}
    assert changed != set(paths)  # one topic's change does not invalidate the others


def test_archives_let_a_reader_backfill_everything(env, storage, content_dir, relaxng, make_app) -> None:  # type: ignore[no-untyped-def]
    write_many(content_dir, 120)
    ingest(env, storage)
    client = make_app(env).test_client()
    current = client.get("/feeds/all.atom")
    parsed = check_atom(current.data, BASE + "/feeds/all.atom", relaxng)
    assert len(parsed.entries) == 50
    seen = {e.id for e in parsed.entries}
    doc = etree.fromstring(current.data)
    prev = next(link.get("href") for link in doc.findall(f"{ATOM_NS}link") if link.get("rel") == "prev-archive")
    pages = 0
    while prev:
        resp = client.get(prev.removeprefix(BASE))
        assert resp.status_code == 200
        assert client.get(prev.removeprefix(BASE), headers={"If-None-Match": resp.headers["ETag"]}).status_code == 304
        archive = check_atom(resp.data, prev, relaxng)
        adoc = etree.fromstring(resp.data)
        assert adoc.find("{http://purl.org/syndication/history/1.0}archive") is not None
        seen |= {e.id for e in archive.entries}
        links = {link.get("rel"): link.get("href") for link in adoc.findall(f"{ATOM_NS}link")}
        assert links["current"] == BASE + "/feeds/all.atom"
        prev = links.get("prev-archive")
        pages += 1
    assert pages == 2 and len(seen) == 143
    assert client.get("/feeds/archive/all/99.atom").status_code == 404


def test_pages_have_autodiscovery_and_proper_404s(client, storage) -> None:  # type: ignore[no-untyped-def]
    release = storage.list_releases(limit=1)[0]
    topic = release.topics[0]
    for path, own in (("/", "/feeds/all.atom"), (f"/topics/{topic}", f"/feeds/{topic}.atom"),
                      (f"/releases/{release.id}", f"/feeds/{topic}.atom")):
        resp = client.get(path)
        assert resp.status_code == 200, path
        html = etree.HTML(resp.data)
        alts = [link.get("href") for link in html.iter("link")
                if link.get("rel") == "alternate" and link.get("type") == "application/atom+xml"]
        assert alts[0] == own and "/feeds/all.atom" in alts, path
        assert html.find(".//meta[@name='viewport']") is not None
    assert release.title in client.get(f"/releases/{release.id}").get_data(as_text=True)
    for path in ("/topics/no-such-topic", "/releases/0000000000000000", "/feeds/no-such-topic.atom",
                 "/feeds/no-such-topic.rss", "/nowhere"):
        resp = client.get(path)
        assert resp.status_code == 404, path
        assert "text/html" in resp.headers["Content-Type"]
        assert b"Back to all press releases" in resp.data


def test_hostile_content_gives_valid_escaped_feeds(env, storage, content_dir, relaxng, make_app) -> None:  # type: ignore[no-untyped-def]
    (content_dir / "hostile.txt").write_text(
        "Border Update ]]> <script>alert(1)</script> & Friends\x07\n\n"
        "Ankara – Migrants & refugees crossed the border; <b>bold</b> ]]> text\x0b here.\n"
        "مرحبا بكم في تركيا — اللاجئون والمهاجرون على الحدود\n"
        "İstanbul’da sığınmacılar için yeni bir merkez açıldı.\n", encoding="utf-8")
    # Releases with no body: one undated (so among the newest), one the oldest of all (archived).
    (content_dir / "bare.md").write_text(
        "---\ntitle: Bare <script>alert(2)</script> & Notice\nlocation: Ankara\n---\n", encoding="utf-8")
    (content_dir / "old-bare.md").write_text(
        "---\ntitle: Old <script>alert(3)</script> & Notice\nlocation: İzmir\ndate: 2018-01-05\n---\n",
        encoding="utf-8")
    write_many(content_dir, 40)  # enough for an archive page
    ingest(env, storage)
    client = make_app(env).test_client()
    resp = client.get("/feeds/all.atom")
    parsed = check_atom(resp.data, BASE + "/feeds/all.atom", relaxng)
    entry = next(e for e in parsed.entries if "Border Update" in e.title)
    assert entry.title == "Border Update ]]> <script>alert(1)</script> & Friends"
    assert "&lt;b&gt;bold&lt;/b&gt;" in entry.content[0].value
    assert "مرحبا بكم" in entry.content[0].value and "İstanbul’da" in entry.content[0].value
    rid = entry.id.rsplit("/", 1)[1]
    page = client.get(f"/releases/{rid}").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;" in page

    # RSS readers render title and description as HTML: they show the release's characters.
    rss = check_rss(client.get("/feeds/all.rss").data, BASE + "/feeds/all.rss")
    item = next(e for e in rss.entries if e.id == entry.id)
    assert html_text(item.title) == "Border Update ]]> <script>alert(1)</script> & Friends"
    assert html_text(item.summary) == "Migrants & refugees crossed the border; <b>bold</b> ]]> text here."
    assert "&lt;b&gt;bold&lt;/b&gt;" in item.content[0].value
    # A release with no body says where and when, in RSS and Atom alike.
    bare = next(e for e in rss.entries if html_text(e.title).startswith("Bare"))
    assert html_text(bare.title) == "Bare <script>alert(2)</script> & Notice"
    assert re.fullmatch(r"Ankara, added on \d{1,2} [A-Z][a-z]+ 20\d\d", html_text(bare.summary))  # undated
    bare_atom = next(e for e in parsed.entries if e.id == bare.id)
    assert bare_atom.summary == html_text(bare.summary) and "content" not in bare_atom
    archived = []
    prev = next(link.href for link in parsed.feed.links if link.rel == "prev-archive")
    while prev:
        body = client.get(prev.removeprefix(BASE)).data
        assert body.split(b"\n")[1] == f'<?xml-stylesheet type="text/xsl" href="{BASE}/feeds/feed.xsl"?>'.encode()
        archive = check_atom(body, prev, relaxng)
        archived += archive.entries
        prev = next((link.href for link in archive.feed.links if link.rel == "prev-archive"), None)
    assert archived
    entries = parsed.entries + archived
    for e in entries:
        assert (e.get("summary") or e.content[0].value).strip(), e.id
    old = next(e for e in archived if e.title.startswith("Old"))
    assert old.title == "Old <script>alert(3)</script> & Notice"
    assert old.summary == "İzmir, 5 January 2018" and "content" not in old


def feed_and_archives(client, slug: str, base: str = BASE) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A feed in each format and every archive page behind its Atom (prev-archive links), by path."""
    out: dict[str, str] = {}
    for ext in ("atom", "rss", "json"):
        resp = client.get(f"/feeds/{slug}.{ext}")
        assert resp.status_code == 200
        out[f"/feeds/{slug}.{ext}"] = resp.get_data(as_text=True)
    page_data = out[f"/feeds/{slug}.atom"].encode()
    while prev := next((link.get("href") for link in etree.fromstring(page_data).findall(f"{ATOM_NS}link")
                        if link.get("rel") == "prev-archive"), None):
        page = client.get(prev.removeprefix(base))
        assert page.status_code == 200
        out[prev.removeprefix(base)] = page.get_data(as_text=True)
        page_data = page.data
    return out


def _surfaces(client, storage, topics) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Every page, feed and archive page a reader can reach for these topics, by path."""
    out: dict[str, str] = {}
    for slug in ("all", *topics):
        out |= feed_and_archives(client, slug)
    out["/"] = client.get("/").get_data(as_text=True)
    out["/sitemap.xml"] = client.get("/sitemap.xml").get_data(as_text=True)
    for slug in topics:
        pages = max(1, -(-storage.count_releases(slug) // 30))
        for n in range(1, pages + 1):
            out[f"/topics/{slug}?page={n}"] = client.get(f"/topics/{slug}?page={n}").get_data(as_text=True)
    return out


def test_a_withdrawn_release_is_gone_everywhere_and_comes_back_at_its_address(  # type: ignore[no-untyped-def]
        env, storage, content_dir, tmp_path, make_app) -> None:
    write_many(content_dir, 40)  # enough for archive pages: the withdrawn release, the oldest, is archived
    old = content_dir / "old.md"
    old.write_text("---\ntitle: Old Border Notice & <Friends>\nlocation: İzmir\ndate: 2018-01-05\n---\n"
                   "Migrants and refugees crossed the border at Edirne; its only paragraph.\n", encoding="utf-8")
    ingest(env, storage)
    client = make_app(env).test_client()
    (r,) = storage.list_releases(limit=1, oldest_first=True)
    assert r.title == "Old Border Notice & <Friends>" and r.topics
    total, per_topic = storage.count_releases(), storage.topic_counts()

    def mentions(surfaces: dict[str, str]) -> set[str]:
        return {path for path, text in surfaces.items() if r.atom_id in text or f"/releases/{r.id}" in text}

    before = _surfaces(client, storage, r.topics)
    assert {"/feeds/archive/all/1.atom", "/sitemap.xml"} <= mentions(before)
    assert r.id in {x.id for x in storage.releases_between(0, storage.max_seq())}

    old.rename(tmp_path / "old.md")  # its file is gone: withdrawn
    assert ingest(env, storage).summary.releases_withdrawn == 1
    gone = client.get(f"/releases/{r.id}")
    assert gone.status_code == 410 and "text/html" in gone.headers["Content-Type"]
    notice = gone.get_data(as_text=True)
    stored = storage.get_release(r.id)
    assert stored is not None and stored.withdrawn and stored.withdrawn_at is not None
    day = stored.withdrawn_at
    assert "Old Border Notice &amp; &lt;Friends&gt;" in notice
    assert f"withdrawn on {day.day} {day:%B} {day.year}" in notice
    assert "Edirne" not in notice  # the notice, not the text
    assert mentions(_surfaces(client, storage, r.topics)) == set()
    assert storage.count_releases() == total - 1
    assert storage.topic_counts() == {t: n - (t in r.topics) for t, n in per_topic.items()}
    assert r.id not in {x.id for x in storage.releases_between(0, storage.max_seq())}
    assert r.id not in {x.id for x in storage.list_releases(limit=1000)}

    (tmp_path / "old.md").rename(old)  # the text returns: same address, same id, everywhere again
    ingest(env, storage)
    back = client.get(f"/releases/{r.id}")
    assert back.status_code == 200 and "Edirne" in back.get_data(as_text=True)
    returned = storage.get_release(r.id)
    assert returned is not None and returned.atom_id == r.atom_id and not returned.withdrawn
    assert mentions(_surfaces(client, storage, r.topics)) == mentions(before)
    assert storage.count_releases() == total and storage.topic_counts() == per_topic


def test_a_feed_not_built_yet_is_answered_but_a_get_stores_and_pings_nothing(env: dict[str, str], storage: Storage,
                                                                             ingester, make_app) -> None:  # type: ignore[no-untyped-def]
    """Issue 12 item 5: building, storing and telling the hub is the publish path's work, not a GET's."""
    ingester.scan()  # releases stored by an ingester wired to no publisher: no feed built yet
    assert storage.get_feed_document("health.atom") is None
    env = env | {"FEEDSVC_WEBSUB_HUB": "http://127.0.0.1:9/hub"}
    client = make_app(env).test_client()
    first = client.get("/feeds/health.atom")
    assert first.status_code == 200 and first.mimetype == "application/atom+xml"
    assert feedparser.parse(first.data).entries
    assert client.get("/feeds/health.atom", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    assert client.get("/feeds/health.rss").status_code == 200
    assert storage.feed_etags() == {}  # nothing stored, so nothing changed for a hub to hear about
    # The publish path stores them, and then the same bytes are served from storage.
    make_ingester(load_settings(env), storage).scan()
    assert storage.get_feed_document("health.atom").etag == first.headers["ETag"]
