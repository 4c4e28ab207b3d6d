"""feedgen extensions for what feedgen 1.0 cannot write (see feeds.py's docstring for its traps).

Each is an object feedgen calls while it builds the tree: entry links' lost `rel`, enclosures,
per-entry `xml:lang` and translations (issue 17), RFC 5005's `<fh:archive/>`, WebSub's hub in RSS.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

FH_NS = "http://purl.org/syndication/history/1.0"  # RFC 5005 §4
ATOM_NS = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


class NoFeedExtension:
    """Feed half of the entry-only extension (feedgen instantiates both halves)."""

    def extend_ns(self) -> dict[str, str]:
        return {}

    def extend_atom(self, feed: Any) -> Any:
        return feed

    def extend_rss(self, feed: Any) -> Any:
        return feed


class EntryLinkRel(NoFeedExtension):
    """Writes back the rel and type that feedgen 1.0.0 drops from entry links, then the enclosures.

    The only link given to feedgen is the release's HTML page; enclosures (issue 17 item 3: one per
    attachment, with its length and type) are written here whole, as feedgen would drop their rel,
    type and length too. feedgen builds Atom elements without a namespace (xmlns is a plain attribute
    of the root), hence the bare "link".
    """

    def __init__(self) -> None:
        self.enclosures: list[dict[str, str]] = []  # attributes of each <link rel="enclosure">
        # Issue 17 item 2 (feedgen has no per-entry language): the entry's xml:lang and hreflang,
        # and its translations' pages as more alternate links, one per language.
        self.language: str | None = None
        self.translations: list[dict[str, str]] = []

    def extend_atom(self, entry: Any) -> Any:
        for link in entry.iterfind("link"):
            if "rel" not in link.attrib:
                link.set("rel", "alternate")
                link.set("type", "text/html")
                if self.language:
                    link.set("hreflang", self.language)
        if self.language:
            entry.set(XML_LANG, self.language)
        for attrs in [*self.translations, *self.enclosures]:
            etree.SubElement(entry, "link", attrs)
        return entry


class ArchiveMarker(NoFeedExtension):
    """RFC 5005 §4: `<fh:archive/>` marks an archive document; registered only for those."""

    def extend_ns(self) -> dict[str, str]:
        return {"fh": FH_NS}

    def extend_atom(self, feed: Any) -> Any:
        # Appended after feedgen's own children and before the entries (added after extensions).
        etree.SubElement(feed, f"{{{FH_NS}}}archive")
        return feed


class RssHub(NoFeedExtension):
    """WebSub discovery for RSS: feedgen writes only the self atom:link into the channel."""

    hub_url = ""

    def extend_rss(self, feed: Any) -> Any:
        channel = feed.find("channel")
        etree.SubElement(channel, f"{{{ATOM_NS}}}link", href=self.hub_url, rel="hub")
        return feed
