"""feedsvc.jsonfeed: JSON Feed 1.1 bytes, validated against tests/jsonfeed-1.1.schema.json and compared with Atom."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import feedparser
import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedsvc.feeds import build_atom
from feedsvc.jsonfeed import VERSION, build_json_feed
from tests.conftest import jsonfeed_validator
from tests.test_feeds import _TEXT, RELEASES, SPEC, T0, TITLES, stored

JSON_SPEC = dataclasses.replace(SPEC, self_url="https://example.org/feeds/all.json")
VALIDATOR = jsonfeed_validator()


def valid(data: bytes) -> dict[str, Any]:
    feed = json.loads(data.decode("utf-8"))  # strict UTF-8: a lone surrogate would raise here
    errors = sorted(VALIDATOR.iter_errors(feed), key=str)
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)
    return feed  # type: ignore[no-any-return]


def undated(i: int, **kw: Any) -> Any:
    return dataclasses.replace(stored(i, **kw), published=None)


MIXED = [*RELEASES, undated(7), stored(8, paragraphs=()), undated(9, paragraphs=()),
         dataclasses.replace(stored(10), body_html="<p>Markdown <a href=\"https://example.org/x\">body</a></p>",
                             revised_at=T0), stored(11, withdrawn=True)]


def test_every_kind_of_release_gives_a_valid_feed_with_the_atom_entries() -> None:
    data = build_json_feed(JSON_SPEC, MIXED, topic_titles=TITLES)
    feed = valid(data)
    assert feed["version"] == VERSION
    assert (feed["title"], feed["feed_url"], feed["home_page_url"]) == (
        SPEC.title, "https://example.org/feeds/all.json", SPEC.alternate_url)
    assert feed["authors"] == [{"name": "IOM Türkiye", "url": "https://example.org/"}]
    assert feed["language"] == "en" and feed["hubs"] == [{"type": "WebSub", "url": SPEC.hub_url}]
    atom = feedparser.parse(build_atom(SPEC, MIXED, topic_titles=TITLES))
    items = feed["items"]
    # Same entries, order, ids, titles and content as the Atom document; the withdrawn one in neither.
    assert [i["id"] for i in items] == [e.id for e in atom.entries] == [r.atom_id for r in MIXED[:-1]]
    assert [i["title"] for i in items] == [e.title for e in atom.entries]
    for item, entry in zip(items, atom.entries, strict=True):
        if "content" in entry:
            assert item["content_html"] == entry.content[0].value and "content_text" not in item
        else:  # no body: the place and date, as the Atom summary says
            assert item["content_text"] == entry.summary and "content_html" not in item
        assert item["summary"] == entry.summary
        assert item["url"] == entry.link
        assert item["authors"] == [{"name": entry.author}]
        assert item["tags"] == ["Borders & emergencies", "Health and COVID-19"]
        assert item["date_modified"] == entry.updated
        # Issue 13: a stated date only; an undated release has none, in Atom as here.
        assert item.get("date_published") == entry.get("published")
    by_id = {i["id"]: i for i in items}
    assert "date_published" not in by_id[MIXED[6].atom_id] and "date_published" in by_id[MIXED[0].atom_id]
    assert by_id[MIXED[6].atom_id]["date_modified"] == "2026-03-01T05:00:00+00:00"
    assert by_id[MIXED[9].atom_id]["content_html"].startswith("<p><strong>Updated on 1 March 2026")


def test_hostile_text_stays_text() -> None:
    feed = valid(build_json_feed(JSON_SPEC, RELEASES, topic_titles=TITLES))
    first = feed["items"][0]
    assert first["title"] == "Release 0: Control  characters and <script>alert(1)</script>"
    html = first["content_html"]
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "]]&gt;" in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "\u200fمرحبا بالعالم، الهجرة\u200f" in html and "👩‍👩‍👧" in html
    raw = build_json_feed(JSON_SPEC, RELEASES, topic_titles=TITLES).decode()
    assert not any(c in raw for c in ("\x00", "\x01", "\x0b", "\ufffe", "\\u0000", "\\u000b"))


def test_bytes_are_deterministic_and_nothing_says_now() -> None:
    first = build_json_feed(JSON_SPEC, RELEASES, topic_titles=TITLES)
    assert first == build_json_feed(JSON_SPEC, list(RELEASES), topic_titles=dict(TITLES))
    no_hub = valid(build_json_feed(dataclasses.replace(JSON_SPEC, hub_url=None), [], topic_titles=TITLES))
    assert no_hub["items"] == [] and "hubs" not in no_hub


def test_naive_datetimes_and_duplicate_ids_are_refused_as_in_atom() -> None:
    naive = dataclasses.replace(stored(1), updated=dt.datetime(2026, 3, 1))
    with pytest.raises(ValueError, match="naive"):
        build_json_feed(JSON_SPEC, [naive], topic_titles=TITLES)
    with pytest.raises(ValueError, match="duplicate atom_id"):
        build_json_feed(JSON_SPEC, [stored(1), dataclasses.replace(stored(2), atom_id=stored(1).atom_id)],
                        topic_titles=TITLES)


@pytest.mark.parametrize("breakage", [
    lambda f: f.pop("version"),
    lambda f: f.update(version="https://jsonfeed.org/version/1"),
    lambda f: f["items"][0].pop("id"),
    lambda f: f["items"][0].pop("content_html"),
    lambda f: f["items"][0].update(date_modified="1 March 2026"),
    lambda f: f["items"][0].update(date_published="2026-03-01T12:00:00"),  # RFC 3339 needs an offset
    lambda f: f["items"][0].update(url="http://exa mple.org/"),
    lambda f: f["items"][0].update(authors=[{}]),
    lambda f: f["items"][0].update(attachments=[{"url": "https://example.org/a.pdf"}]),
    lambda f: f["items"][0].update(date_publised="2026-03-01T12:00:00Z"),  # a misspelt member
    lambda f: f.update(hubs=[{"url": "https://hub.example.org/"}]),
])
def test_the_schema_rejects_what_the_spec_forbids(breakage: Any) -> None:
    feed = valid(build_json_feed(JSON_SPEC, RELEASES[:1], topic_titles=TITLES))
    feed["items"][0]["attachments"] = [{"url": "https://example.org/a.pdf", "mime_type": "application/pdf",
                                        "size_in_bytes": 1024}]
    feed["_feedsvc"] = {"note": "custom members start with an underscore"}
    assert VALIDATOR.is_valid(feed)
    breakage(feed)
    assert not VALIDATOR.is_valid(feed)
    with pytest.raises(jsonschema.ValidationError):
        VALIDATOR.validate(feed)


@settings(max_examples=60, deadline=None)
@given(titles=st.lists(_TEXT, min_size=0, max_size=4),
       paragraphs=st.lists(_TEXT, max_size=3), author=st.one_of(st.none(), _TEXT))
def test_any_text_gives_a_valid_json_feed(titles: list[str], paragraphs: list[str], author: str | None) -> None:
    releases = [stored(i, title=t, paragraphs=paragraphs, author=author) for i, t in enumerate(titles)]
    feed = valid(build_json_feed(JSON_SPEC, releases, topic_titles={"borders": author or "B"}))
    assert len(feed["items"]) == len(titles)

