"""A listing page saved from a browser (`.html`) to the lines of a text listing, plus its body links.

The page is read with lxml's HTML parser, never with patterns over markup. What a reader does
not take for the listing (scripts, menus, the site's header and footer, cookie notices, hidden
elements) is dropped; every block element becomes a line of its own, and a blank line goes where
the page sets blocks apart (between paragraphs, list items, articles), so the text parser reads
the result as it reads a listing copied out of the browser window (issue 11, item 3).
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Sequence
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html

from feedsvc.model import ParseError, ParseWarning, Release
from feedsvc.parsing.html_charset import decode_page
from feedsvc.parsing.markdown_body import sanitise
from feedsvc.parsing.normalise import normalise_text

HTML_SUFFIXES = (".html", ".htm", ".xhtml")

_DROPPED = frozenset({
    "script", "style", "noscript", "template", "svg", "math", "iframe", "nav", "aside", "dialog",
    # Controls and embedded media: their text is a label or a "your browser cannot" fallback.
    "button", "input", "select", "option", "textarea", "datalist", "object", "embed", "video",
    "audio", "canvas", "map",
})
_DROPPED_ROLES = frozenset({
    "navigation", "banner", "contentinfo", "complementary", "search", "dialog", "alertdialog",
    "menu", "menubar",
})
# `header` and `footer` are the site's banner and footer only at page level; inside an article
# or section they hold its title, date and tags (the ARIA mapping in HTML-AAM says the same).
_SECTIONING = frozenset({"article", "section", "main"})
# The stock "hide this" classes of Bootstrap, Drupal, WordPress, Foundation: pages hide text
# with CSS far more often than with the `hidden` attribute ("Read more<span class=sr-only>
# about …</span>" would otherwise stop being a label line).
_HIDDEN_CLASSES = frozenset({
    "hidden", "hide", "d-none", "invisible", "sr-only", "visually-hidden", "visuallyhidden",
    "screen-reader-text", "element-invisible", "show-for-sr",
})
# Consent banners rarely carry a role; their class or id is the only mark they have. So do
# breadcrumb trails outside a <nav> (Bootstrap's `ol.breadcrumb`).
_CHROME_MARKS = ("cookie", "consent", "gdpr", "breadcrumb")

# Blocks a browser sets apart with a margin: a blank line before and after each.
_SPACED = frozenset({
    "html", "body", "title", "main", "article", "section", "p", "ul", "ol", "li", "dl",
    "blockquote", "pre", "figure", "table", "tr", "fieldset", "details", "hr",
})
# Inline elements a stylesheet often sets one per line, and the blocks that hold them as fields.
_INLINE_FIELDS = frozenset({"span", "a", "time", "strong", "em", "b", "i", "small", "cite", "label"})
_FIELD_HOLDERS = frozenset({"li", "div", "article", "section", "td", "dd", "header", "footer"})
# Blocks that only start a new line. Headings are here on purpose: a date or tag line right
# above a title belongs to it (the text parser reads it so), and the paragraph under a heading
# brings its own blank line.
_LINE = frozenset({
    "div", "h1", "h2", "h3", "h4", "h5", "h6", "hgroup", "header", "footer", "address", "dt",
    "dd", "td", "th", "caption", "figcaption", "summary", "legend", "center", "form", "thead",
    "tbody", "tfoot",
})


@dataclasses.dataclass(frozen=True, slots=True)
class PageLink:
    """A link of the page: the text line it sits on, its anchor text and its (resolved) href."""

    line: int  # 1-based line of HtmlText.text
    text: str
    href: str


@dataclasses.dataclass(frozen=True, slots=True)
class HtmlText:
    """A page as listing text, its links, and where each text line came from in the page."""

    text: str
    links: tuple[PageLink, ...]
    source_lines: tuple[int, ...]  # per text line (blank ones too): its line in the HTML file
    warnings: tuple[ParseWarning, ...] = ()  # from decoding the page's bytes


def is_html_name(source_file: str) -> bool:
    """Whether a file name is one of a saved web page."""
    return source_file.lower().endswith(HTML_SUFFIXES)


def html_to_text(data: bytes | str, source_file: str) -> HtmlText:
    """A page's visible text as listing lines; bytes are decoded by the page's own charset first."""
    markup, warnings = (data, ()) if isinstance(data, str) else decode_page(data, source_file)
    # Re-encoded and parsed as UTF-8 explicitly, so a meta charset cannot re-decode text that
    # is already decoded, and an XML declaration in an `.xhtml` page is harmless.
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    try:
        root = lxml.html.document_fromstring(markup.encode("utf-8", "replace"), parser=parser)
    except (lxml.etree.ParserError, ValueError):
        raise ParseError(source_file, "no text in the HTML page") from None
    base = root.find(".//base[@href]")
    writer = _Writer(base.get("href", "").strip() if base is not None else None)
    writer.walk(root)
    if not writer.lines:
        raise ParseError(source_file, "no text in the HTML page")
    return HtmlText("\n".join(writer.lines) + "\n", tuple(writer.links), tuple(writer.sources), warnings)


def with_links(releases: Sequence[Release], page: HtmlText) -> list[Release]:
    """The releases with the links of their body paragraphs, and `line` pointing into the HTML file."""
    out: list[Release] = []
    for i, release in enumerate(releases):
        end = releases[i + 1].line if i + 1 < len(releases) else len(page.source_lines) + 1
        links: list[tuple[str, str]] = []
        for link in page.links:
            # Below the release's first line (its title or byline) and before the next one;
            # the anchor text must still be in a paragraph, so title, date and "Read more"
            # links, which are not body text, are left out.
            if release.line < link.line < end and (link.text, link.href) not in links and any(
                link.text in paragraph for paragraph in release.paragraphs
            ):
                links.append((link.text, link.href))
        line = page.source_lines[release.line - 1] if 0 < release.line <= len(page.source_lines) else 0
        out.append(dataclasses.replace(
            release, links=tuple(links), line=line or release.line,
            body_html=linked_body(release.paragraphs, links) if links else release.body_html,
        ))
    return out


def linked_body(paragraphs: Sequence[str], links: Sequence[tuple[str, str]]) -> str:
    """The paragraphs as sanitised HTML with each link's anchor text linked where it first occurs."""
    pending = list(links)
    parts: list[str] = []
    for paragraph in paragraphs:
        pieces: list[str] = []
        rest = paragraph
        while pending:
            # The earliest anchor left in this paragraph, so links are placed in reading order.
            hits = [(rest.find(text), text, href) for text, href in pending if text and text in rest]
            if not hits:
                break
            at, text, href = min(hits)
            pieces.append(html.escape(rest[:at]))
            pieces.append(f'<a href="{html.escape(href, quote=True)}">{html.escape(text)}</a>')
            rest = rest[at + len(text):]
            pending.remove((text, href))
        pieces.append(html.escape(rest))
        parts.append("<p>" + "".join(pieces) + "</p>")
    # nh3 drops what the allow-list refuses (a relative or javascript: href keeps its text)
    # and adds rel="nofollow noopener", as for Markdown bodies.
    return sanitise("".join(parts))


# -- markup to lines ------------------------------------------------------------------------

def _dropped(el: lxml.html.HtmlElement) -> bool:
    tag = el.tag
    if tag in _DROPPED:
        return True
    if tag in ("header", "footer") and not any(a.tag in _SECTIONING for a in el.iterancestors()):
        return True
    # ASP.NET and SharePoint wrap the whole page in one form: only a form that is not the
    # page (a search box, a newsletter sign-up) is dropped.
    if tag == "form" and next(el.iter("main", "article", "h1"), None) is None:
        return True
    get = el.get
    if get("hidden") is not None or (get("aria-hidden") or "").strip().lower() == "true":
        return True
    roles = (get("role") or "").lower().split()
    if roles and roles[0] in _DROPPED_ROLES:  # the first role is the one browsers use
        return True
    style = get("style")
    if style and _css_hides(style):
        return True
    classes = (get("class") or "").lower().split()
    if any(c in _HIDDEN_CLASSES for c in classes):
        return True
    if tag == "time" and "updated" in classes and "published" not in classes and any(
            "published" in (t.get("class") or "").lower().split() for t in el.itersiblings("time", preceding=True)):
        # WordPress themes print the modified date beside the published one and hide it
        # (`.updated:not(.published) { display: none }`): a reader sees one date.
        return True
    names = " ".join(classes) + " " + (get("id") or "").lower()
    return any(word in names for word in _CHROME_MARKS)


def _holds_fields(el: lxml.html.HtmlElement) -> bool:
    """Whether a block is a record of class-named inline fields, one line each in the browser.

    `<li><span class="date">…</span> <a class="title">…</a> <span class="summary">…</span></li>`:
    the site's stylesheet sets each field on its own line, and a reader sees date, title and
    teaser apart. Loose text between the fields, a field without a class, or one that goes on
    a phrase (`<span class="byline">by …</span>`) means the fields are read inline, as written.
    """
    if el.tag not in _FIELD_HOLDERS or (el.text and not el.text.isspace()):
        return False
    fields = 0
    for child in el:
        if child.tail and not child.tail.isspace():
            return False
        if child.tag not in _INLINE_FIELDS:
            continue
        words = child.text_content().strip()
        if not words:
            continue
        if not child.get("class") or not (words[0].isupper() or words[0].isdigit()):
            return False
        fields += 1
    return fields >= 2


def _css_hides(style: str) -> bool:
    for declaration in style.split(";"):
        name, _, value = declaration.partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if (name, value.split("!")[0].strip()) in (("display", "none"), ("visibility", "hidden")):
            return True
    return False


class _Writer:
    """Collects lines as the tree is walked: text joins the open line, blocks end it."""

    def __init__(self, base: str | None) -> None:
        self.base = base or None
        self.lines: list[str] = []  # "" is a blank line
        self.sources: list[int] = []
        self.links: list[PageLink] = []
        self._parts: list[str] = []  # the open line
        self._source = 0
        self._break = 0  # before the next text: 0 nothing, 1 a new line, 2 a blank line too
        self._anchors: list[tuple[list[str], list[int]]] = []  # open <a>s: text so far, first line
        self._pre = 0
        self._glue = False  # a word right after a closed <time> needs a space

    def walk(self, root: lxml.html.HtmlElement) -> None:
        # An explicit stack, not recursion: nesting depth is the page's to choose.
        # Each entry: the element, whether it is being closed, whether it is a field of its block.
        stack: list[tuple[lxml.html.HtmlElement, bool, bool]] = [(root, False, False)]
        while stack:
            el, closing, field = stack.pop()
            if closing:
                self._close(el)
                if field:
                    self._end_line(1)
            elif isinstance(el.tag, str) and not _dropped(el):
                if field:
                    self._end_line(1)
                self._open(el)
                self._text(el.text, el)
                stack.append((el, True, field))
                fields = _holds_fields(el)
                stack.extend((child, False, fields) for child in reversed(el))
                continue
            parent = el.getparent()
            self._text(el.tail, parent if parent is not None else el)
        self._end_line(2)

    def _open(self, el: lxml.html.HtmlElement) -> None:
        tag = el.tag
        if tag == "br":
            if self._parts:
                self._end_line(1)
            elif self._break:
                self._break = 2  # a second <br> in a row leaves an empty line
        elif tag in _SPACED:
            self._end_line(2)
        elif tag in _LINE:
            self._end_line(1)
        elif tag == "time":
            self._space()  # a date is never glued to the word before or after it
        elif tag == "a":
            self._anchors.append(([], []))
        if tag == "pre":
            self._pre += 1

    def _close(self, el: lxml.html.HtmlElement) -> None:
        tag = el.tag
        if tag in _SPACED:
            self._end_line(2)
        elif tag in _LINE:
            self._end_line(1)
        elif tag == "time":
            self._glue = True
        elif tag == "a":
            parts, lines = self._anchors.pop()
            text = normalise_text("".join(parts))
            href = _link_target(el.get("href"), self.base)
            if text and lines and href is not None:
                self.links.append(PageLink(lines[0], text, href))
        if tag == "pre":
            self._pre -= 1

    def _text(self, text: str | None, owner: lxml.html.HtmlElement) -> None:
        if not text:
            return
        if self._pre:
            first, *rest = text.split("\n")
            self._add(first, owner)
            for piece in rest:
                self._end_line(1)
                self._add(piece, owner)
        else:
            self._add(text, owner)

    def _add(self, text: str, owner: lxml.html.HtmlElement) -> None:
        if self._glue and text:
            self._glue = False
            if self._parts and text[0].isalnum():
                text = " " + text
        if not self._parts:
            if text.isspace() or not text:
                return  # white space opens no line
            if self._break == 2 and self.lines and self.lines[-1]:
                self.lines.append("")
                self.sources.append(self.sources[-1])
            self._break = 0
            self._source = owner.sourceline or 0
        self._parts.append(text)
        for parts, lines in self._anchors:
            parts.append(text)
            if not lines:
                lines.append(len(self.lines) + 1)

    def _space(self) -> None:
        if self._parts and self._parts[-1][-1:].isalnum():
            self._parts.append(" ")
            for parts, _ in self._anchors:
                parts.append(" ")

    def _end_line(self, level: int) -> None:
        if self._parts:
            line = normalise_text("".join(self._parts))
            self._parts = []
            if line:
                self.lines.append(line)
                self.sources.append(self._source)
            for parts, _ in self._anchors:
                parts.append(" ")  # an anchor around blocks reads as words, not one run
        if self.lines:
            self._break = max(self._break, level)


_C0_AND_SPACE = "".join(map(chr, range(0x21)))


def _link_target(href: str | None, base: str | None) -> str | None:
    """The href as kept on a release: http(s), mailto or relative; None for any other."""
    if href is None:
        return None
    # As the URL Standard does: outer spaces and controls go, tabs and newlines go everywhere
    # (so `java\nscript:` is still javascript: and is refused).
    href = "".join(ch for ch in href.strip(_C0_AND_SPACE) if ch not in "\t\n\r")
    if not href or href.startswith("#"):
        return None  # a place on the saved page itself
    try:
        if base:
            href = urljoin(base, href)
        scheme = urlsplit(href).scheme.lower()
    except ValueError:
        return None
    return href if scheme in ("", "http", "https", "mailto") else None
