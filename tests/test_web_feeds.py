"""Feeds and pages through the real app: a real database, real files, feedparser and the RELAX NG schema."""

from __future__ import annotations

import gzip
from pathlib import Path

import feedparser
import listparser
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


@pytest.fixture
def env(db_url: str, content_dir: Path, topics_file: Path, tmp_path: Path) -> dict[str, str]:
    return {"DATABASE_URL": db_url, "SECRET_KEY": "test-secret", "FEEDSVC_BASE_URL": BASE,
            "FEEDSVC_CONTENT_DIR": str(content_dir), "FEEDSVC_TOPICS": str(topics_file),
            "FEEDSVC_INSTANCE_DIR": str(tmp_path / "instance"), "FEEDSVC_FEED_RECHECK": "0",
            "FEEDSVC_ORGANISATION": "IOM Turkey", "FEEDSVC_TAG_AUTHORITY": "press.example.org"}


def ingest(env: dict[str, str], storage: Storage):  # type: ignore[no-untyped-def]
    return make_ingester(load_settings(env), storage).scan()


@pytest.fixture
def client(env: dict[str, str], storage: Storage, make_app):  # type: ignore[no-untyped-def]
    ingest(env, storage)
    app = make_app(env)
    return app.test_client()


def feed_paths(client) -> list[str]:  # type: ignore[no-untyped-def]
    outlines = listparser.parse(client.get("/feeds.opml").data.decode())
    return [f.url.removeprefix(BASE) for f in outlines.feeds]


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
        assert e.published_parsed and e.updated_parsed and e.author and e.id.startswith("tag:")
    if parsed.entries:
        assert parsed.feed.updated_parsed == max(e.updated_parsed for e in parsed.entries)
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
        assert not feedparser.parse(rss.data).bozo
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
    entries_before = {e.id: (e.published, e.updated) for e in feedparser.parse(before["/feeds/all.atom"].data).entries}

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
    entries_after = {e.id: (e.published, e.updated) for e in feedparser.parse(after["/feeds/all.atom"].data).entries}
    assert entries_after.keys() == entries_before.keys()
    moved = [i for i in entries_after if entries_after[i] != entries_before[i]]
    assert len(moved) == 1 and entries_after[moved[0]][0] == entries_before[moved[0]][0]
    edited = storage.get_release(moved[0].rsplit("/", 1)[1])
    changed = {p for p in paths if after[p].headers["ETag"] != before[p].headers["ETag"]}
    assert changed == {"/feeds/all.atom"} | {f"/feeds/{t}.atom" for t in edited.topics}
    assert changed != set(paths)  # one topic's change does not invalidate the others


def test_archives_let_a_reader_backfill_everything(env, storage, content_dir, relaxng, make_app) -> None:  # type: ignore[no-untyped-def]
    lines = ["Press Releases", ""]
    for i in range(120):
        lines += [f"IOM Supports Border Communities, Part {i}", "",
                  f"Ankara – Border communities received support in round {i} of the programme.", ""]
    (content_dir / "many.txt").write_text("\n".join(lines), encoding="utf-8")
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
