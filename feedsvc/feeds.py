"""Releases → Atom, RSS and OPML bytes. Pure: no clock, no I/O; the same input gives the same bytes (ETags).

feedgen does the writing; this module owns its traps (see shared/NOTES.md):
- it stamps `updated`/`lastBuildDate` with *now*: we always set them, from the entries;
- `add_entry()` prepends: we append, so entries keep the caller's order (newest first);
- it refuses naive datetimes and lxml refuses control characters: we check the first and strip the
  second from every string we hand it;
- `content(type="CDATA")` writes an invalid type: we send `type="html"` (escaped paragraphs, or a Markdown
  release's sanitised HTML);
- 1.0.0 drops `rel` from entry links (a shadowed loop variable): an entry extension puts it back;
- it cannot write a processing instruction: `<?xml-stylesheet?>` (a browser's readable page) is put
  into the bytes right after the XML declaration (`_with_stylesheet`).
RFC 5005 archive links go through `fg.link()` (feedgen knows the relations); `<fh:archive/>` comes from a
feed extension, so its namespace is declared on the root and it lands before the first entry, where
the Atom RELAX NG schema allows extension elements.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import re
from collections.abc import Mapping, Sequence

from feedgen.feed import FeedGenerator  # type: ignore[import-untyped]
from lxml import etree

from feedsvc.entry_extras import extras_html
from feedsvc.feed_extensions import FH_NS, ArchiveMarker, EntryLinkRel, NoFeedExtension, RssHub
from feedsvc.languages import Translation
from feedsvc.links import Links
from feedsvc.model import StoredRelease

__all__ = [
    "ATOM_TYPE", "EPOCH", "FH_NS", "RSS_TYPE", "FeedSpec", "build_atom", "build_opml", "build_rss",
    "checked", "clean_text", "content_html", "entry_author", "entry_summary", "entry_title", "feed_updated",
    "published_at", "summarize",
]

ATOM_TYPE = "application/atom+xml"
RSS_TYPE = "application/rss+xml"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # `updated` of a feed with no entry, by default
SUMMARY_LIMIT = 300
_MONTHS = ("January", "February", "March", "April", "May", "June", "July",
           "August", "September", "October", "November", "December")  # not %B: no locale in feeds

# Characters XML 1.0 forbids (and lxml raises on), plus lone surrogates, which cannot be encoded at all.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")  # RFC 3986 scheme, then no whitespace
_PI_URI = re.compile(r'[A-Za-z][A-Za-z0-9+.\-]*:[^\s"<>]+')  # no quote, no `>`: safe in a PI
_LANGUAGE = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")  # atomLanguageTag in the RELAX NG schema


def clean_text(text: str) -> str:
    """`text` without the characters XML cannot carry."""
    return _INVALID_XML.sub("", text)


def summarize(text: str, limit: int = SUMMARY_LIMIT) -> str:
    """`text` on one line, cut at a word boundary to at most `limit` characters (an ellipsis marks a cut)."""
    text = " ".join(clean_text(text).split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit // 2:  # a single huge "word" (a URL) is cut where it stands
        cut = cut[:space]
    return cut.rstrip(" ,;:.–—-") + "…"


@dataclasses.dataclass(frozen=True, slots=True)
class FeedSpec:
    """What a feed says about itself; one per served address (self_url must be that address)."""

    feed_id: str  # tag: URI, never changed, e.g. tag:example.org,2026:feed/all
    title: str
    subtitle: str
    self_url: str  # the address this very document is served from (the W3C validator checks)
    alternate_url: str  # the HTML page of the feed
    base_url: str  # the site: release pages are Links(base_url).release(id)
    author_name: str  # the organisation: author of every release without a byline
    language: str = "en"
    hub_url: str | None = None  # WebSub hub
    generator: str = "feedsvc"
    generator_version: str | None = None
    icon: str | None = None
    stylesheet_url: str | None = None  # XSL named by Atom and RSS documents for browsers (links.feed_stylesheet)

    def __post_init__(self) -> None:
        # Caught here, once, rather than as a schema-invalid feed served to every reader.
        for name in ("feed_id", "self_url", "alternate_url", "base_url"):
            if not _URI.fullmatch(getattr(self, name)):
                raise ValueError(f"FeedSpec.{name} is not an absolute URI: {getattr(self, name)!r}")
        if self.stylesheet_url is not None and not _PI_URI.fullmatch(self.stylesheet_url):
            # It goes inside a processing instruction's quoted pseudo-attribute: no quote, no `?>`.
            raise ValueError(f"FeedSpec.stylesheet_url cannot go into <?xml-stylesheet?>: {self.stylesheet_url!r}")
        if not _LANGUAGE.fullmatch(self.language):
            raise ValueError(f"FeedSpec.language is not a language tag: {self.language!r}")
        if not self.title.strip() or not self.author_name.strip():
            raise ValueError("FeedSpec.title and FeedSpec.author_name must not be empty")


def _utc(when: dt.datetime, what: str) -> dt.datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        # Guessing a zone would move the instant silently; storage promises aware UTC.
        raise ValueError(f"{what} is a naive datetime: feeds need aware UTC instants")
    return when.astimezone(dt.UTC)


def checked(releases: Sequence[StoredRelease]) -> list[StoredRelease]:
    """The releases to show, after checking what readers and the W3C validator punish."""
    shown = [r for r in releases if not r.withdrawn]
    ids: set[str] = set()
    instants: dict[dt.datetime, str] = {}
    for r in shown:
        if not _URI.fullmatch(r.atom_id):
            raise ValueError(f"release {r.id}: atom_id is not a URI: {r.atom_id!r}")
        if r.atom_id in ids:  # some readers drop the entry, others the whole feed
            raise ValueError(f"release {r.id}: duplicate atom_id {r.atom_id!r}")
        ids.add(r.atom_id)
        updated = _utc(r.updated, f"release {r.id}: updated")
        if r.published is not None:
            _utc(r.published, f"release {r.id}: published")
        if updated in instants:  # storage keeps `updated` unique; the validator warns on a tie
            raise ValueError(f"releases {instants[updated]} and {r.id} share the updated instant {updated}")
        instants[updated] = r.id
    return shown


def feed_updated(shown: Sequence[StoredRelease], empty_updated: dt.datetime) -> dt.datetime:
    """The feed's `updated`: its newest entry's, or `empty_updated` (never the clock)."""
    if not shown:
        return _utc(empty_updated, "empty_updated")
    return max(_utc(r.updated, "updated") for r in shown)


def _generator(spec: FeedSpec, updated: dt.datetime,
               self_type: str, links: Sequence[tuple[str, str, str | None]]) -> FeedGenerator:
    fg = FeedGenerator()
    fg.register_extension("feedsvc_rel", NoFeedExtension, EntryLinkRel, atom=True, rss=False)
    fg.id(clean_text(spec.feed_id))
    fg.title(clean_text(spec.title))
    fg.subtitle(clean_text(spec.subtitle or spec.title))  # RSS requires a channel description
    fg.author(name=clean_text(spec.author_name))  # a feed-level author keeps even an empty feed valid
    fg.language(spec.language)
    fg.generator(clean_text(spec.generator), version=spec.generator_version)
    if spec.icon:
        fg.icon(clean_text(spec.icon))
    fg.updated(updated)  # feedgen's default is now: the ETag would change on every build
    fg.link(href=clean_text(spec.self_url), rel="self", type=self_type)
    if spec.hub_url:
        fg.link(href=clean_text(spec.hub_url), rel="hub")
    for href, rel, type_ in links:
        fg.link(href=clean_text(href), rel=rel, **({"type": type_} if type_ else {}))
    # Last on purpose: feedgen uses the last link added as RSS's channel <link>.
    fg.link(href=clean_text(spec.alternate_url), rel="alternate", type="text/html")
    return fg


def _dateline(r: StoredRelease) -> str:
    """The text of a release with no body: its place and date (an entry never says nothing)."""
    day = r.date or _utc(r.first_seen, f"release {r.id}: first_seen").date()
    place = " ".join(clean_text(r.location or "").split())
    when = f"{day.day} {_MONTHS[day.month - 1]} {day.year}"
    # Issue 13: a date is never invented; an undated release says when it was added, as such.
    return ", ".join(p for p in (place, when if r.date else f"added on {when}") if p)


def _updated_line(r: StoredRelease, links: Links) -> str:
    """Issue 13 item 5: a corrected release says so at the top of its content, with where to see what changed."""
    if r.revised_at is None:
        return ""
    day = _utc(r.revised_at, f"release {r.id}: revised_at").date()
    href = html.escape(links.release_history(clean_text(r.id)))
    return (f"<p><strong>Updated on {day.day} {_MONTHS[day.month - 1]} {day.year}</strong>"
            f" (<a href=\"{href}\">what changed</a>)</p>\n")


def _paragraphs(r: StoredRelease) -> list[str]:
    return [p for p in (" ".join(clean_text(p).split()) for p in r.paragraphs) if p]


def entry_summary(r: StoredRelease) -> str:
    """One line of plain text: the first paragraph, cut; or, with no body, its place and date."""
    paragraphs = _paragraphs(r)
    return summarize(paragraphs[0]) if paragraphs else _dateline(r)


def content_html(r: StoredRelease, links: Links, summary: str) -> str | None:
    """The entry's HTML content (Atom `content`, JSON Feed `content_html`); None when the summary says all."""
    updated_line = _updated_line(r, links)
    # Its pictures, files and press contacts after the text (issue 17 item 3), escaped as they are built.
    extras = clean_text(extras_html(r.attachments, r.contacts, links)).rstrip()
    body_html = clean_text(r.body_html or "").strip()
    if body_html:
        # A Markdown body: already sanitised (allow-listed tags, http(s)/mailto links) when parsed.
        return updated_line + body_html + extras
    paragraphs = _paragraphs(r)
    if paragraphs:
        # Escaped here (and again by the XML writer): readers see text, never the release's markup.
        return updated_line + "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs) + extras
    if updated_line or extras:  # no body, but the correction or the extras are still said
        return updated_line + f"<p>{html.escape(summary)}</p>" + extras
    return None


def entry_title(r: StoredRelease) -> str:
    return clean_text(r.title).strip() or "Untitled release"


def entry_author(r: StoredRelease, spec: FeedSpec) -> str:
    """The byline, or the organisation: every entry names one (the validator warns otherwise)."""
    return clean_text(r.author or "").strip() or clean_text(spec.author_name)


def published_at(r: StoredRelease) -> dt.datetime | None:
    """The stated date as an instant, never after `updated`; None when undated (issue 13: none invented)."""
    if r.published is None:
        return None
    # `published` after `updated` would be nonsense (a stated date later than first sight):
    # clamp published rather than move `updated`, which feed `updated` and uniqueness rest on.
    return min(_utc(r.published, "published"), _utc(r.updated, "updated"))


def _add_entries(fg: FeedGenerator, spec: FeedSpec, shown: Sequence[StoredRelease],
                 topic_titles: Mapping[str, str], *, rss: bool,
                 translations: Mapping[str, Sequence[Translation]] | None = None) -> None:
    links = Links(spec.base_url)
    for r in shown:
        fe = fg.add_entry(order="append")  # the caller sorted newest first; feedgen would reverse it
        fe.id(clean_text(r.atom_id))  # also the RSS guid, isPermaLink="false"
        title = entry_title(r)
        # RSS has no type attribute and readers render title and description as HTML: escaped
        # once more, they show the release's characters (`<script>` as text). Atom says type="text".
        fe.title(html.escape(title, quote=False) if rss else title)
        updated = _utc(r.updated, "updated")
        fe.updated(updated)
        published = published_at(r)
        if published is not None:
            fe.published(published)
        elif rss:
            # Issue 13: an undated release has no Atom `published` (no date is invented); RSS
            # readers sort on pubDate, which is the instant it was first seen, as is true.
            fe.pubDate(_utc(r.first_seen, "first_seen"))
        author = entry_author(r, spec)
        fe.author(name=author)
        if rss:
            fe.dc.dc_creator(author)  # RSS <author> must be an email address; dc:creator takes a name
        for slug in r.topics:
            fe.category(term=clean_text(slug), label=clean_text(topic_titles.get(slug, slug)))
        summary = entry_summary(r)
        if rss:
            fe.description(html.escape(summary, quote=False))
        else:
            fe.summary(summary, type="text")
        content = content_html(r, links, summary)
        if content is not None:  # the XML writer escapes it once, as type="html" requires
            fe.content(content, type="html")
        fe.link(href=links.release(clean_text(r.id)), rel="alternate", type="text/html")
        if not rss:
            fe.feedsvc_rel.language = r.language
            fe.feedsvc_rel.translations = [
                {"rel": "alternate", "type": "text/html", "hreflang": t.language, "href": links.release(t.release_id),
                 "title": t.name} for t in (translations or {}).get(r.id, ())]
        if rss and r.attachments:
            # RSS 2.0 allows one enclosure an item: the first the release names (all are in its content).
            first = r.attachments[0]
            fe.enclosure(links.media(first.sha256, first.name), first.size, first.content_type)
        elif r.attachments:
            fe.feedsvc_rel.enclosures = [
                {"rel": "enclosure", "href": links.media(a.sha256, a.name), "type": a.content_type,
                 "length": str(a.size), **({"title": clean_text(a.alt)} if a.alt else {})}
                for a in r.attachments]


def build_atom(
    spec: FeedSpec,
    releases: Sequence[StoredRelease],
    *,
    topic_titles: Mapping[str, str],
    prev_archive: str | None = None,
    next_archive: str | None = None,
    current: str | None = None,
    is_archive: bool = False,
    empty_updated: dt.datetime = EPOCH,
    translations: Mapping[str, Sequence[Translation]] | None = None,
) -> bytes:
    """An Atom 1.0 document (UTF-8, with XML declaration) of `releases` in the order given.

    Withdrawn releases are left out. Feed `updated` is the newest entry's, or `empty_updated` when
    nothing is shown. `prev_archive`/`next_archive`/`current` are RFC 5005 links; `is_archive` adds
    `<fh:archive/>`; `translations` (release id → its other languages) become hreflang alternate
    links. Raises ValueError on a naive datetime, a duplicate atom_id or `updated` instant.
    """
    shown = checked(releases)
    links: list[tuple[str, str, str | None]] = []
    for href, rel in ((current, "current"), (prev_archive, "prev-archive"), (next_archive, "next-archive")):
        if href:
            links.append((href, rel, ATOM_TYPE))
    fg = _generator(spec, feed_updated(shown, empty_updated), ATOM_TYPE, links)
    if is_archive:
        fg.register_extension("feedsvc_fh", ArchiveMarker, None, atom=True, rss=False)
    _add_entries(fg, spec, shown, topic_titles, rss=False, translations=translations)
    return _with_stylesheet(bytes(fg.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True)), spec)


def build_rss(
    spec: FeedSpec,
    releases: Sequence[StoredRelease],
    *,
    topic_titles: Mapping[str, str],
    empty_updated: dt.datetime = EPOCH,
) -> bytes:
    """An RSS 2.0 document of `releases` in the order given; `spec.self_url` must be the RSS address.

    guid = atom_id (isPermaLink="false"), lastBuildDate = newest `updated`, author as dc:creator.
    """
    shown = checked(releases)
    fg = _generator(spec, feed_updated(shown, empty_updated), RSS_TYPE, [])
    fg.load_extension("dc", atom=False, rss=True)
    if spec.hub_url:
        fg.register_extension("feedsvc_hub", RssHub, None, atom=False, rss=True)
        fg.feedsvc_hub.hub_url = clean_text(spec.hub_url)
    _add_entries(fg, spec, shown, topic_titles, rss=True)
    return _with_stylesheet(bytes(fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)), spec)


def _with_stylesheet(document: bytes, spec: FeedSpec) -> bytes:
    """`document` with `<?xml-stylesheet?>` right after its XML declaration (feedgen cannot write one)."""
    if spec.stylesheet_url is None:
        return document
    declaration, sep, rest = document.partition(b"?>\n")
    if not declaration.startswith(b"<?xml ") or not sep:  # a feedgen change must fail loudly, not silently
        raise ValueError("feed document does not start with an XML declaration")
    pi = f'<?xml-stylesheet type="text/xsl" href="{spec.stylesheet_url}"?>\n'.encode()
    return declaration + sep + pi + rest


def build_opml(title: str, feeds: Sequence[tuple[str, str, str]]) -> bytes:
    """An OPML 2.0 subscription list of (title, xml_url, html_url); no dates, so it is deterministic."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = clean_text(title)
    body = etree.SubElement(root, "body")
    for feed_title, xml_url, html_url in feeds:
        text = clean_text(feed_title)
        # OPML 2.0 §"subscription lists": type="rss" whatever the feed's format.
        etree.SubElement(body, "outline", type="rss", text=text, title=text,
                         xmlUrl=clean_text(xml_url), htmlUrl=clean_text(html_url))
    return bytes(etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True))
