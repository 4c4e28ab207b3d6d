"""Markdown releases through markdown-it and nh3: sanitised HTML, plain text, and both end to end.

Issue 11, item 5. The HTML is checked both exactly (what a normal body becomes) and as properties
(what hostile input can never produce); the plain text is what summaries, search and the digest's text
part read. End to end: a .md file ingested into a real database shows its link on the release page,
in the Atom feed (feedparser) and in the digest's HTML part.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from html.parser import HTMLParser
from pathlib import Path

import feedparser
import pytest

from feedsvc.cli import make_ingester
from feedsvc.config import load_settings
from feedsvc.digest import DigestLinks, MailSettings, plan_digest, render_digest
from feedsvc.model import Release
from feedsvc.parsing import parse_text
from feedsvc.parsing.markdown_body import ALLOWED_TAGS, BRACKET_BUDGET
from feedsvc.storage import Storage
from feedsvc.subscribers import Subscriber
from tests.test_web_feeds import WEB


def release_of(body: str, front: str = "title: Test Release\nlocation: Geneva") -> Release:
    (release,) = parse_text(f"---\n{front}\n---\n{body}", "release.md")
    return release


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


# ---------------------------------------------------------------- HTML and plain text

NORMAL = """Visit [IOM](https://www.iom.int "IOM's site") *today*, or write to [the press office](mailto:press@iom.int).

# Facts

- one
- two **bold**

3. first
4. second

> “Quoted,” she said.
"""


def test_links_emphasis_lists_and_headings_become_sanitised_html() -> None:
    release = release_of(NORMAL)
    assert release.body_html == (
        '<p>Visit <a href="https://www.iom.int" title="IOM\'s site" rel="nofollow noopener">IOM</a>'
        ' <em>today</em>, or write to <a href="mailto:press@iom.int" rel="nofollow noopener">the press office'
        '</a>.</p>\n'
        "<h2>Facts</h2>\n"  # h1 is the page's title: the body's are demoted
        "<ul>\n<li>one</li>\n<li>two <strong>bold</strong></li>\n</ul>\n"
        '<ol start="3">\n<li>first</li>\n<li>second</li>\n</ol>\n'
        "<blockquote>\n<p>“Quoted,” she said.</p>\n</blockquote>\n"
    )


def test_plain_text_comes_from_the_same_tokens() -> None:
    release = release_of(NORMAL)
    assert release.paragraphs == (
        "Visit IOM <https://www.iom.int> today, or write to the press office <press@iom.int>.",
        "Facts",
        "- one",
        "- two bold",
        "3. first",
        "4. second",
        "“Quoted,” she said.",
    )


def test_an_autolink_is_not_written_twice_in_plain_text() -> None:
    release = release_of("See <https://www.iom.int/news> or <press@iom.int>.")
    assert release.paragraphs == ("See https://www.iom.int/news or press@iom.int.",)
    assert '<a href="https://www.iom.int/news" rel="nofollow noopener">https://www.iom.int/news</a>' in (
        release.body_html or "")


HOSTILE = """[click](javascript:alert(1)) [local](/etc/passwd) [data](data:text/html;base64,PHNjcmlwdD4=)
<a href="javascript:alert(2)">raw</a> <a href="/relative">relative</a> <a href="https://ok.example/" onclick="x()">ok</a>
<span style="color:red" onmouseover="alert(6)">span</span> <script>alert(3)</script>

<script>
alert(4)
</script>

<img src=x onerror="alert(5)">

<iframe src="https://evil.example/"></iframe>

![chart](https://example.org/chart.png) ![pixel](javascript:alert(7)) ![](https://tracker.example/p.gif)

<h1 id="x" class="y">Raw heading</h1>

<!-- a comment -->
"""


def test_hostile_markup_is_removed_and_every_link_is_safe() -> None:
    release = release_of(HOSTILE)
    html = release.body_html or ""
    lowered = html.lower()
    for bad in ("<script", "alert(", "javascript:", "data:", "onerror", "onclick", "onmouseover", "<img",
                "<iframe", "style=", "<!--", "/etc/passwd", "/relative", "tracker", "id=", "class="):
        assert bad not in lowered, bad
    tags = tags_of(html)
    assert {tag for tag, _ in tags} <= ALLOWED_TAGS
    links = [attrs for tag, attrs in tags if tag == "a"]
    assert links, html
    for attrs in links:
        assert attrs["rel"] == "nofollow noopener"
        assert set(attrs) <= {"href", "title", "rel"}
        assert attrs.get("href") is None or str(attrs["href"]).startswith(("https://", "http://", "mailto:"))
    # Text survives where the markup does not: a refused link keeps its words, an image its description
    # (linked, never loaded).
    assert "click" in html and "local" in html and "raw" in html and "span" in html
    assert '<a href="https://example.org/chart.png" rel="nofollow noopener">chart</a>' in html
    assert '<a href="https://ok.example/" rel="nofollow noopener">ok</a>' in html
    plain = " ".join(release.paragraphs)
    assert "alert" not in plain and "javascript" not in plain
    assert "click local data raw relative ok span" in plain
    assert "chart <https://example.org/chart.png> pixel" in plain
    assert "Raw heading" in plain


def test_a_heading_opening_the_body_is_the_title_and_not_repeated() -> None:
    (release,) = parse_text("# IOM Opens Office\n\nThe office opened on *Monday*.\n", "r.md")
    assert release.title == "IOM Opens Office" and not release.title_inferred
    assert release.body_html == "<p>The office opened on <em>Monday</em>.</p>\n"
    (release,) = parse_text("---\ntitle: IOM Opens Office\n---\n# IOM opens office\n\nText.\n", "r.md")
    assert release.paragraphs == ("Text.",) and "<h2>" not in (release.body_html or "")


@pytest.mark.parametrize(("body", "html"), [
    ("Valletta – IOM welcomed the *funding*.", "<p>IOM welcomed the <em>funding</em>.</p>\n"),
    ("**VALLETTA** – IOM welcomed the funding.", "<p>IOM welcomed the funding.</p>\n"),
    ("Valletta –\n\nIOM welcomed the funding.", "<p>IOM welcomed the funding.</p>\n"),
    # A dateline that cannot be cut cleanly stays in the HTML as written (the fields have it too).
    ("[Valletta](https://valletta.example) – IOM welcomed it.",
     '<p><a href="https://valletta.example" rel="nofollow noopener">Valletta</a> – IOM welcomed it.</p>\n'),
])
def test_a_dateline_taken_into_the_fields_leaves_the_html(body: str, html: str) -> None:
    release = release_of(body, front="title: New Funding")
    assert release.body_html == html
    if "valletta.example" not in body:
        assert release.location == "Valletta"
        assert release.paragraphs[0].startswith("IOM welcomed")


def test_text_listings_keep_no_html_and_their_content_hash() -> None:
    (release,) = parse_text("IOM Opens Office\n\nAnkara – The office opened on Monday.\n", "listing.txt")
    assert release.body_html is None and "body_html" not in release.to_json()
    # The hash as it was computed before body_html existed: stored releases do not look changed.
    before = json.dumps([release.title, release.location, None, release.author, release.section,
                         list(release.paragraphs), sorted(release.topics)], ensure_ascii=False)
    assert release.content_hash == hashlib.sha256(before.encode("utf-8")).hexdigest()


def test_markdown_html_is_part_of_the_content_hash() -> None:
    a = release_of("Read [the report](https://example.org/a).")
    b = release_of("Read [the report](https://example.org/b).")
    c = release_of("Read the report \\<https://example.org/a\\>.")  # `a`'s plain text, other HTML
    assert a.paragraphs != b.paragraphs and a.paragraphs == c.paragraphs
    assert len({a.content_hash, b.content_hash, c.content_hash}) == 3
    assert a.to_json()["body_html"] == a.body_html


# ---------------------------------------------------------------- hostile input stays linear


def _seconds(text: str) -> float:
    """The fastest of three parses: the least noisy measure on a shared machine."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        parse_text(text, "hostile.md")
        best = min(best, time.perf_counter() - start)
    return best


SIZE = 100_000
FRONT = "---\ntitle: Hostile Input\n---\n"
_BENIGN_UNIT = ("Geneva – IOM [welcomed](https://www.iom.int/news) the *new* funding for **search and rescue** "
                "coordination.\n\n- first point\n- second point\n\n## A heading\n\n> A quote.\n\n")
BENIGN = FRONT + _BENIGN_UNIT * (SIZE // len(_BENIGN_UNIT))
HOSTILE_BODIES = {
    "brackets": "[" * SIZE,
    "image brackets": "![" * (SIZE // 2),
    "unclosed links": "[a](" * (SIZE // 4),
    "brackets in many paragraphs": ("[" * 999 + "\n\n") * (SIZE // 1001),
    "nested quotes": ">" * SIZE + " deep",
    "quote lines": "> " * 40 + "x\n" + ">\n" * (SIZE // 2),
    "nested lists on one line": "- " * (SIZE // 2) + "x",
    "indented nested lists": "".join("  " * i + "- x\n" for i in range(300)),
    "emphasis": "*a" * (SIZE // 2),
    "many images": "![a](https://x.example/i.png) " * (SIZE // 30),
    "many links": "[a](https://x.example/)\n\n" * (SIZE // 24),
}


def test_hostile_input_parses_in_linear_time() -> None:
    benign = _seconds(BENIGN)
    for name, body in HOSTILE_BODIES.items():
        text = FRONT + body
        assert len(text) >= 0.9 * len(BENIGN) or name == "indented nested lists", name
        hostile = _seconds(text)  # finishing at all is half the test
        assert hostile < 20 * benign, f"{name}: {hostile:.3f} s against {benign:.3f} s for a normal file"


def test_links_still_work_before_the_bracket_budget_is_spent() -> None:
    body = "[" * (BRACKET_BUDGET + 1) + "\n\nSee [the report](https://example.org/r)."
    release = release_of(body)
    assert '<a href="https://example.org/r" rel="nofollow noopener">the report</a>' in (release.body_html or "")


# ---------------------------------------------------------------- end to end

MARKDOWN_RELEASE = """---
title: IOM Publishes Migration Health Report
date: 2026-11-20
location: Gaziantep
topics: [health]
---
# IOM Publishes Migration Health Report

The [full report](https://www.iom.int/reports/health-2026) covers **twelve** provinces.

## Findings

- clinics reached 40,000 people
- *mobile* teams visited 120 villages

<script>alert("x")</script>
"""
REPORT = "https://www.iom.int/reports/health-2026"
@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return env | WEB


def test_a_markdown_release_keeps_its_link_in_page_feed_and_digest(  # type: ignore[no-untyped-def]
        env: dict[str, str], storage: Storage, content_dir: Path, make_app) -> None:
    (content_dir / "health-report.md").write_text(MARKDOWN_RELEASE, encoding="utf-8")
    make_ingester(load_settings(env), storage).scan()
    (stored,) = [r for r in storage.list_releases(limit=500) if r.title == "IOM Publishes Migration Health Report"]
    (parsed,) = parse_text(MARKDOWN_RELEASE, "health-report.md")
    assert stored.body_html == parsed.body_html and stored.paragraphs == parsed.paragraphs
    assert stored.body_html is not None and "<script" not in stored.body_html
    link = f'<a href="{REPORT}" rel="nofollow noopener">full report</a>'

    # The release page: the sanitised HTML, unescaped once.
    client = make_app(env).test_client()
    page = client.get(f"/releases/{stored.id}").get_data(as_text=True)
    assert link in page and "<h2>Findings</h2>" in page and "<em>mobile</em>" in page
    assert "<script>alert" not in page and "&lt;a href" not in page
    # A text listing's page is unchanged: escaped paragraphs.
    text_release = next(r for r in storage.list_releases(limit=500) if r.body_html is None)
    assert '<p dir="auto">' in client.get(f"/releases/{text_release.id}").get_data(as_text=True)

    # The Atom feed: content type="html" carrying the same HTML.
    feed = feedparser.parse(client.get("/feeds/all.atom").data)
    assert not feed.bozo, feed.get("bozo_exception")
    (entry,) = [e for e in feed.entries if e.title == stored.title]
    (content,) = entry.content
    assert content.type == "text/html"
    assert REPORT in [attrs.get("href") for tag, attrs in tags_of(content.value) if tag == "a"]
    assert "<li>clinics reached 40,000 people</li>" in content.value
    assert entry.summary.startswith("The full report <https://www.iom.int/reports/health-2026> covers twelve")

    # The digest: the HTML part carries the body (styles inlined), the text part its plain rendering.
    settings = MailSettings(mail_from="IOM Turkey <news@example.org>", list_id="Press releases <releases.example.org>",
                            organisation="IOM Turkey")
    links = DigestLinks(unsubscribe_url="https://news.example.org/unsubscribe/t",
                        preferences_url="https://news.example.org/preferences/t",
                        archive_url="https://news.example.org/digests/1",
                        release_url="https://news.example.org/releases/{id}", base_url="https://news.example.org/")
    now = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
    subscriber = Subscriber(id=1, email="ayse@example.com", topics=("health",), frequency="weekly",
                            state="confirmed", created_at=now)
    msg = render_digest(subscriber, plan_digest(subscriber, [stored], {"health": "Health"}),
                        period_label="week of 16 November 2026", links=links, settings=settings, now=now, run_id=1)
    html_part, text_part = msg.get_body(("html",)), msg.get_body(("plain",))
    assert html_part is not None and text_part is not None
    html, text = html_part.get_content(), text_part.get_content().replace("\r\n", "\n")
    anchors = [attrs for tag, attrs in tags_of(html) if tag == "a" and attrs.get("href") == REPORT]
    assert anchors and anchors[0]["rel"] == "nofollow noopener" and "color" in str(anchors[0].get("style"))
    wrapper = next(attrs for _, attrs in tags_of(html) if attrs.get("class") == "release-body")
    assert "font-size: 15px" in str(wrapper.get("style"))
    assert "<script" not in html and "<style" not in html
    assert f"  The full report <{REPORT}> covers twelve provinces.\n  Findings\n" in text
    assert "\n  - clinics reached 40,000 people\n  - mobile teams visited 120 villages\n" in text
