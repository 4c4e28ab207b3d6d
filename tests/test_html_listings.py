"""Listing pages saved from a browser (issue 11, item 3): HTML to listing lines, then the text parser.

The pages here are written for these tests (made-up organisations, real places). Their expected
releases are read off the pages, not off the parser's output.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path
from typing import Any

import feedparser
import pytest

from feedsvc.cli import make_ingester
from feedsvc.config import load_settings
from feedsvc.ingest import Ingester
from feedsvc.model import ParseError, Release
from feedsvc.parsing import decode, parse_bytes, parse_file, parse_text
from feedsvc.parsing.html import html_to_text, is_html_name
from feedsvc.storage import Storage

LISTINGS = Path(__file__).resolve().parents[2] / "shared" / "listings"


def lines_of(markup: str) -> list[str]:
    return html_to_text(markup, "page.html").text.split("\n")[:-1]


def summary(release: Release) -> tuple[str, dt.date | None, str | None]:
    return release.title, release.date, release.location


# -- whole pages --------------------------------------------------------------------------

CMS_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>News releases | Riverbend Water Trust</title>
<style>.card { margin: 1em 0 }</style>
<script>window.dataLayer = window.dataLayer || []; dataLayer.push({page: "news"});</script>
</head>
<body>
<a class="visually-hidden focusable" href="#main">Skip to main content</a>
<header class="site-header">
  <a href="/"><img src="/logo.svg" alt="Riverbend Water Trust"></a>
  <nav><ul><li><a href="/about">About us</a></li><li><a href="/news">News</a></li></ul></nav>
</header>
<main id="main">
  <h1>News releases</h1>
  <article class="card">
    <time datetime="2024-03-18">18 March 2024</time>
    <h3><a href="/news/2024/herons-return">Herons return to nest on restored Millbrook marshes</a></h3>
    <p>NAIROBI &ndash; Grey herons have nested on the restored marshes for the first time in twenty
       years, the Trust&rsquo;s spring survey found. The <a href="https://example.org/reports/spring-survey-2024.pdf">full
       survey report</a> lists fourteen occupied nests.</p>
    <a class="more" href="/news/2024/herons-return">Read more<span class="visually-hidden"> about the herons</span></a>
  </article>
  <article class="card">
    <time datetime="2024-03-02">2 March 2024</time>
    <h3><a href="/news/2024/river-levels">River levels fall after a dry winter across the upper valley</a></h3>
    <p>Gauges on the upper river read forty centimetres below the ten-year average, and the Trust asks
       farmers to plan irrigation with care. Questions go to <a href="mailto:press@example.org">our press desk</a>.</p>
    <a class="more" href="/news/2024/river-levels">Read more</a>
  </article>
</main>
<footer><p>&copy; 2024 Riverbend Water Trust. All rights reserved.</p></footer>
<div class="cookie-banner">We use cookies to understand how visitors use this site.
  <button>Accept</button> <a href="/privacy">Privacy policy</a></div>
<noscript><img src="/pixel.gif" alt="">Please enable JavaScript</noscript>
</body>
</html>
"""


def test_cms_listing_gives_its_articles_and_body_links() -> None:
    releases = parse_bytes(CMS_PAGE.encode("utf-8"), "news.html")
    assert [summary(r) for r in releases] == [
        ("Herons return to nest on restored Millbrook marshes", dt.date(2024, 3, 18), "Nairobi"),
        ("River levels fall after a dry winter across the upper valley", dt.date(2024, 3, 2), None),
    ]
    first, second = releases
    assert first.paragraphs == (
        ("Grey herons have nested on the restored marshes for the first time in twenty years, the "
         "Trust’s spring survey found. The full survey report lists fourteen occupied nests."),
    )
    assert first.links == (("full survey report", "https://example.org/reports/spring-survey-2024.pdf"),)
    assert second.body.startswith("Gauges on the upper river read forty centimetres")
    assert second.links == (("our press desk", "mailto:press@example.org"),)


def test_cms_listing_page_furniture_is_dropped() -> None:
    text = html_to_text(CMS_PAGE.encode("utf-8"), "news.html").text
    for furniture in ("dataLayer", "margin", "Skip to main content", "About us", "cookies", "Accept",
                      "All rights reserved", "JavaScript", "about the herons"):
        assert furniture not in text
    # The page's title is a line like any page header; the text parser decides what it is.
    assert text.startswith("News releases | Riverbend Water Trust\n\nNews releases\n\n18 March 2024\n"
                           "Herons return to nest on restored Millbrook marshes\n\nNAIROBI – Grey herons")


LIST_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Media centre – Northern Health Alliance</title></head>
<body>
<div id="top-bar" role="banner"><a href="/">Northern Health Alliance</a> <a href="/donate">Donate</a></div>
<div class="content">
<h2>Media centre</h2>
<ul class="news-list">
  <li class="news-item">
    <a class="news-title" href="/media/2023/mobile-clinic">Mobile clinic starts weekly visits to twelve villages</a><br>
    <span class="news-date">14 September 2023</span>
    <p>KAMPALA – A mobile clinic staffed by two nurses and a midwife began weekly visits to twelve
    villages in the northern districts on Monday. The <a href="/media/2023/clinic-route">route and
    timetable</a> are posted in each village.</p>
  </li>
  <li class="news-item">
    <a class="news-title" href="/media/2023/midwives">Forty midwives complete refresher training</a><br>
    <span class="news-date">29 August 2023</span>
    <p>Forty midwives from district hospitals finished a two-week course on emergency obstetric care this month.</p>
    <p>The course was run with the regional nursing school and will be repeated in March.</p>
  </li>
  <li class="news-item">
    <a class="news-title" href="/media/2023/water-points">New water points for three health centres</a><br>
    <span class="news-date">3 August 2023</span>
    <p>GULU – Three health centres now have running water all year after the Alliance drilled boreholes beside them.</p>
  </li>
</ul>
<nav class="pager" aria-label="Pages"><a href="?page=2">2</a> <a href="?page=3">3</a> <a href="?page=2">Next</a></nav>
</div>
</body></html>
"""


def test_list_items_are_releases() -> None:
    releases = parse_bytes(LIST_PAGE.encode("utf-8"), "media.htm")
    assert [summary(r) for r in releases] == [
        ("Mobile clinic starts weekly visits to twelve villages", dt.date(2023, 9, 14), "Kampala"),
        ("Forty midwives complete refresher training", dt.date(2023, 8, 29), None),
        ("New water points for three health centres", dt.date(2023, 8, 3), "Gulu"),
    ]
    clinic, midwives, water = releases
    assert clinic.body.startswith("A mobile clinic staffed by two nurses and a midwife began weekly visits")
    assert clinic.links == (("route and timetable", "/media/2023/clinic-route"),)
    assert midwives.paragraphs == (
        "Forty midwives from district hospitals finished a two-week course on emergency obstetric care this month.",
        "The course was run with the regional nursing school and will be repeated in March.",
    )
    assert water.body == ("Three health centres now have running water all year after the Alliance "
                          "drilled boreholes beside them.")
    assert midwives.links == water.links == ()


CP1252_PAGE = """<html><head>
<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">
<title>Communiqués de presse</title>
</head><body>
<table width="100%"><tr><td class="menu"><a href="index.htm">Accueil</a> | <a href="presse.htm">Presse</a></td></tr></table>
<h2>Press releases</h2>
<div class="release">
<h3>Farmers’ co-operative wins €2 million for cold storage</h3>
<p class="date"><span>12 June 2023</span></p>
<p>LYON – The Rhône valley co-operative “Vergers Unis” has won a €2 million regional grant to build
cold storage for its members’ fruit.</p>
</div>
<div class="release">
<h3>Café owners join the town’s plastic-free pledge</h3>
<p class="date"><span>30 May 2023</span></p>
<p>Twenty-two cafés and bakeries have signed the pledge to stop using single-use plastic cups by September.</p>
</div>
</body></html>
"""


def test_windows_1252_page_is_read_by_its_meta_charset() -> None:
    data = CP1252_PAGE.encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    releases = parse_bytes(data, "communiques.html")
    assert [summary(r) for r in releases] == [
        ("Farmers’ co-operative wins €2 million for cold storage", dt.date(2023, 6, 12), "Lyon"),
        ("Café owners join the town’s plastic-free pledge", dt.date(2023, 5, 30), None),
    ]
    assert releases[0].body.startswith("The Rhône valley co-operative “Vergers Unis” has won a €2 million")
    assert releases[1].body.startswith("Twenty-two cafés and bakeries")


BASE_PAGE = """<html><head><meta charset="utf-8">
<base href="https://www.coastwatch.example/news/">
<title>News – Coastwatch</title></head>
<body>
<div id="page"><div id="content">
<div class="post">
  <h2 class="entry-title"><a href="2022/05/beach-count.html">Volunteers count 9,000 pieces of litter on one beach</a></h2>
  <div class="entry-meta"><time datetime="2022-05-05">5 May 2022</time></div>
  <div class="entry-content">
  <p>BRIGHTON – Volunteers collected and counted 9,000 pieces of litter on a single beach in one
  morning. The <a href="../data/beach-count-2022.csv">full count</a> is open data;
  <a href="javascript:void(0)" onclick="share()">share it</a> or write to
  <a href="mailto:data@coastwatch.example">our data team</a>.</p>
  </div>
</div>
<div class="post">
  <h2 class="entry-title"><a href="2022/04/bottle-deposit.html">Coastwatch backs a deposit on drinks bottles</a></h2>
  <div class="entry-meta"><time datetime="2022-04-21">21 April 2022</time></div>
  <div class="entry-content">
  <p>A deposit of 20 pence on each bottle would halve the plastic found on beaches, says a
  <a href="/reports/deposit-return.pdf">report</a> Coastwatch published today. <a href="#comments">Comments</a></p>
  </div>
</div>
</div>
<div id="sidebar" role="complementary"><h3>Archives</h3><ul><li><a href="2022/03/">March 2022</a></li></ul></div>
</div>
</body></html>
"""


def test_base_href_resolves_body_links_and_scripts_links_are_refused() -> None:
    releases = parse_bytes(BASE_PAGE.encode("utf-8"), "coastwatch.html")
    assert [summary(r) for r in releases] == [
        ("Volunteers count 9,000 pieces of litter on one beach", dt.date(2022, 5, 5), "Brighton"),
        ("Coastwatch backs a deposit on drinks bottles", dt.date(2022, 4, 21), None),
    ]
    beach, deposit = releases
    assert beach.body.startswith("Volunteers collected and counted 9,000 pieces of litter")
    assert beach.links == (
        ("full count", "https://www.coastwatch.example/data/beach-count-2022.csv"),
        ("our data team", "mailto:data@coastwatch.example"),
    )
    assert deposit.links == (("report", "https://www.coastwatch.example/reports/deposit-return.pdf"),)
    assert "March 2022" not in " ".join(r.body for r in releases)


XHTML_PAGE = """<?xml version="1.0" encoding="iso-8859-1"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Zoo news</title></head>
<body>
<h3>Zoo welcomes two snow leopards from Zürich</h3>
<p>7 February 2024</p>
<p>BERN &#8211; Two young snow leopards arrived at the city zoo from Zürich on Tuesday.<br/>
They will be shown to visitors from March.</p>
</body></html>
"""


def test_xhtml_file_is_read_by_its_xml_declaration(tmp_path: Path) -> None:
    path = tmp_path / "zoo.xhtml"
    path.write_bytes(XHTML_PAGE.encode("latin-1"))
    [release] = parse_file(path)
    assert summary(release) == ("Zoo welcomes two snow leopards from Zürich", dt.date(2024, 2, 7), "Bern")
    assert release.paragraphs == ("Two young snow leopards arrived at the city zoo from Zürich on Tuesday.",
                                  "They will be shown to visitors from March.")
    assert release.line == 5  # the title's line in the .xhtml file, not in the text made from it


def test_parse_text_reads_markup_when_the_name_says_html() -> None:
    markup = ("<html><body><h3>Library opens on Sundays from May</h3><p>3 April 2024</p>"
              "<p>The central library will open from noon to five on Sundays, the council said.</p>"
              "</body></html>")
    [release] = parse_text(markup, "library.HTM")
    assert summary(release) == ("Library opens on Sundays from May", dt.date(2024, 4, 3), None)
    assert release.body == "The central library will open from noon to five on Sundays, the council said."


def test_html_names() -> None:
    assert all(is_html_name(n) for n in ("a.html", "B.HTM", "c.xhtml"))
    assert not any(is_html_name(n) for n in ("a.txt", "html", "a.html.txt", "notes.md"))


def test_page_without_text_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="no text in the HTML page"):
        parse_bytes(b"<html><head><script>x()</script></head><body><nav>Home</nav></body></html>",
                    "empty.html")


def test_ingest_picks_up_html_pages(storage: Storage, topics_file: Path, tmp_path: Path, clock: Any) -> None:
    folder = tmp_path / "content"
    folder.mkdir()
    (folder / "riverbend-news.html").write_text(CMS_PAGE, encoding="utf-8")
    # "Save page, complete" writes the page's scripts and styles beside it: not listings.
    assets = folder / "riverbend-news_files"
    assets.mkdir()
    (assets / "site.js").write_text("window.dataLayer = window.dataLayer || [];\n", encoding="utf-8")
    (assets / "theme.css").write_text("body { margin: 0 }\n", encoding="utf-8")
    result = Ingester(storage, folder, topics_file, tag_authority="press.example.org", clock=clock).scan()
    assert (result.summary.files_scanned, result.summary.files_failed) == (1, 0)
    titles = {r.title for r in storage.list_releases(limit=100)}
    assert {"Herons return to nest on restored Millbrook marshes",
            "River levels fall after a dry winter across the upper valley"} <= titles


def test_body_links_reach_the_release_page_and_the_feed(  # type: ignore[no-untyped-def]
        env: dict[str, str], storage: Storage, content_dir: Path, make_app) -> None:
    env |= {"FEEDSVC_BASE_URL": "https://news.example.org", "FEEDSVC_FEED_RECHECK": "0"}
    (content_dir / "riverbend-news.html").write_text(CMS_PAGE, encoding="utf-8")
    make_ingester(load_settings(env), storage).scan()
    stored = next(r for r in storage.list_releases(limit=500) if r.title.startswith("Herons return"))
    link = '<a href="https://example.org/reports/spring-survey-2024.pdf" rel="nofollow noopener">full survey report</a>'
    assert stored.body_html is not None and link in stored.body_html

    client = make_app(env).test_client()
    page = client.get(f"/releases/{stored.id}").get_data(as_text=True)
    assert link in page
    feed = feedparser.parse(client.get("/feeds/all.atom").data)
    (entry,) = [e for e in feed.entries if e.title == stored.title]
    assert "https://example.org/reports/spring-survey-2024.pdf" in entry.content[0].value
    # The other article's mail link too; its text stays escaped text around it.
    other = next(r for r in storage.list_releases(limit=500) if r.title.startswith("River levels"))
    assert '<a href="mailto:press@example.org" rel="nofollow noopener">our press desk</a>' in (other.body_html or "")


# -- the rules, one by one ----------------------------------------------------------------

def test_blocks_become_lines_and_margins_blank_lines() -> None:
    assert lines_of(
        "<body><h1>Press</h1><div>Tag line</div><h2>Title here</h2>"
        "<p>One <em>two</em>\n  three &amp; four&nbsp;five&hellip;</p>"
        "<p>Second<br>line<br><br>after an empty line</p>"
        "<ul><li>first item</li><li>second item</li></ul>"
        "<div>run one<div>inner</div>run two</div>"
        "<blockquote>quoted</blockquote><dl><dt>term</dt><dd>meaning</dd></dl></body>"
    ) == [
        "Press", "Tag line", "Title here", "",
        "One two three & four five…", "",
        "Second", "line", "", "after an empty line", "",
        "first item", "", "second item", "",
        "run one", "inner", "run two", "",
        "quoted", "", "term", "meaning",
    ]


def test_time_is_its_own_line_between_blocks_and_part_of_a_sentence() -> None:
    assert lines_of(
        "<article><time datetime='2024-05-01'>1 May 2024</time><h3>A title</h3>"
        "<p>Signed on <time>2 May</time>, in force<time>3 May</time>now.</p>"
        "<div class='meta'>Statement<time>4 May 2024</time></div></article>"
    ) == ["1 May 2024", "A title", "", "Signed on 2 May, in force 3 May now.", "", "Statement 4 May 2024"]


def test_hidden_elements_are_dropped() -> None:
    assert lines_of(
        "<body><p hidden>attribute</p><p aria-hidden='true'>aria</p>"
        "<p style='color: red; display : none !important'>display</p><p style='visibility:hidden'>visibility</p>"
        "<p class='note sr-only'>screen readers only</p><p aria-hidden='false' class='hidden-xs'>kept</p>"
        "<template><p>template</p></template><svg><text>svg</text></svg><iframe src='x'>frame</iframe>"
        "</body>"
    ) == ["kept"]


def test_site_landmarks_go_and_article_headers_stay() -> None:
    assert lines_of(
        "<body><div role='navigation'>Menu</div><header>Site name</header><div role='banner'>Banner</div>"
        "<article><header><h2>Kept title</h2><time>5 May 2024</time></header><p>Body.</p>"
        "<footer>Tags: water</footer><aside>Related stories</aside></article>"
        "<aside>Sidebar</aside><div role='contentinfo'>Contact</div><footer>Site footer</footer>"
        "<div id='gdpr-notice'>We use cookies</div><dialog open>Subscribe?</dialog></body>"
    ) == ["Kept title", "5 May 2024", "", "Body.", "", "Tags: water"]


def test_a_search_form_goes_but_a_page_wide_form_stays() -> None:
    assert lines_of(
        "<body><form action='/search'><label>Find</label><input name='q'><button>Search</button></form>"
        "<form id='aspnetForm'><div><h1>Newsroom</h1><p>Body text.</p>"
        "<select><option>2024</option></select></div></form></body>"
    ) == ["Newsroom", "", "Body text."]


def test_table_rows_cells_and_pre() -> None:
    assert lines_of(
        "<table><tr><th>Date</th><th>Title</th></tr>"
        "<tr><td>12.05.2023</td><td><a href='a.html'>First title</a></td></tr>"
        "<tr><td>13.05.2023</td><td>Second title</td></tr></table>"
        "<pre>line one\n   line two\n\nline four</pre>"
    ) == ["Date", "Title", "", "12.05.2023", "First title", "", "13.05.2023", "Second title", "",
          "line one", "line two", "line four"]


def test_only_web_and_mail_links_are_kept() -> None:
    page = html_to_text(
        "<p><a href='https://a.example/x'>web</a> <a href=' java&#10;script:alert(1)'>split</a>"
        " <a href='JavaScript:alert(1)'>js</a> <a href='data:text/html,hi'>data</a>"
        " <a href='tel:+4412345'>phone</a> <a href='#top'>top</a> <a href='/relative/page'>relative</a>"
        " <a href='mailto:press@a.example'>mail</a> <a href='HTTP://B.example/'>upper</a>"
        " <a>no href</a> <a href='http://[::1'>broken</a> <a href='https://a.example/img'><img alt=''></a></p>",
        "links.html",
    )
    assert [(link.text, link.href) for link in page.links] == [
        ("web", "https://a.example/x"),
        ("relative", "/relative/page"),
        ("mail", "mailto:press@a.example"),
        ("upper", "HTTP://B.example/"),
    ]
    assert {link.line for link in page.links} == {1}


def test_a_mislabelled_page_is_read_as_detected_and_says_so() -> None:
    page = ("<html><head><meta charset='windows-1252'></head><body>"
            "<p>Zürich – «Grüezi» – 東京</p></body></html>").encode()
    [result] = [html_to_text(page, "mislabelled.html")]
    assert result.text == "Zürich – «Grüezi» – 東京\n"
    assert [w.message for w in result.warnings][:1] == [
        "the page declares charset cp1252 but is not in it; its encoding was detected instead"
    ]


def test_a_byte_order_mark_outranks_the_meta_charset() -> None:
    page = "\ufeff<meta charset='iso-8859-1'><p>Café – déjà</p>".encode()
    assert html_to_text(page, "bom.html").text == "Café – déjà\n"


def test_latin1_label_is_read_as_windows_1252_like_browsers_do() -> None:
    page = "<meta charset='ISO-8859-1'><p>“Quoted” – 5 €</p>".encode("cp1252")
    assert html_to_text(page, "latin1.html").text == "“Quoted” – 5 €\n"


# -- the development listings as HTML pages -----------------------------------------------

_BULLET = re.compile(r"(?:[•·▪●◦‣∙*–—-]|\d{1,3}[.)])\s+")
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")


def _is_date_line(line: str) -> bool:
    # Only picks the element a line is wrapped in (<time> rather than <div>): a wrong guess
    # changes no text, so this needs no date parser.
    return len(line) <= 40 and len(line.split()) <= 6 and _YEAR.search(line) is not None


def _as_page(text: str, titles: set[str], encoding: str, meta: str) -> bytes:
    """A listing typed into a simple CMS page: one <article> or <p> per blank-line block."""
    groups: list[list[str]] = [[]]
    indent = 0
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = " ".join(raw.split())
        if not line:
            if groups[-1]:
                groups.append([])
            continue
        # A bullet indented less than the line above starts a new item even without a blank
        # line: the line above sat inside the previous item (`  • Title` / blank / `    date`),
        # which a page shows by nesting and a text listing can only show by indentation.
        if groups[-1] and _BULLET.match(line) and len(raw) - len(raw.lstrip()) < indent:
            groups.append([])
        groups[-1].append(line)
        indent = len(raw) - len(raw.lstrip())
    body: list[str] = []
    for n, group in enumerate(g for g in groups if g):
        if any(_BULLET.sub("", line, count=1) in titles or line in titles for line in group):
            items = []
            for line in group:
                escaped = html.escape(line, quote=False)
                if line in titles or _BULLET.sub("", line, count=1) in titles:
                    items.append(f"<h3><a href='/news/{n}'>{escaped}</a></h3>")
                elif _is_date_line(line):
                    items.append(f"<time>{escaped}</time>" if n % 2 else
                                 f"<div class='date'><span>{escaped}</span></div>")
                else:
                    items.append(f"<div class='text'>{escaped}</div>")
            body.append("<article class='teaser'>\n  " + "\n  ".join(items) + "\n</article>")
        elif len(group) == 1 and _is_date_line(group[0]):
            body.append(f"<p class='date'><time>{html.escape(group[0], quote=False)}</time></p>")
        else:
            body.append("<p>" + "<br>\n".join(html.escape(line, quote=False) for line in group) + "</p>")
    page = (
        f"<!DOCTYPE html>\n<html><head>{meta}\n<style>article {{ margin: 1em }}</style>"
        "<script>var tracking = 'Breaking News Today';</script></head>\n<body>\n"
        "<header><a href='/'>Example Press Office</a><nav><a href='/news'>News</a> "
        "<a href='/contact'>Contact us</a></nav></header>\n<main>\n" + "\n".join(body) +
        "\n</main>\n<footer><p>Example Press Office, 1 Main Street.</p></footer>\n"
        "<div class='cookie-consent'>This site uses cookies.</div>\n</body></html>\n"
    )
    return page.encode(encoding)


def _listing_names() -> list[str]:
    expected = LISTINGS / "expected.json"
    if not expected.is_file():
        return []
    return sorted(json.loads(expected.read_text(encoding="utf-8")))


def _fields(releases: list[Release]) -> list[dict[str, Any]]:
    return [
        {"title": r.title, "inferred": r.title_inferred, "location": r.location, "date": r.date,
         "author": r.author, "section": r.section, "paragraphs": r.paragraphs}
        for r in releases
    ]


@pytest.mark.parametrize("name", _listing_names() or ["<shared listings absent>"])
def test_development_listing_saved_as_html_gives_the_same_releases(name: str) -> None:
    if not _listing_names():
        pytest.skip(f"development listings not found at {LISTINGS} (shared/ must sit beside the clone)")
    path = LISTINGS / "files" / name
    data = path.read_bytes()
    titles = {e["title"] for e in json.loads((LISTINGS / "expected.json").read_text(encoding="utf-8"))[name]
              if e["title"]}
    text = decode(data, name)
    # Three ways a page declares its charset: http-equiv in a single-byte code page, meta
    # charset, and none at all (UTF-8 then).
    if "cp1252" in name:
        encoding, meta = "cp1252", '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
    elif name < "f":
        encoding, meta = "utf-8", '<meta charset="utf-8">'
    else:
        encoding, meta = "utf-8", ""
    page = _as_page(text, titles, encoding, meta)
    page_name = path.stem + ".html"
    try:
        want = _fields(parse_file(path))
    except ParseError as exc:
        with pytest.raises(ParseError) as got:
            parse_bytes(page, page_name)
        assert got.value.reason == exc.reason
        return
    assert _fields(parse_bytes(page, page_name)) == want
