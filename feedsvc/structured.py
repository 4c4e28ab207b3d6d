"""Structured data for search engines: a release as a schema.org `NewsArticle` (JSON-LD). Pure.

The page embeds the dict with Jinja's `tojson`, which escapes `<`, `>`, `&` and `'`, so no text
of a release can close the `<script type="application/ld+json">` it sits in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from .feeds import clean_text, entry_summary, entry_title
from .links import Links
from .model import StoredRelease

__all__ = ["news_article"]


def _organisation(name: str, links: Links) -> dict[str, str]:
    return {"@type": "Organization", "name": clean_text(name), "url": links.home()}


def news_article(r: StoredRelease, *, links: Links, organisation: str, language: str,
                 topic_titles: Mapping[str, str]) -> dict[str, Any]:
    """https://schema.org/NewsArticle for the page of `r`; `datePublished` only when it states a date."""
    url = links.release(r.id)
    article: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": entry_title(r),
        "url": url,
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "inLanguage": language,
        "description": entry_summary(r),
    }
    if r.date is not None:
        # The stated day, as stated: its time of day is unknown (issue 13: nothing invented).
        article["datePublished"] = r.date.isoformat()
    article["dateModified"] = r.updated.astimezone(dt.UTC).isoformat(timespec="seconds")
    byline = clean_text(r.author or "").strip()
    # A byline names a person; a release without one is the office's own.
    article["author"] = ({"@type": "Person", "name": byline} if byline
                         else _organisation(organisation, links))
    article["publisher"] = _organisation(organisation, links)
    if r.location:
        article["dateline"] = clean_text(r.location)
    if r.topics:
        article["articleSection"] = [clean_text(topic_titles.get(t, t)) for t in r.topics]
    images = [links.media(a.sha256, a.name) for a in r.attachments if a.is_image]
    if images:  # issue 17 item 3: the pictures it carries (search engines show one beside the result)
        article["image"] = images
    return article
