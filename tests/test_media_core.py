"""The pure parts of media and contacts (issue 17 item 3): which references a body holds, what a
file's bytes are, which references are refused and why, how feeds and the digest show them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time

import feedparser
import pytest
from lxml import etree

from feedsvc.digest import EMAIL_IMAGE_BYTES, email_image_size
from feedsvc.feeds import FeedSpec, build_atom, build_rss
from feedsvc.jsonfeed import build_json_feed
from feedsvc.media import Refused, human_size, is_media_name, judge, locate, sniff
from feedsvc.model import Attachment, Contact, MediaRef, StoredRelease
from feedsvc.parsing import read_listing
from tests.conftest import ATOM_RNG, jsonfeed_validator
from tests.test_feeds import assert_rng_valid
from tests.tiny_files import SVG, gif, jpeg, pdf, png, webp_lossless

UTC = dt.UTC


# -- what the bytes are ------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "expected"), [
    (png(640, 480), ("image/png", 640, 480)),
    (gif(33, 7), ("image/gif", 33, 7)),
    (jpeg(1920, 1080), ("image/jpeg", 1920, 1080)),
    (webp_lossless(300, 200), ("image/webp", 300, 200)),
    (pdf(), ("application/pdf", None, None)),
    (SVG, ("image/svg+xml", 120, 60)),  # from its viewBox
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="40px" height="30"/>', ("image/svg+xml", 40, 30)),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 8 4"/>', ("image/svg+xml", 8, 4)),
    (b'<svg xmlns="http://www.w3.org/2000/svg" height="10" viewBox="0 0 8 4"/>', ("image/svg+xml", 20, 10)),
    (b'<svg xmlns="http://www.w3.org/2000/svg"/>', ("image/svg+xml", None, None)),
])
def test_the_type_and_size_come_from_the_bytes(data: bytes, expected: tuple[str, int | None, int | None]) -> None:
    assert sniff(data) == expected


@pytest.mark.parametrize("data", [
    b"", b"hello", b"<html><body><svg></svg></body></html>", png(4, 4)[:20], b"\xff\xd8\xff\xe0\x00\x10JFIF",
    b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"<svg unclosed", b"GIF8", b"\x89PNG\r\n\x1a\n" + b"\x00" * 30,
])
def test_bytes_of_no_allowed_type_are_none(data: bytes) -> None:
    assert sniff(data) is None


def test_an_entity_bomb_in_an_svg_is_refused_at_once() -> None:
    lol = b"".join(b'<!ENTITY l%d "&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;">' % (i, *[i - 1] * 10)
                   for i in range(1, 10))
    bomb = (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY l0 "lol">' + lol + b']>'
            b'<svg xmlns="http://www.w3.org/2000/svg" width="5" height="5"><text>&l9;</text></svg>')
    started = time.process_time()
    assert sniff(bomb) is None  # libxml2's amplification limit stops it: "not a readable SVG"
    assert time.process_time() - started < 1  # 10**9 "lol"s would take minutes and gigabytes
    # An editor's entity for the namespace (Illustrator writes one) is still read.
    illustrator = (b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd" '
                   b'[<!ENTITY ns_svg "http://www.w3.org/2000/svg">]><svg xmlns="&ns_svg;" width="7" height="3"/>')
    assert sniff(illustrator) == ("image/svg+xml", 7, 3)


# -- where a reference leads -------------------------------------------------------------------

def ref(target: str) -> MediaRef:
    return MediaRef(target, "", 3, "front matter")


@pytest.mark.parametrize(("md", "target", "expected"), [
    ("release.md", "photo.png", "photo.png"),
    ("2026/release.md", "photo.PNG", "2026/photo.PNG"),
    ("2026/release.md", "./img/../photo.jpeg", "2026/photo.jpeg"),
    ("2026/release.md", "../shared/logo.svg", "shared/logo.svg"),  # still inside the folder
    ("release.md", "docs/report 2026.pdf", "docs/report 2026.pdf"),
    ("release.md", "../../etc/passwd", "outside the content folder"),
    ("2026/release.md", "../../photo.png", "outside the content folder"),
    ("release.md", "..", "outside the content folder"),
    ("release.md", "/etc/passwd", "an absolute path"),
    ("release.md", "C:\\photos\\a.png", "an absolute path"),
    ("release.md", "\\\\server\\share\\a.png", "an absolute path"),
    ("release.md", "img\\a.png", "a backslash"),
    ("release.md", "notes.docx", "not a type that is attached"),
    ("release.md", "other.md", "not a type that is attached"),
    ("release.md", "photo", "not a type that is attached"),
    ("release.md", "  ", "an empty path"),
])
def test_a_reference_leads_into_the_folder_or_is_refused_before_anything_is_opened(
        md: str, target: str, expected: str) -> None:
    found = locate(md, ref(target))
    if isinstance(found, Refused):
        assert found.reason.startswith(expected), found.reason
    else:
        assert found == expected


def test_judging_the_bytes_read() -> None:
    data = png(3, 2)
    a = judge("img/photo.png", data, 1000, alt="A photo")
    assert isinstance(a, Attachment)
    assert (a.name, a.content_type, a.size, a.width, a.height, a.alt) == ("photo.png", "image/png", len(data), 3, 2,
                                                                          "A photo")
    assert judge("photo.png", data, len(data) - 1) == Refused(
        f"too large (over {len(data) - 1} bytes; see FEEDSVC_MAX_MEDIA_BYTES)")
    assert judge("photo.png", b"", 1000) == Refused("an empty file")
    assert judge("photo.jpg", data, 1000) == Refused("its bytes are a PNG, not the JPEG its name says: rename it")
    assert judge("report.pdf", b"<html>", 1000) == Refused("its bytes are not a readable PDF")
    assert is_media_name("A.JPG") and is_media_name("x/y.webp") and not is_media_name("release.md")


@pytest.mark.parametrize(("size", "text"), [(0, "0 bytes"), (1, "1 byte"), (999, "999 bytes"), (1000, "1 KB"),
                                            (46_499, "46 KB"), (999_499, "999 KB"), (999_500, "1.0 MB"),
                                            (1_234_567, "1.2 MB"), (20_000_000, "20.0 MB")])
def test_sizes_as_readers_see_them(size: int, text: str) -> None:
    assert human_size(size) == text


def test_pictures_in_the_digest_are_drawn_at_most_560_wide_and_never_huge() -> None:
    photo = Attachment("p.png", "0" * 64, "image/png", 50_000, 1200, 800)
    assert email_image_size(photo) == (560, 373)
    assert email_image_size(dataclasses.replace(photo, width=300, height=100)) == (300, 100)
    assert email_image_size(dataclasses.replace(photo, size=EMAIL_IMAGE_BYTES + 1)) is None  # linked instead
    assert email_image_size(dataclasses.replace(photo, content_type="image/webp")) is None
    assert email_image_size(dataclasses.replace(photo, content_type="image/svg+xml")) is None
    assert email_image_size(dataclasses.replace(photo, width=None)) is None


def test_a_phone_number_as_a_tel_link() -> None:
    assert Contact(phone="+41 (0)22 717-91 11").tel == "+410227179111"
    assert Contact(phone="0044.20.7946.0000").tel == "00442079460000"
    assert Contact(name="x").tel is None


# -- the parser: which references a body holds, and contacts -----------------------------------

MARKDOWN = """\
---
title: Reopening of the border crossing
attachments:
  - logo.svg
  - file: report.pdf
    caption: The report
  - {title: no file here}
contacts:
  name: Solo Contact
  phone: "12"
---
Teams reopened the crossing ![a chart](chart.png "Chart") today.

![Families at dawn](photos/dawn%201.jpg)

See [the report](report.pdf#page=2), [elsewhere](https://example.org/x.pdf),
[home](/about) and ![remote](https://example.org/r.png) and [mail](mailto:a@example.org).
"""


def test_the_body_and_front_matter_name_files_in_file_order() -> None:
    parsed = read_listing(MARKDOWN.encode(), "release.md")
    (r,) = parsed.releases
    assert [(m.target, m.text, m.line, m.origin) for m in r.media] == [
        ("logo.svg", "", 4, "front matter"),
        ("report.pdf", "The report", 5, "front matter"),
        ("chart.png", "a chart", 12, "image"),
        ("photos/dawn 1.jpg", "Families at dawn", 14, "image"),
        ("report.pdf", "the report", 16, "link"),
        ("/about", "home", 17, "link"),  # a second line of its paragraph
    ]
    # A relative picture leaves the text (it is shown beside it), with a paragraph it was alone in;
    # a link keeps its words; remote pictures stay links, as before.
    assert r.paragraphs == (
        "Teams reopened the crossing today.",
        "See the report, elsewhere <https://example.org/x.pdf>, home and remote <https://example.org/r.png> "
        "and mail <a@example.org>.")
    assert r.body_html is not None
    assert "chart" not in r.body_html and "dawn" not in r.body_html and "<img" not in r.body_html
    assert r.body_html.count("<p>") == 2
    assert '<a href="https://example.org/r.png" rel="nofollow noopener">remote</a>' in r.body_html
    assert r.attachments == ()  # read at ingest, not by the parser
    assert r.contacts == (Contact(name="Solo Contact"),)
    assert [str(w) for w in parsed.warnings] == [
        "release.md line 7: 'Reopening of the border crossing': attachments: entry 3 names no file "
        "(write a path, or file: and alt:); left out",
        "release.md line 9: 'Reopening of the border crossing': contacts: entry 1: phone '12' left out "
        "(not a phone number)"]
    assert r.to_json()["media"][0] == {"target": "logo.svg", "text": "", "line": 4, "origin": "front matter"}


def test_contacts_keep_what_is_usable_and_say_what_is_not() -> None:
    text = """\
---
title: Contacts
contacts:
  - name: Jane Doe
    Role: Spokesperson
    E-mail: Jane.Doe@Example.ORG
    tel: +1 (212) 555-0100
  - name: Bad Address
    email: jane at example
  - "Just a string"
  - fax: "123"
---
Text.
"""
    parsed = read_listing(text.encode(), "c.md")
    (r,) = parsed.releases
    assert r.contacts == (Contact("Jane Doe", "Spokesperson", "Jane.Doe@example.org", "+1 (212) 555-0100"),
                          Contact("Bad Address"))
    messages = [w.message for w in parsed.warnings]
    assert messages[0].startswith("'Contacts': contacts: entry 2: email 'jane at example' left out (")
    assert messages[1:] == [
        "'Contacts': contacts: entry 3 is not a mapping of name, role, email and phone; left out",
        "'Contacts': contacts: entry 4: unknown field 'fax' left out (a contact has name, role, email and phone)",
        "'Contacts': contacts: entry 4 has no name, email or phone left; left out"]
    assert [w.line for w in parsed.warnings] == [8, 10, 11, 11]


def test_a_release_without_media_or_contacts_keeps_its_stored_hash() -> None:
    (plain,) = read_listing(b"---\ntitle: T\n---\nText.\n", "t.md").releases
    (with_contact,) = read_listing(b"---\ntitle: T\ncontacts: [{name: A}]\n---\nText.\n", "t.md").releases
    assert plain.content_hash != with_contact.content_hash
    attached = dataclasses.replace(plain, attachments=(Attachment("a.png", "1" * 64, "image/png", 9, 1, 1),))
    assert attached.content_hash != plain.content_hash
    assert dataclasses.replace(plain, media=(ref("a.png"),)).content_hash == plain.content_hash


# -- feeds -------------------------------------------------------------------------------------

SPEC = FeedSpec(feed_id="tag:press.example.org,2026:feed/all", title="All", subtitle="All releases",
                self_url="https://press.example.org/feeds/all.atom", alternate_url="https://press.example.org/",
                base_url="https://press.example.org", author_name="Press office")
PHOTO = Attachment("dawn \"1\".png", "a" * 64, "image/png", 12345, 640, 480, 'Families <at> "dawn"\x01')
REPORT = Attachment("report.pdf", "b" * 64, "application/pdf", 2_500_000, alt="")


def stored(**kw: object) -> StoredRelease:
    base = StoredRelease(id="r1", atom_id="tag:press.example.org,2026:r1", title="Title", title_inferred=False,
                         location=None, date=None, author=None, section=None, paragraphs=(), topics=(),
                         published=None, updated=dt.datetime(2026, 11, 23, 8, tzinfo=UTC),
                         first_seen=dt.datetime(2026, 11, 23, 8, tzinfo=UTC))
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def test_feeds_carry_every_attachment_with_its_length_and_type_and_stay_valid() -> None:
    r = stored(attachments=(PHOTO, REPORT), contacts=(Contact("A <b>", None, "a@example.org", "+1 555"),))
    atom = build_atom(SPEC, [r], topic_titles={})
    assert_rng_valid(etree.RelaxNG(etree.parse(str(ATOM_RNG))), atom)
    (entry,) = feedparser.parse(atom).entries
    photo_url = f"https://press.example.org/media/{'a' * 64}/dawn%20%221%22.png"
    report_url = f"https://press.example.org/media/{'b' * 64}/report.pdf"
    assert [(e["href"], e["length"], e["type"], e.get("title")) for e in entry.enclosures] == [
        (photo_url, "12345", "image/png", 'Families <at> "dawn"'), (report_url, "2500000", "application/pdf", None)]
    content = entry.content[0].value  # a release with no body still has its place, then the extras
    assert "A &lt;b&gt;" in content and "report.pdf</a> (PDF, 2.5 MB)" in content
    rss = feedparser.parse(build_rss(dataclasses.replace(SPEC, self_url="https://press.example.org/feeds/all.rss"),
                                     [r], topic_titles={}))
    assert [(e["href"], e["length"], e["type"]) for e in rss.entries[0].enclosures] == [
        (photo_url, "12345", "image/png")]  # RSS 2.0: one enclosure an item
    feed = json.loads(build_json_feed(dataclasses.replace(SPEC, self_url="https://press.example.org/feeds/all.json"),
                                      [r], topic_titles={}))
    jsonfeed_validator().validate(feed)
    assert [a["title"] for a in feed["items"][0]["attachments"]] == ['Families <at> "dawn"', "report.pdf"]
    # Without extras an entry is as it was (no content when the summary says all).
    assert "<content" not in build_atom(SPEC, [stored()], topic_titles={}).decode()
