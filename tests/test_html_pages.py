"""Saved pages of real shape (tests/data/html) give the releases of their text forms (issue 11, item 3).

Each `tests/data/html/<case>.html` is a page a CMS would serve for the text listing
`tests/data/<case's first two name parts>_*.txt`: a WordPress archive (<article>, <time datetime>,
share buttons, a hidden "updated" date), a Drupal view (`views-row` fields) and a list of <li>
records whose fields are class-named spans, each with the site's header, menus, breadcrumb,
footer, cookie banner, scripts and styles. The text form's golden .json is what both must give.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from feedsvc.model import Release
from feedsvc.parsing import parse_file
from feedsvc.parsing.html import html_to_text

DATA = Path(__file__).resolve().parent / "data"
PAGES = sorted((DATA / "html").glob("*.html"))


def text_form(page: Path) -> Path:
    prefix = "_".join(page.stem.split("_")[:2])
    [listing] = DATA.glob(f"{prefix}_*.txt")
    return listing


def fields(release: Release) -> tuple[object, ...]:
    return release.title, release.date, release.location, release.author, release.paragraphs


def test_every_page_has_a_text_form() -> None:
    assert len(PAGES) >= 3
    for page in PAGES:
        assert text_form(page).exists()


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_gives_the_releases_of_its_text_form(page: Path) -> None:
    listing = text_form(page)
    from_html = parse_file(page)
    assert [fields(r) for r in from_html] == [fields(r) for r in parse_file(listing)]
    expected = json.loads(listing.with_suffix(".json").read_text(encoding="utf-8"))
    assert [(r.title, r.date.isoformat() if r.date else None, r.location, r.author) for r in from_html] == [
        (e["title"], e["date"], e["location"], e["author"]) for e in expected
    ]
    for release, want in zip(from_html, expected, strict=True):
        assert release.body.startswith(want["body_startswith"])


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_chrome_is_dropped(page: Path) -> None:
    text = html_to_text(page.read_bytes(), page.name).text
    for chrome in ("cookie", "Cookie", "çerez", "dataLayer", "display:", "jquery", "©", "Impressum", "Skip to",
                   "Direkt zum Inhalt", "Ana Sayfa"):
        assert chrome not in text, chrome


def test_fields_of_a_record_are_lines_but_a_phrase_stays_whole() -> None:
    record = ('<ul><li class="item"><span class="date">3 May 2021</span> <a class="title" href="/a">Clinic opens</a>'
              ' <span class="teaser">The clinic opened on Monday.</span></li></ul>')
    assert html_to_text(record, "a.html").text == "3 May 2021\nClinic opens\nThe clinic opened on Monday.\n"
    phrase = ('<div class="meta"><span class="posted-on">Posted on 3 May 2021</span>'
              '<span class="byline"> by <span class="author">Ana Lee</span></span></div>')
    assert html_to_text(phrase, "b.html").text == "Posted on 3 May 2021 by Ana Lee\n"
    loose = '<li><span class="a">One</span> and <span class="b">Two</span></li>'
    assert html_to_text(loose, "c.html").text == "One and Two\n"


def test_wordpress_hidden_modified_date_is_dropped() -> None:
    meta = ('<div class="entry-meta">Posted on: <time class="entry-date published" datetime="2020-09-23">09/23/2020'
            '</time><time class="updated" datetime="2020-09-24">09/24/2020</time></div>')
    assert html_to_text(meta, "d.html").text == "Posted on: 09/23/2020\n"
    alone = '<div class="entry-meta">Updated <time class="updated" datetime="2020-09-24">09/24/2020</time></div>'
    assert html_to_text(alone, "e.html").text == "Updated 09/24/2020\n"
