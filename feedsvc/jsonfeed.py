"""Releases → JSON Feed 1.1 bytes (https://www.jsonfeed.org/version/1.1/). Pure: no clock, no I/O.

The same entries as the Atom document built from the same FeedSpec and releases (feeds.py): the same
order, ids (the release's tag: URI), titles, content (the Atom `content`, sanitised or escaped alike)
and dates. `date_published` only when the release states a date (issue 13); `date_modified` is `updated`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from .feeds import (
    FeedSpec,
    checked,
    clean_text,
    content_html,
    entry_author,
    entry_summary,
    entry_title,
    published_at,
)
from .links import Links
from .model import StoredRelease

__all__ = ["JSON_FEED_TYPE", "VERSION", "build_json_feed"]

JSON_FEED_TYPE = "application/feed+json"
VERSION = "https://jsonfeed.org/version/1.1"


def _instant(when: dt.datetime) -> str:
    """RFC 3339 in UTC (the caller checked the datetime is aware)."""
    return when.astimezone(dt.UTC).isoformat()


def _item(r: StoredRelease, spec: FeedSpec, links: Links, topic_titles: Mapping[str, str]) -> dict[str, Any]:
    summary = entry_summary(r)
    item: dict[str, Any] = {
        "id": clean_text(r.atom_id),
        "url": links.release(clean_text(r.id)),
        "title": entry_title(r),
    }
    content = content_html(r, links, summary)
    # JSON Feed needs content_html or content_text: a release with no body says its place and date.
    if content is not None:
        item["content_html"] = content
    else:
        item["content_text"] = summary
    item["summary"] = summary
    published = published_at(r)
    if published is not None:
        item["date_published"] = _instant(published)
    item["date_modified"] = _instant(r.updated)
    item["authors"] = [{"name": entry_author(r, spec)}]
    if r.topics:
        item["tags"] = [clean_text(topic_titles.get(slug, slug)) for slug in r.topics]
    if r.attachments:  # issue 17 item 3: what Atom lists as enclosures
        item["attachments"] = [{"url": links.media(a.sha256, a.name), "mime_type": a.content_type,
                                "title": clean_text(a.alt or a.name), "size_in_bytes": a.size}
                               for a in r.attachments]
    item["language"] = r.language or spec.language  # issue 17 item 2: the release's own
    return item


def build_json_feed(spec: FeedSpec, releases: Sequence[StoredRelease], *,
                    topic_titles: Mapping[str, str]) -> bytes:
    """A JSON Feed 1.1 document (UTF-8) of `releases` in the order given; `spec.self_url` is its address.

    Withdrawn releases are left out. Raises ValueError as build_atom does (naive datetime,
    duplicate atom_id or `updated` instant).
    """
    shown = checked(releases)
    links = Links(spec.base_url)
    feed: dict[str, Any] = {
        "version": VERSION,
        "title": clean_text(spec.title),
        "home_page_url": clean_text(spec.alternate_url),
        "feed_url": clean_text(spec.self_url),
        "description": clean_text(spec.subtitle or spec.title),
        "user_comment": ("This is a feed of press releases. Add its address to a feed reader to follow "
                         "them, or subscribe by email on the website."),
        "authors": [{"name": clean_text(spec.author_name), "url": links.home()}],
        "language": spec.language,
    }
    if spec.icon:
        feed["icon"] = clean_text(spec.icon)
    if spec.hub_url:
        feed["hubs"] = [{"type": "WebSub", "url": clean_text(spec.hub_url)}]
    feed["items"] = [_item(r, spec, links, topic_titles) for r in shown]
    # Key order as written and no clock: the same input gives the same bytes (and ETag).
    return (json.dumps(feed, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
