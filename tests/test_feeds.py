"""feedsvc.feeds: Atom, RSS and OPML bytes, checked with feedparser, listparser and the Atom RELAX NG schema."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Sequence

import feedparser
import listparser
import lxml.html
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from feedsvc.feeds import EPOCH, FH_NS, FeedSpec, build_atom, build_opml, build_rss, clean_text, summarize
from feedsvc.model import StoredRelease
from tests.conftest import ATOM_RNG

A = "{http://www.w3.org/2005/Atom}"
UTC = dt.UTC
T0 = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)

SPEC = FeedSpec(
    feed_id="tag:example.org,2026:feed/all", title="IOM Türkiye — all releases", subtitle="Every press release",
    self_url="https://example.org/feeds/all.atom", alternate_url="https://example.org/",
    base_url="https://example.org", author_name="IOM Türkiye", hub_url="https://hub.example.org/",
    generator_version="0.1.0",
)
TITLES = {"health": "Health and COVID-19", "borders": "Borders & emergencies"}

SCRIPT = "<script>alert(1)</script>"
NASTY = [
    f"Control \x00\x01\x08\x0b\x0c\x0e\x1f\ufffe\uffff\ud800 characters and {SCRIPT}",
    "CDATA end ]]> and an ampersand & and <b>bold</b>",
    "Arabic right-to-left: \u200fمرحبا بالعالم، الهجرة\u200f",
    "Turkish İstanbul, Çeşme, Sığınmacı; curly “quotes” and ‘apostrophes’",
    "Emoji 🎉🇹🇷 and a zero-width joiner 👩‍👩‍👧",
]


def stored(i: int, *, title: str | None = None, paragraphs: Sequence[str] | None = None,
           author: str | None = None, topics: tuple[str, ...] = ("borders", "health"),
           updated: dt.datetime | None = None, published: dt.datetime | None = None,
           withdrawn: bool = False) -> StoredRelease:
    """Release i: newer for smaller i, each with its own `updated` instant."""
    upd = updated if updated is not None else T0 - dt.timedelta(hours=i)
    return StoredRelease(
        id=f"r{i:04d}", atom_id=f"tag:example.org,2026:release/r{i:04d}",
        title=title if title is not None else f"Release {i}: {NASTY[i % len(NASTY)]}",
        title_inferred=False, location="İstanbul", date=None, author=author, section=None,
        paragraphs=tuple(paragraphs) if paragraphs is not None else tuple(NASTY),
        topics=topics, published=published if published is not None else upd - dt.timedelta(days=1),
        updated=upd, first_seen=upd, withdrawn=withdrawn)


RELEASES = [stored(0, author="António Vitorino"), *(stored(i) for i in range(1, 6))]


@pytest.fixture(scope="module")
def rng() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(ATOM_RNG)))


def assert_rng_valid(rng: etree.RelaxNG, data: bytes) -> None:
    doc = etree.fromstring(data)
    assert rng.validate(doc), rng.error_log
    # lxml ignores the schema's embedded Schematron rules: check them here.
    entries = doc.findall(f"{A}entry")
    assert doc.find(f"{A}author") is not None or all(e.find(f"{A}author") is not None for e in entries)
    for e in entries:
        assert e.find(f"{A}link[@rel='alternate']") is not None or e.find(f"{A}content") is not None


def parsed_ok(data: bytes) -> feedparser.FeedParserDict:
    d = feedparser.parse(data)
    assert not d.bozo, d.get("bozo_exception")
    return d


# --- Atom -----------------------------------------------------------------------------------------

def test_atom_parses_and_every_entry_has_dates_and_an_author() -> None:
    d = parsed_ok(build_atom(SPEC, RELEASES, topic_titles=TITLES))
    assert d.version == "atom10"
    assert len(d.entries) == len(RELEASES)
    for e in d.entries:
        assert e.published_parsed and e.updated_parsed
        assert e.author
    assert d.entries[0].author == "António Vitorino"
    assert {e.author for e in d.entries[1:]} == {"IOM Türkiye"}


def test_atom_is_rng_valid(rng: etree.RelaxNG) -> None:
    assert_rng_valid(rng, build_atom(SPEC, RELEASES, topic_titles=TITLES))


def test_atom_ids_unique_uris_and_order_kept() -> None:
    doc = etree.fromstring(build_atom(SPEC, RELEASES, topic_titles=TITLES))
    ids = [e.findtext(f"{A}id") for e in doc.iter(f"{A}entry")]
    assert ids == [r.atom_id for r in RELEASES]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[a-z][a-z0-9+.-]*:\S+", i or "") for i in [*ids, doc.findtext(f"{A}id")])


def test_order_is_the_callers_even_if_not_sorted() -> None:
    shuffled = [RELEASES[3], RELEASES[0], RELEASES[5]]
    doc = etree.fromstring(build_atom(SPEC, shuffled, topic_titles=TITLES))
    assert [e.findtext(f"{A}id") for e in doc.iter(f"{A}entry")] == [r.atom_id for r in shuffled]


def test_feed_updated_is_the_newest_entry() -> None:
    shuffled = [RELEASES[3], RELEASES[0], RELEASES[5]]
    data = build_atom(SPEC, shuffled, topic_titles=TITLES)
    assert etree.fromstring(data).findtext(f"{A}updated") == RELEASES[0].updated.isoformat()
    assert tuple(parsed_ok(data).feed.updated_parsed)[:6] == RELEASES[0].updated.timetuple()[:6]


def test_bytes_are_deterministic() -> None:
    prev = "https://example.org/feeds/all/2.atom"
    first = build_atom(SPEC, RELEASES, topic_titles=TITLES, prev_archive=prev)
    assert first == build_atom(SPEC, list(RELEASES), topic_titles=dict(TITLES), prev_archive=prev)
    assert first.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert build_rss(SPEC, RELEASES, topic_titles=TITLES) == build_rss(SPEC, RELEASES, topic_titles=TITLES)


def test_feed_metadata() -> None:
    doc = etree.fromstring(build_atom(SPEC, RELEASES, topic_titles=TITLES))
    links = {link.get("rel"): link.get("href") for link in doc.findall(f"{A}link")}
    assert links == {"self": SPEC.self_url, "alternate": SPEC.alternate_url, "hub": SPEC.hub_url}
    assert doc.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    assert doc.findtext(f"{A}generator") == "feedsvc"
    assert doc.xpath("string(a:generator/@version)", namespaces={"a": A[1:-1]}) == "0.1.0"
    assert doc.findtext(f"{A}subtitle") == SPEC.subtitle
    assert FH_NS not in etree.tostring(doc).decode()  # not an archive: no history namespace at all


def test_entry_links_categories_summary_content() -> None:
    doc = etree.fromstring(build_atom(SPEC, RELEASES, topic_titles=TITLES))
    entry = doc.find(f"{A}entry")
    assert entry is not None
    link = entry.find(f"{A}link")
    assert link is not None and link.attrib == {
        "href": "https://example.org/releases/r0000", "rel": "alternate", "type": "text/html"}
    cats = [(c.get("term"), c.get("label")) for c in entry.findall(f"{A}category")]
    assert cats == [("borders", "Borders & emergencies"), ("health", "Health and COVID-19")]
    types = {child.tag: child.get("type") for child in entry}
    assert types[f"{A}summary"] == "text"
    assert types[f"{A}content"] == "html"  # never feedgen's invalid "CDATA"


def test_script_stays_text_through_the_reader() -> None:
    data = build_atom(SPEC, RELEASES, topic_titles=TITLES)
    assert b"<script" not in data  # no markup anywhere in the document
    doc = etree.fromstring(data)
    assert not list(doc.iter("{*}script"))
    d = parsed_ok(data)
    e = d.entries[0]
    # Title and summary are text: the reader shows the characters; content is HTML whose text they are.
    assert SCRIPT in e.title and SCRIPT in e.summary
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in e.content[0].value
    assert "<script" not in e.content[0].value
    assert "]]&gt;" in e.content[0].value and "&amp; and &lt;b&gt;bold&lt;/b&gt;" in e.content[0].value


def test_unicode_round_trips_and_control_characters_are_gone() -> None:
    e = parsed_ok(build_atom(SPEC, RELEASES, topic_titles=TITLES)).entries
    content = "".join(x.content[0].value for x in e)
    for text in ("مرحبا بالعالم، الهجرة", "İstanbul, Çeşme, Sığınmacı", "“quotes”", "🎉🇹🇷", "👩‍👩‍👧"):
        assert text in content
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", content)
    assert e[0].title == "Release 0: " + clean_text(NASTY[0])


def test_archive_document_has_rfc5005_elements(rng: etree.RelaxNG) -> None:
    data = build_atom(SPEC, RELEASES, topic_titles=TITLES, is_archive=True,
                      prev_archive="https://example.org/feeds/all/1.atom",
                      next_archive="https://example.org/feeds/all/3.atom",
                      current="https://example.org/feeds/all.atom")
    assert_rng_valid(rng, data)
    doc = etree.fromstring(data)
    links = {link.get("rel"): link.get("href") for link in doc.findall(f"{A}link")}
    assert links["prev-archive"] == "https://example.org/feeds/all/1.atom"
    assert links["next-archive"] == "https://example.org/feeds/all/3.atom"
    assert links["current"] == "https://example.org/feeds/all.atom"
    children = [child.tag for child in doc]
    # The schema only allows extension elements before the first entry.
    assert children.index(f"{{{FH_NS}}}archive") < children.index(f"{A}entry")
    assert doc.nsmap["fh"] == FH_NS
    d = parsed_ok(data)
    assert {x.rel for x in d.feed.links} >= {"prev-archive", "next-archive", "current"}


def test_subscription_document_with_prev_archive_only() -> None:
    doc = etree.fromstring(build_atom(SPEC, RELEASES[:2], topic_titles=TITLES,
                                      prev_archive="https://example.org/feeds/all/9.atom"))
    assert doc.find(f"{{{FH_NS}}}archive") is None
    assert [link.get("rel") for link in doc.findall(f"{A}link")].count("prev-archive") == 1


def test_empty_feed_uses_the_given_instant(rng: etree.RelaxNG) -> None:
    when = dt.datetime(2026, 2, 1, tzinfo=dt.timezone(dt.timedelta(hours=3)))
    data = build_atom(SPEC, [], topic_titles=TITLES, empty_updated=when)
    assert_rng_valid(rng, data)
    assert etree.fromstring(data).findtext(f"{A}updated") == "2026-01-31T21:00:00+00:00"
    assert parsed_ok(data).entries == []
    assert etree.fromstring(build_atom(SPEC, [], topic_titles=TITLES)).findtext(f"{A}updated") \
        == EPOCH.isoformat()


def test_no_paragraphs_gives_an_entry_with_its_place_and_date(rng: etree.RelaxNG) -> None:
    bare = [stored(1, paragraphs=()), dataclasses.replace(stored(2, paragraphs=(" ", "")), location=None,
                                                          date=dt.date(2025, 12, 9))]
    data = build_atom(SPEC, bare, topic_titles=TITLES)
    assert_rng_valid(rng, data)
    entries = etree.fromstring(data).findall(f"{A}entry")
    assert [e.find(f"{A}content") for e in entries] == [None, None]
    assert [(e.find(f"{A}summary").get("type"), e.findtext(f"{A}summary")) for e in entries] == [
        ("text", "İstanbul, added on 1 March 2026"), ("text", "9 December 2025")]  # undated: the day first seen, as such
    rss = parsed_ok(build_rss(SPEC, bare, topic_titles=TITLES))
    assert [e.summary for e in rss.entries] == ["İstanbul, added on 1 March 2026", "9 December 2025"]


def test_withdrawn_releases_are_left_out() -> None:
    d = parsed_ok(build_atom(SPEC, [stored(1), stored(2, withdrawn=True)], topic_titles=TITLES))
    assert [e.id for e in d.entries] == [stored(1).atom_id]


def test_published_never_after_updated() -> None:
    late = stored(1, published=T0 + dt.timedelta(days=30), updated=T0)
    entry = etree.fromstring(build_atom(SPEC, [late], topic_titles=TITLES)).find(f"{A}entry")
    assert entry is not None and entry.findtext(f"{A}published") == entry.findtext(f"{A}updated")


def test_other_time_zones_are_written_as_utc() -> None:
    plus3 = dt.timezone(dt.timedelta(hours=3))
    r = stored(1, updated=dt.datetime(2026, 3, 1, 15, 0, tzinfo=plus3))
    entry = etree.fromstring(build_atom(SPEC, [r], topic_titles=TITLES)).find(f"{A}entry")
    assert entry is not None and entry.findtext(f"{A}updated") == "2026-03-01T12:00:00+00:00"


@pytest.mark.parametrize("bad", [
    [stored(1, updated=dt.datetime(2026, 1, 1))],  # naive
    [stored(1, published=dt.datetime(2026, 1, 1))],  # naive
    [stored(1), dataclasses.replace(stored(2), atom_id=stored(1).atom_id)],  # duplicate id
    [stored(1, updated=T0), stored(2, updated=T0)],  # same updated instant
    [dataclasses.replace(stored(1), atom_id="not a uri")],
])
def test_what_readers_punish_is_refused(bad: list[StoredRelease]) -> None:
    with pytest.raises(ValueError):
        build_atom(SPEC, bad, topic_titles=TITLES)


def test_feed_spec_is_checked() -> None:
    with pytest.raises(ValueError, match="feed_id"):
        dataclasses.replace(SPEC, feed_id="all")
    with pytest.raises(ValueError, match="language"):
        dataclasses.replace(SPEC, language="en_GB")


def test_summary_is_cut_at_a_word_boundary() -> None:
    text = "word " * 100
    cut = summarize(text)
    assert len(cut) <= 301 and cut.endswith("word…")
    assert summarize("short  text\n") == "short text"
    assert summarize("x" * 400).endswith("…")


# --- RSS and OPML ---------------------------------------------------------------------------------

def test_rss_parses_with_guids_dates_and_links() -> None:
    rss_spec = dataclasses.replace(SPEC, self_url="https://example.org/feeds/all.rss")
    data = build_rss(rss_spec, RELEASES, topic_titles=TITLES)
    d = parsed_ok(data)
    assert d.version == "rss20"
    assert [e.id for e in d.entries] == [r.atom_id for r in RELEASES]
    assert all(e.guidislink is False and e.published_parsed for e in d.entries)
    assert d.entries[0].author == "António Vitorino"
    doc = etree.fromstring(data)
    assert doc.findtext("channel/lastBuildDate") == "Sun, 01 Mar 2026 12:00:00 +0000"
    assert doc.findtext("channel/link") == SPEC.alternate_url
    assert [g.get("isPermaLink") for g in doc.iter("guid")] == ["false"] * len(RELEASES)
    links = {link.get("rel"): link.get("href") for link in doc.iter(f"{A}link")}
    assert links == {"self": "https://example.org/feeds/all.rss", "hub": SPEC.hub_url}
    assert b"<script" not in data


def html_text(fragment: str) -> str:
    """What a reader rendering `fragment` as HTML shows."""
    return lxml.html.fragment_fromstring(fragment, create_parent="div").text_content()


def test_rss_title_and_description_show_the_release_text_in_an_html_reader() -> None:
    # RSS has no type attribute: readers render title and description as HTML.
    rss_spec = dataclasses.replace(SPEC, self_url="https://example.org/feeds/all.rss")
    data = build_rss(rss_spec, RELEASES, topic_titles=TITLES)
    assert b"<script" not in data
    d = parsed_ok(data)
    for r, e in zip(RELEASES, d.entries, strict=False):
        assert html_text(e.title) == clean_text(r.title).strip()
        assert html_text(e.summary) == summarize(r.paragraphs[0])
        assert "<script" not in e.title and "<script" not in e.summary
    assert SCRIPT in html_text(d.entries[0].title) and SCRIPT in html_text(d.entries[0].summary)


def test_opml_lists_every_feed_deterministically() -> None:
    feeds = [("All & everything", "https://example.org/feeds/all.atom", "https://example.org/"),
             ("Sağlık — İstanbul", "https://example.org/feeds/health.atom", "https://example.org/topics/health")]
    data = build_opml("feedsvc \x01feeds", feeds)
    assert data == build_opml("feedsvc \x01feeds", feeds)
    d = listparser.parse(data)
    assert not d.bozo, d.get("bozo_exception")
    assert [(f.title, f.url) for f in d.feeds] == [(t, x) for t, x, _ in feeds]
    assert d.meta.title == "feedsvc feeds"
    assert [o.get("htmlUrl") for o in etree.fromstring(data).iter("outline")] == [h for _, _, h in feeds]


# --- any text at all ------------------------------------------------------------------------------

# Any code point, surrogates included, with the troublemakers drawn far more often than chance would.
_TEXT = st.text(st.one_of(st.characters(codec=None, exclude_categories=()),
                          st.sampled_from("\x00\x0b\x1f\ufffe\uffff\ud800\udfff<>&]\u200f\u2028 \n")),
                max_size=80)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(titles=st.lists(_TEXT, min_size=0, max_size=4),
       paragraphs=st.lists(_TEXT, max_size=3), author=st.one_of(st.none(), _TEXT))
def test_any_text_gives_a_valid_feed(rng: etree.RelaxNG, titles: list[str], paragraphs: list[str],
                                     author: str | None) -> None:
    releases = [stored(i, title=t, paragraphs=paragraphs, author=author) for i, t in enumerate(titles)]
    data = build_atom(SPEC, releases, topic_titles={"borders": author or "B"})
    assert_rng_valid(rng, data)  # etree.fromstring raises if it is not well-formed
    parsed_ok(data)
    parsed_ok(build_rss(SPEC, releases, topic_titles=TITLES))


# --- the browser's stylesheet ---------------------------------------------------------------------

XSL = "https://example.org/feeds/feed.xsl"


def test_stylesheet_instruction_follows_the_declaration_and_keeps_feeds_valid(rng: etree.RelaxNG) -> None:
    spec = dataclasses.replace(SPEC, stylesheet_url=XSL)
    pi = f'<?xml-stylesheet type="text/xsl" href="{XSL}"?>'.encode()
    for data in (build_atom(spec, RELEASES, topic_titles=TITLES),
                 build_atom(spec, RELEASES, topic_titles=TITLES, is_archive=True,
                            current="https://example.org/feeds/all.atom"),
                 build_rss(spec, RELEASES, topic_titles=TITLES)):
        assert data.split(b"\n")[:2] == [b"<?xml version='1.0' encoding='UTF-8'?>", pi]
        doc = etree.fromstring(data)
        instruction = doc.getprevious()
        assert isinstance(instruction, etree._XSLTProcessingInstruction) and instruction.get("href") == XSL
        parsed_ok(data)
    assert_rng_valid(rng, build_atom(spec, RELEASES, topic_titles=TITLES))
    # The entries are untouched: only the instruction differs from a feed without it.
    without = build_atom(SPEC, RELEASES, topic_titles=TITLES)
    assert build_atom(spec, RELEASES, topic_titles=TITLES).replace(pi + b"\n", b"") == without


@pytest.mark.parametrize("bad", ['https://example.org/x".xsl', "https://example.org/?>x.xsl",
                                 "/feeds/feed.xsl", "https://example.org/a b.xsl"])
def test_a_stylesheet_url_that_cannot_go_into_the_instruction_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="stylesheet_url"):
        dataclasses.replace(SPEC, stylesheet_url=bad)
