"""The public face (issue 17 item 6) through the real app: the office's name, logo and accent,
the favicon, what each page tells link previews, paged lists, and a release's neighbours."""

from __future__ import annotations

from pathlib import Path

import lxml.html
import pytest

from feedsvc.brand import dark_twin
from feedsvc.cli import make_ingester
from feedsvc.config import load_settings
from feedsvc.model import ConfigError
from feedsvc.storage import Storage
from feedsvc.web.pages import LIST_SIZE
from tests.test_brand import png_pixels
from tests.test_web_feeds import WEB, write_many

LOGO = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>'
FACE = {"FEEDSVC_SITE_NAME": "IOM Türkiye Newsroom", "FEEDSVC_ACCENT": "#8a1c2b", "FEEDSVC_LOGO": "brand/logo.svg"}


@pytest.fixture
def env(env: dict[str, str], content_dir: Path) -> dict[str, str]:
    (content_dir / "brand").mkdir()
    (content_dir / "brand" / "logo.svg").write_bytes(LOGO)
    write_many(content_dir, 70)
    return env | WEB | FACE | {"FEEDSVC_ADMIN_TOKEN": "face-admin-token"}


@pytest.fixture
def client(env: dict[str, str], storage: Storage, make_app):  # type: ignore[no-untyped-def]
    make_ingester(load_settings(env), storage).scan()
    return make_app(env).test_client()


def page(client, path: str, status: int = 200) -> lxml.html.HtmlElement:  # type: ignore[no-untyped-def]
    resp = client.get(path)
    assert resp.status_code == status, (path, resp.status_code)
    return lxml.html.fromstring(resp.get_data(as_text=True))


def meta(doc: lxml.html.HtmlElement, key: str) -> str | None:
    found = doc.xpath(f"//meta[@property='{key}' or @name='{key}']/@content")
    assert len(found) <= 1, key
    return found[0] if found else None


def test_every_page_says_what_it_is_to_link_previews(client, storage) -> None:  # type: ignore[no-untyped-def]
    r = storage.list_releases(limit=1)[0]
    for path, og_url in (("/", "http://localhost/"), ("/topics/health", "http://localhost/topics/health"),
                         (f"/releases/{r.id}", f"http://localhost/releases/{r.id}"),
                         (f"/releases/{r.id}/history", f"http://localhost/releases/{r.id}/history"),
                         ("/search?q=border", "http://localhost/search"), ("/subscribe", "http://localhost/subscribe"),
                         ("/admin/login", "http://localhost/admin/login")):
        doc = page(client, path)
        assert meta(doc, "og:site_name") == "IOM Türkiye Newsroom", path
        assert meta(doc, "og:url") == og_url, path
        assert meta(doc, "og:title") and meta(doc, "og:description") and meta(doc, "description"), path
        assert meta(doc, "og:image") == "http://localhost/logo.svg", path
        assert doc.xpath("//link[@rel='icon']/@href") == ["/favicon.ico", "/favicon.svg"], path
        assert doc.xpath("//header//a[@class='home']//img/@src") == ["/logo.svg"], path
    doc = page(client, "/missing", 404)
    assert meta(doc, "og:url") == "http://localhost/" and meta(doc, "description")  # an error is no page of its own


def test_a_release_page_uses_its_teaser_its_topics_neighbours_and_a_subscribe_box(client, storage) -> None:  # type: ignore[no-untyped-def]
    newest, middle, oldest = storage.list_releases(limit=3)
    doc = page(client, f"/releases/{middle.id}")
    assert meta(doc, "og:type") == "article" and meta(doc, "og:title") == middle.title
    assert meta(doc, "description") == meta(doc, "og:description")
    assert meta(doc, "description", ).startswith(middle.paragraphs[0][:40])
    assert doc.xpath("//nav[@class='around prose']//a[@rel='prev']/@href") == [f"/releases/{oldest.id}"]
    assert doc.xpath("//nav[@class='around prose']//a[@rel='next']/@href") == [f"/releases/{newest.id}"]
    assert doc.xpath("//aside//a[@class='tag']/@href") == [f"/topics/{t}" for t in middle.topics]
    (form,) = doc.xpath("//aside//form[@action='/subscribe']")
    assert form.xpath(".//input[@name='topics']/@value") == list(middle.topics)
    # No one's token in a kept page (web/pagecache.py): /subscribe-form.js fetches the visitor's.
    assert form.xpath(".//input[@name='csrf_token']/@value") == [""]
    assert doc.xpath("//script[@src='/subscribe-form.js']")
    # The newest has no next; the oldest no previous.
    assert page(client, f"/releases/{newest.id}").xpath("//a[@rel='next' and starts-with(@href, '/releases/')]") == []
    last = storage.list_releases(limit=1, offset=storage.count_releases() - 1)[0]
    assert page(client, f"/releases/{last.id}").xpath("//a[@rel='prev' and starts-with(@href, '/releases/')]") == []


def test_the_home_page_is_paged_with_rel_links(client, storage) -> None:  # type: ignore[no-untyped-def]
    total = storage.count_releases()
    pages = -(-total // LIST_SIZE)
    assert pages >= 3
    first = page(client, "/")
    assert first.xpath("//link[@rel='prev']") == [] and first.xpath("//link[@rel='next']/@href") == ["?page=2"]
    assert len(first.xpath("//ul[contains(@class, 'releases')]/li")) == LIST_SIZE
    second = page(client, "/?page=2")
    assert second.xpath("//link[@rel='prev']/@href") == ["/"] and second.xpath("//link[@rel='next']/@href") == ["?page=3"]
    assert meta(second, "og:url") == "http://localhost/?page=2"
    titles = second.xpath("//ul[contains(@class, 'releases')]/li/a[@class='title']/text()")
    assert titles == [r.title for r in storage.list_releases(limit=LIST_SIZE, offset=LIST_SIZE)]
    last = page(client, f"/?page={pages}")
    assert last.xpath("//link[@rel='next']") == []
    assert len(last.xpath("//ul[contains(@class, 'releases')]/li")) == total - (pages - 1) * LIST_SIZE
    for bad in (pages + 1, 0, "x"):
        assert client.get(f"/?page={bad}").status_code == 404
    topic = page(client, "/topics/borders-and-emergencies?page=2")
    assert topic.xpath("//link[@rel='prev']/@href") == ["/topics/borders-and-emergencies"]
    assert meta(topic, "og:url") == "http://localhost/topics/borders-and-emergencies?page=2"


def test_favicon_logo_and_accent_are_served(client) -> None:  # type: ignore[no-untyped-def]
    ico = client.get("/favicon.ico")
    assert ico.status_code == 200 and ico.mimetype == "image/x-icon" and ico.headers["ETag"]
    _, _, rows = png_pixels(ico.data[22:])
    assert rows[16][2 * 4:3 * 4] == bytes((0x8a, 0x1c, 0x2b, 255))  # drawn in FEEDSVC_ACCENT
    assert client.get("/favicon.ico", headers={"If-None-Match": ico.headers["ETag"]}).status_code == 304
    assert client.get("/favicon.svg").mimetype == "image/svg+xml"
    logo = client.get("/logo.svg")
    assert (logo.status_code, logo.mimetype, logo.data) == (200, "image/svg+xml", LOGO)
    assert "sandbox" in logo.headers["Content-Security-Policy"]
    assert client.get("/logo.png").status_code == 404
    html = client.get("/").get_data(as_text=True)
    twin = dark_twin("#8a1c2b")  # dark mode's lightened accent
    assert twin != "#8a1c2b" and "--accent: #8a1c2b;" in html and f"--accent: {twin};" in html


@pytest.mark.parametrize(("value", "message"), [
    ("https://cdn.example.org/logo.png", "is a URL"),
    ("missing.svg", "cannot read"),
    ("brand/logo.gif", "must be a"),
    ("brand/fake.png", "is not a PNG file"),
])
def test_a_bad_logo_stops_start_up_saying_why(env: dict[str, str], content_dir: Path, value: str, message: str) -> None:
    (content_dir / "brand" / "fake.png").write_bytes(LOGO)
    (content_dir / "brand" / "logo.gif").write_bytes(b"GIF89a")
    with pytest.raises(ConfigError, match=f"FEEDSVC_LOGO=.*{message}"):
        load_settings(env | {"FEEDSVC_LOGO": value})


def test_an_unreadable_accent_stops_start_up_saying_why(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=r"FEEDSVC_ACCENT: '#ffd700' has a contrast of 1\.\d\d:1"):
        load_settings(env | {"FEEDSVC_ACCENT": "#ffd700"})
    with pytest.raises(ConfigError, match="FEEDSVC_ACCENT: 'teal' is not a CSS hex colour"):
        load_settings(env | {"FEEDSVC_ACCENT": "teal"})
    settings = load_settings({k: v for k, v in env.items() if k not in FACE})
    assert (settings.site_name, settings.logo, settings.accent) == ("IOM Turkey", None, "#0b57d0")
