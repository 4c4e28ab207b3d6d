"""Pictures, files and contacts of a Markdown release, through real parts (issue 17 item 3).

A real content folder (a Markdown release, a PNG and a PDF made here, byte for byte valid), SQLite and
PostgreSQL, the app through Flask's test client (feeds through the feed server in front of it),
feedparser, the Atom RELAX NG schema, the JSON Feed schema, and a real SMTP server for the digest.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import feedparser
import pytest
from lxml import etree

from feedsvc.app import create_app
from feedsvc.config import load_settings
from feedsvc.media import human_size
from feedsvc.services import Services, build_services
from feedsvc.storage import Storage
from tests.conftest import ATOM_RNG, jsonfeed_validator
from tests.test_feeds import assert_rng_valid
from tests.tiny_files import SVG, pdf, png

BASE = "https://press.example.org"
TITLE = "Border crossing reopens for families"
RELEASE = f"""\
---
title: {TITLE}
date: 2026-11-23
location: Geneva
media:
  - file: report.pdf
    alt: Annual report 2026
contacts:
  - name: Jane Doe
    role: Press officer
    email: jane.doe@press.example.org
    phone: +41 22 717 91 11
  - name: Omar Haddad
    email: omar@press.example.org
---
The border crossing at Kapıköy reopened today for families.

![Families crossing at dawn](photo.png)

The full figures are in [the annual report](report.pdf).
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "releases"
    path.mkdir()
    return path


@pytest.fixture
def env(db_url: str, folder: Path, topics_file: Path, tmp_path: Path, smtp_server) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"DATABASE_URL": db_url, "SECRET_KEY": "media-test-secret-padded-to-32-characters",
            "FEEDSVC_BASE_URL": BASE, "FEEDSVC_CONTENT_DIR": str(folder), "FEEDSVC_TOPICS": str(topics_file),
            "FEEDSVC_INSTANCE_DIR": str(tmp_path / "instance"), "FEEDSVC_FEED_RECHECK": "0",
            "SMTP_URL": f"smtp://{smtp_server.host}:{smtp_server.port}", "MAIL_FROM": "Press <news@press.example.org>"}


def open_services(env: dict[str, str], storage: Storage, clock: Any, **more: str) -> Services:
    return build_services(load_settings(env | more), clock, storage=storage)


def media_url(data: bytes, name: str) -> str:
    return f"{BASE}/media/{hashlib.sha256(data).hexdigest()}/{name}"


def path_of(url: str) -> str:
    return url.removeprefix(BASE)


def test_a_picture_and_a_pdf_are_served_shown_enclosed_and_mailed(  # type: ignore[no-untyped-def]
        env: dict[str, str], storage: Storage, folder: Path, clock, smtp_server) -> None:
    photo, report = png(1200, 800), pdf()
    (folder / "photo.png").write_bytes(photo)
    (folder / "report.pdf").write_bytes(report)
    (folder / "release.md").write_text(RELEASE, encoding="utf-8")
    services = open_services(env, storage, clock)
    storage.add_confirmed("reader@example.org", (), "daily", clock())
    result = services.ingester().scan()
    assert result.errors == [] and result.warnings == [], result.lines()
    assert result.summary.files_scanned == 1  # the picture and the PDF are not listings
    client = create_app(services=services).test_client()
    (release,) = storage.list_releases()
    photo_url, report_url = media_url(photo, "photo.png"), media_url(report, "report.pdf")

    # Served at content-addressed URLs: the bytes, their type, a year's immutable cache, an ETag and 304.
    for url, data, kind in ((photo_url, photo, "image/png"), (report_url, report, "application/pdf")):
        resp = client.get(path_of(url))
        assert resp.status_code == 200
        assert resp.data == data
        assert resp.headers["Content-Type"] == kind
        assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        etag = resp.headers["ETag"]
        assert etag == f'"{hashlib.sha256(data).hexdigest()}"'
        assert resp.headers["Content-Length"] == str(len(data))
        again = client.get(path_of(url), headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.data == b""
        assert again.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "sandbox" in client.get(path_of(photo_url)).headers["Content-Security-Policy"]
    part = client.get(path_of(report_url), headers={"Range": "bytes=0-7"})  # how PDF viewers read
    assert part.status_code == 206 and part.data == report[:8]
    # Another name, or another digest, is not an address that exists.
    assert client.get(path_of(photo_url).replace("photo.png", "other.png")).status_code == 404
    assert client.get(f"/media/{'0' * 64}/photo.png").status_code == 404
    assert client.get("/media/../photo.png").status_code == 404

    # The release page: the picture inline with its size and alt text, the file listed with its
    # size and type, the contacts as mailto and tel links. The picture left the body's text.
    page = client.get(f"/releases/{release.id}").get_data(as_text=True)
    img = re.search(r"<img [^>]*>", page)
    assert img is not None
    assert (f'src="{photo_url}"' in img.group() and 'alt="Families crossing at dawn"' in img.group()
            and 'width="1200"' in img.group() and 'height="800"' in img.group())
    assert f'<a href="{report_url}" type="application/pdf" dir="auto">Annual report 2026</a>' in page
    assert f'<meta property="og:image" content="{photo_url}">' in page  # its picture in link previews
    assert f"(PDF, {len(report)} bytes)" in page
    assert '<a href="mailto:jane.doe@press.example.org">jane.doe@press.example.org</a>' in page
    assert '<a href="tel:+41227179111">+41 22 717 91 11</a>' in page
    assert "Jane Doe, Press officer" in page and "Omar Haddad" in page
    assert "the annual report" in page  # the link's words stay in the text
    ld = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.DOTALL)
    assert ld is not None and json.loads(ld.group(1))["image"] == [photo_url]  # NewsArticle's picture
    assert release.paragraphs == ("The border crossing at Kapıköy reopened today for families.",
                                  "The full figures are in the annual report.")

    # Feeds: Atom enclosures with real length and type (schema-valid), RSS's one, JSON Feed attachments.
    atom = client.get("/feeds/all.atom").data
    assert_rng_valid(etree.RelaxNG(etree.parse(str(ATOM_RNG))), atom)
    (entry,) = feedparser.parse(atom).entries
    assert [(e["href"], e["length"], e["type"]) for e in entry.enclosures] == [
        (report_url, str(len(report)), "application/pdf"), (photo_url, str(len(photo)), "image/png")]
    content = entry.content[0].value
    assert "mailto:jane.doe@press.example.org" in content and "+41 22 717 91 11" in content
    # feedparser's sanitiser drops tel: links (not among its schemes): the document has them.
    raw = etree.fromstring(atom).find("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}content")
    assert raw is not None and '<a href="tel:+41227179111">+41 22 717 91 11</a>' in (raw.text or "")
    assert f'<img src="{photo_url}" alt="Families crossing at dawn" width="1200" height="800">' in (raw.text or "")
    assert photo_url in content and report_url in content  # a reader that ignores enclosures shows both
    rss = feedparser.parse(client.get("/feeds/all.rss").data)
    assert [(e["href"], e["length"], e["type"]) for e in rss.entries[0].enclosures] == [
        (report_url, str(len(report)), "application/pdf")]
    feed = json.loads(client.get("/feeds/all.json").data)
    jsonfeed_validator().validate(feed)
    assert feed["items"][0]["attachments"] == [
        {"url": report_url, "mime_type": "application/pdf", "title": "Annual report 2026", "size_in_bytes": len(report)},
        {"url": photo_url, "mime_type": "image/png", "title": "Families crossing at dawn", "size_in_bytes": len(photo)}]

    # The digest, through the real SMTP server: the picture drawn 560px wide, the PDF linked.
    postman = services.postman()
    postman.manual_runs(("daily",))
    postman.send_pending()
    (sent,) = smtp_server.messages
    html = sent.message.get_body(("html",)).get_content()
    img = re.search(r"<img [^>]*>", html)
    assert img is not None
    assert (f'src="{photo_url}"' in img.group() and 'width="560"' in img.group()
            and 'height="373"' in img.group() and "max-width: 100%" in img.group())
    assert f'href="{report_url}"' in html
    text = sent.message.get_body(("plain",)).get_content()
    assert f"Picture: Families crossing at dawn (PNG, {human_size(len(photo))}) <{photo_url}>" in text
    assert f"File: Annual report 2026 (PDF, {len(report)} bytes) <{report_url}>" in text
    # Its "view in browser" page shows them too, the picture at its size scaled to the column.
    (archive_url,) = set(re.findall(r"https?://\S+/digests/[\w.-]+", text))
    archive = client.get(path_of(archive_url)).get_data(as_text=True)
    img = re.search(r"<img [^>]*>", archive)
    assert img is not None and f'src="{photo_url}"' in img.group() and 'width="1200"' in img.group()
    assert 'alt="Families crossing at dawn"' in img.group() and "max-width: 100%" in archive
    assert f'<a href="{report_url}" type="application/pdf" dir="auto">Annual report 2026</a>' in archive
    assert f"(PDF, {len(report)} bytes)" in archive


HOSTILE = f"""\
---
title: {TITLE}
media:
  - ../../etc/passwd
  - /etc/passwd
  - outside.png
  - missing.png
  - big.png
  - fake.png
  - notes.docx
  - good.png
---
The border crossing reopened today.
"""


def test_hostile_references_are_warnings_and_the_release_is_published_without_them(  # type: ignore[no-untyped-def]
        env: dict[str, str], storage: Storage, folder: Path, tmp_path: Path, clock) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(png(2, 2, (1, 2, 3)))
    os.symlink(secret, folder / "outside.png")
    big, good = png(800, 800), png(4, 4)
    assert len(big) > 1000 > len(good)
    (folder / "big.png").write_bytes(big)
    (folder / "fake.png").write_bytes(b"<html><script>alert(1)</script></html>")
    (folder / "good.png").write_bytes(good)
    (folder / "release.md").write_text(HOSTILE, encoding="utf-8")
    services = open_services(env, storage, clock, FEEDSVC_MAX_MEDIA_BYTES="1000")
    result = services.ingester().scan()
    assert result.errors == []
    assert result.summary.releases_new == 1
    reasons = {re.search(r"'([^']+)' is not attached: (.*); the release is published without it$", str(w)).group(1):  # type: ignore[union-attr]
               str(w) for w in result.warnings}
    assert set(reasons) == {"../../etc/passwd", "/etc/passwd", "outside.png", "missing.png", "big.png",
                            "fake.png", "notes.docx"}
    for warning in result.warnings:  # each names the file, its line, and the release
        assert str(warning).startswith("release.md line ") and repr(TITLE) in str(warning)
    assert "outside the content folder" in reasons["../../etc/passwd"]
    assert "an absolute path" in reasons["/etc/passwd"]
    assert "symlink pointing outside the content folder" in reasons["outside.png"]
    assert "not found in the content folder" in reasons["missing.png"]
    assert "too large" in reasons["big.png"] and "FEEDSVC_MAX_MEDIA_BYTES" in reasons["big.png"]
    assert "not a readable PNG" in reasons["fake.png"]
    assert "not a type that is attached" in reasons["notes.docx"]
    # The office sees them where it sees every ingest warning.
    assert {w["message"] for w in storage.file_warnings()} == {str(w).split(": ", 1)[1] for w in result.warnings}

    (release,) = storage.list_releases()
    assert [a.name for a in release.attachments] == ["good.png"]
    client = create_app(services=services).test_client()
    assert client.get(f"/releases/{release.id}").status_code == 200
    assert client.get(path_of(media_url(good, "good.png"))).data == good
    for data, name in ((big, "big.png"), (secret.read_bytes(), "outside.png")):
        assert client.get(path_of(media_url(data, name))).status_code == 404
    assert storage.media_count() == (1, len(good))

    # Nothing changed: the next scan reads nothing and reports nothing again.
    again = services.ingester().scan()
    assert again.warnings == [] and again.summary.files_changed == 0


def test_a_changed_picture_rereads_its_release_and_its_old_address_goes(  # type: ignore[no-untyped-def]
        env: dict[str, str], storage: Storage, folder: Path, clock) -> None:
    first, second = png(10, 10), png(20, 10, (0, 90, 0))
    (folder / "photo.png").write_bytes(first)
    (folder / "release.md").write_text(RELEASE.replace("  - file: report.pdf\n    alt: Annual report 2026\n", ""),
                                       encoding="utf-8")
    services = open_services(env, storage, clock)
    ingester = services.ingester()
    result = ingester.scan()
    assert [str(w) for w in result.warnings] == [
        f"release.md line 18: {TITLE!r}: 'report.pdf' is not attached: not found in the content folder; "
        "the release is published without it"]
    client = create_app(services=services).test_client()
    assert client.get(path_of(media_url(first, "photo.png"))).status_code == 200

    # The PDF arrives and the photo is replaced; the Markdown file is untouched. A scan of just
    # those files (as the watcher makes) reads the release again.
    clock.advance(minutes=5)
    (folder / "report.pdf").write_bytes(pdf())
    (folder / "photo.png").write_bytes(second)
    result = ingester.scan([str(folder / "photo.png"), str(folder / "report.pdf")])
    assert result.warnings == [] and result.summary.releases_updated == 1
    (release,) = storage.list_releases()
    assert [(a.name, a.width) for a in release.attachments] == [("photo.png", 20), ("report.pdf", None)]
    assert release.revised_at == clock()  # a new picture is a correction readers see
    assert client.get(path_of(media_url(second, "photo.png"))).data == second
    assert client.get(path_of(media_url(first, "photo.png"))).status_code == 404  # replaced: gone
    assert storage.media_count() == (2, len(second) + len(pdf()))
    assert ingester.scan().summary.files_changed == 0

    # The picture removed from the folder: the release loses it, with a warning.
    (folder / "photo.png").unlink()
    result = ingester.scan()
    assert "'photo.png' is not attached: not found in the content folder;" in str(result.warnings[0])
    (release,) = storage.list_releases()
    assert [a.name for a in release.attachments] == ["report.pdf"]
    assert storage.media_count() == (1, len(pdf()))


def test_a_file_only_an_embargoed_release_carries_is_served_when_it_lifts(  # type: ignore[no-untyped-def]
        env: dict[str, str], storage: Storage, folder: Path, clock) -> None:
    name = "logo Çeşme\n.svg"  # a folder may hold any name: the header still carries it safely
    (folder / name).write_bytes(SVG)
    (folder / "release.md").write_text(
        f"---\ntitle: {TITLE}\nembargo: 2026-11-23T09:00:00Z\nmedia: [\"logo Çeşme\\n.svg\"]\n---\nText.\n",
        encoding="utf-8")
    services = open_services(env, storage, clock)
    assert services.ingester().scan().warnings == []
    client = create_app(services=services).test_client()
    url = path_of(media_url(SVG, quote(name, safe="")))
    assert client.get(url).status_code == 404
    clock.advance(hours=2)
    services.publisher.lift_embargoes()
    resp = client.get(url)
    assert resp.status_code == 200 and resp.data == SVG and resp.headers["Content-Type"] == "image/svg+xml"
    # An SVG may carry script: opened by itself it runs in a sandbox, with nothing to load.
    assert resp.headers["Content-Security-Policy"].endswith("sandbox")
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Content-Disposition"] == (
        "inline; filename=\"logo Cesme_.svg\"; filename*=UTF-8''logo%20%C3%87e%C5%9Fme%0A.svg")
    (release,) = storage.list_releases()
    assert [(a.width, a.height) for a in release.attachments] == [(120, 60)]
