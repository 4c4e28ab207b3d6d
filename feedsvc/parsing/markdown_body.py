"""A Markdown body read once by markdown-it (CommonMark), then written twice: sanitised HTML and plain text.

Both renderings come from the same token stream, so they cannot disagree: the HTML goes through nh3
(ammonia) with an allow-list, so pages, feeds and email may show it unescaped; the plain paragraphs
(link text then `<URL>`, list items as `- `/`3. `, headings as their text) feed summaries, search,
classification and the text part of the digest. No regular expression looks at Markdown here.
"""

from __future__ import annotations

import dataclasses
import html
import unicodedata
from collections.abc import Iterator, Sequence
from typing import Literal
from urllib.parse import unquote, urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from feedsvc.parsing.normalise import normalise_text, remove_controls

__all__ = ["ALLOWED_TAGS", "BRACKET_BUDGET", "LINK_REL", "LINK_SCHEMES", "Block", "LocalRef", "read_blocks",
           "read_body", "sanitise", "to_html", "without_lead"]

# h1 is the page's title: the body's own level-1 headings are demoted to h2 before rendering.
ALLOWED_TAGS = frozenset({"p", "a", "em", "strong", "ul", "ol", "li", "h2", "h3", "h4", "h5", "h6",
                          "blockquote", "code", "pre", "br", "hr"})
# `start` keeps a list that begins at 3 numbered from 3; it is an integer, nothing to abuse.
_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener"
_EMPHASIS = frozenset({"em_open", "em_close", "strong_open", "strong_close"})
_HIDDEN_OPEN = ("<script", "<style")  # raw HTML elements whose content is not text (nh3 drops it)
_HIDDEN_CLOSE = ("</script", "</style")
# markdown-it is linear, but each unmatched `[` costs it about 20 nested look-aheads (maxNesting):
# 100 KB of `[` took 1.5 s. Each paragraph's brackets are spent from this budget, and a paragraph
# holding more than is left is read without link and image syntax (its brackets stay text). No
# press release comes near it: a link costs one bracket.
BRACKET_BUDGET = 2_000


class _Parser(MarkdownIt):
    def validateLink(self, url: str) -> bool:
        # Every destination is accepted while parsing and judged once, in _safe_inline: a refused
        # link then keeps its text, instead of its Markdown source showing as `[text](javascript:…)`.
        return True


def _inline_within_budget(state: StateCore) -> None:
    """markdown-it's core `inline` rule, with link syntax refused once BRACKET_BUDGET is spent."""
    budget = BRACKET_BUDGET
    for token in state.tokens:
        if token.type != "inline":
            continue
        if token.children is None:
            token.children = []
        brackets = token.content.count("[")
        if brackets <= budget:
            budget -= brackets
            state.md.inline.parse(token.content, state.md, state.env, token.children)
        else:
            _NO_LINKS.inline.parse(token.content, _NO_LINKS, state.env, token.children)


_NO_LINKS = _Parser("commonmark").disable(["link", "image"])
_MD = _Parser("commonmark")
_MD.core.ruler.at("inline", _inline_within_budget)


@dataclasses.dataclass(slots=True)
class Block:
    """One top-level block of the body: its tokens (for HTML) and its plain paragraphs."""

    tokens: list[Token]
    paragraphs: tuple[str, ...]

    @property
    def is_heading(self) -> bool:
        return bool(self.tokens) and self.tokens[0].type == "heading_open"

    @property
    def is_paragraph(self) -> bool:
        return bool(self.tokens) and self.tokens[0].type == "paragraph_open"


@dataclasses.dataclass(frozen=True, slots=True)
class LocalRef:
    """A relative image or link of the body: a file beside the release (issue 17 item 3)."""

    kind: Literal["image", "link"]
    target: str  # percent-decoded path, without query or fragment
    text: str  # alt text, or the link's text
    line: int  # 1-based line of the body


def read_blocks(source: str) -> list[Block]:
    """The body's top-level blocks, links and images made safe, level-1 headings demoted."""
    return read_body(source)[0]


def read_body(source: str) -> tuple[list[Block], list[LocalRef]]:
    """read_blocks, and the files the body names by relative paths, in reading order.

    Such an image is left out of both renderings: it becomes an attachment, shown beside the body
    (a paragraph that held nothing else goes with it). Such a link keeps its text, as before.
    """
    source = remove_controls(source)
    if not source.isascii() and not unicodedata.is_normalized("NFC", source):
        # As normalise_text does for the plain paragraphs, so both renderings hold the same text.
        source = unicodedata.normalize("NFC", source)
    tokens = _MD.parse(source)
    refs: list[LocalRef] = []
    emptied: set[int] = set()  # inline tokens that lost an image to the attachments
    for token in tokens:
        if token.type in ("heading_open", "heading_close") and token.tag == "h1":
            token.tag = "h2"
        elif token.type == "inline" and token.children:
            found = _local_refs(token.children, token.map[0] + 1 if token.map else 1)
            if any(ref.kind == "image" for ref in found):
                emptied.add(id(token))
            refs += found
            token.children = _safe_inline(token.children)
    blocks = [Block(block, tuple(_plain_paragraphs(block))) for block in _top_level(tokens)]
    return [b for b in blocks if b.paragraphs or not any(id(t) in emptied for t in b.tokens)], refs


def to_html(blocks: Sequence[Block]) -> str:
    """The blocks as HTML, sanitised: safe to insert unescaped."""
    tokens = [token for block in blocks for token in block.tokens]
    return sanitise(_MD.renderer.render(tokens, _MD.options, {}))


def sanitise(fragment: str) -> str:
    """`fragment` with only ALLOWED_TAGS, http(s)/mailto links, and rel="nofollow noopener" on links."""
    return nh3.clean(fragment, tags=set(ALLOWED_TAGS), attributes={k: set(v) for k, v in _ATTRIBUTES.items()},
                     attribute_filter=_keep_attribute, url_schemes=set(LINK_SCHEMES), link_rel=LINK_REL,
                     strip_comments=True)


def without_lead(block: Block, lead: str, rest: str) -> Block | None:
    """`block` (a paragraph) without the text `lead` it opens with, or None when that cannot be done.

    `rest` is the paragraph's plain text once `lead` is gone: the result is checked against it.
    Used for a dateline taken into the release's fields, so the HTML body does not repeat it.
    """
    inline = block.tokens[1] if block.is_paragraph and len(block.tokens) == 3 else None
    if inline is None or not inline.children:
        return None
    wanted = sum(not ch.isspace() for ch in lead)  # spaces may differ between source and plain text
    removed: list[str] = []
    children: list[Token] = []
    index = 0
    while wanted and index < len(inline.children):
        child = inline.children[index]
        index += 1
        if child.type in _EMPHASIS:
            children.append(child)  # kept, and dropped below if nothing is left inside
        elif child.type == "text":
            cut = 0
            while cut < len(child.content) and wanted:
                wanted -= not child.content[cut].isspace()
                cut += 1
            removed.append(child.content[:cut])
            if not wanted and child.content[cut:].strip():
                children.append(child.copy(content=child.content[cut:].lstrip()))
        elif child.type not in ("softbreak", "hardbreak"):
            return None  # a link, code or raw HTML inside the lead: leave the body as written
    children += inline.children[index:]
    if wanted or "".join("".join(removed).split()) != "".join(lead.split()):
        return None
    children = _without_empty_emphasis(children)
    if _inline_text(children) != rest:
        return None
    if not rest:
        return Block([], ())
    new_inline = inline.copy(children=children)
    return Block([block.tokens[0], new_inline, block.tokens[2]], (rest,))


# -- inline tokens ----------------------------------------------------------------------------


def _local_path(url: object) -> str | None:
    """The path of a relative URL (`photo.png`, `docs/a%20b.pdf#p2`), percent-decoded; None for any other."""
    if not isinstance(url, str) or not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme or parts.netloc or not parts.path:
        return None
    return unquote(parts.path)


def _local_refs(children: list[Token], line: int) -> list[LocalRef]:
    out: list[LocalRef] = []
    for i, child in enumerate(children):
        if child.type in ("softbreak", "hardbreak"):
            line += 1
        elif child.type == "image" and (path := _local_path(child.attrGet("src"))) is not None:
            out.append(LocalRef("image", path, _inline_text(child.children or []), line))
        elif child.type == "link_open" and (path := _local_path(child.attrGet("href"))) is not None:
            end = next((j for j in range(i + 1, len(children)) if children[j].type == "link_close"), len(children))
            out.append(LocalRef("link", path, _inline_text(children[i + 1:end]), line))
    return out


def _allowed_url(url: object) -> bool:
    if not isinstance(url, str) or not url:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    if parts.scheme in ("http", "https"):
        return bool(parts.netloc)
    # Relative URLs are refused too: the same HTML goes into feeds and email, where they lead nowhere.
    return parts.scheme == "mailto" and bool(parts.path)


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    # nh3 checks the scheme already; this also refuses relative and host-less links from raw HTML.
    if attribute == "href" and not _allowed_url(value):
        return None
    return value


def _safe_inline(children: list[Token]) -> list[Token]:
    """Links to anything but http(s)/mailto lose their link (not their text); images become links."""
    out: list[Token] = []
    refused = False  # inside a link whose open and close tokens are being dropped
    kept = False  # inside a link that stays
    for child in children:
        if child.type == "link_open":
            if not _allowed_url(child.attrGet("href")):
                refused = True
                continue
            kept = True
        elif child.type == "link_close":
            if refused:
                refused = False
                continue
            kept = False
        elif child.type == "image":
            out.extend(_image_as_link(child, inside_link=kept or refused))
            continue
        out.append(child)
    return out


def _image_as_link(image: Token, *, inside_link: bool) -> list[Token]:
    # No image is loaded: not in pages (a third party would see every reader), not in email
    # (clients block them, and a pixel would track). Its description stays, linked to the picture.
    alt = _inline_text(image.children or [])
    if not alt or _local_path(image.attrGet("src")) is not None:
        return []  # a file beside the release: an attachment, shown with the alt text beside the body
    text = Token("text", "", 0, content=alt)
    src = image.attrGet("src")
    if inside_link or not _allowed_url(src):
        return [text]
    attrs: dict[str, str | int | float] = {"href": str(src)}
    if image.attrGet("title"):
        attrs["title"] = str(image.attrGet("title"))
    return [Token("link_open", "a", 1, attrs=attrs), text, Token("link_close", "a", -1)]


def _inline_text(children: Sequence[Token]) -> str:
    """Plain text of inline tokens: emphasis and tags dropped, a link's URL after its text."""
    parts: list[str] = []
    href: str | None = None
    label_start = 0
    in_script = False  # between raw `<script>` and `</script>` (or style): never text
    for child in children:
        kind = child.type
        if kind == "html_inline":
            tag = child.content.lower()
            if tag.startswith(_HIDDEN_OPEN):
                in_script = True
            elif tag.startswith(_HIDDEN_CLOSE):
                in_script = False
        elif in_script:
            continue
        elif kind in ("text", "code_inline", "text_special"):
            parts.append(child.content)
        elif kind in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif kind == "link_open":
            href = str(child.attrGet("href") or "")
            label_start = len(parts)
        elif kind == "link_close" and href is not None:
            label = normalise_text("".join(parts[label_start:]))
            address = href.removeprefix("mailto:")
            if address and address != label:  # an autolink already shows its address
                # Angle brackets delimit a URL in plain text (RFC 3986, appendix C).
                parts.append(f" <{address}>")
            href = None
        elif kind == "image":
            parts.append(_inline_text(child.children or []))
        # em/strong marks and other raw inline HTML tags carry no text of their own
    return normalise_text("".join(parts))


def _without_empty_emphasis(children: list[Token]) -> list[Token]:
    out: list[Token] = []
    for child in children:
        if child.type == "text" and not child.content:
            continue
        if (child.type in ("em_close", "strong_close") and out
                and out[-1].type == child.type.replace("_close", "_open")):
            out.pop()  # `**GENEVA** – …` leaves `<strong></strong>` once the dateline is gone
            continue
        out.append(child)
    return out


# -- blocks -----------------------------------------------------------------------------------


def _top_level(tokens: list[Token]) -> Iterator[list[Token]]:
    start = 0
    while start < len(tokens):
        end = start
        if tokens[start].nesting == 1:
            # The matching close is the next token back at this level (levels count open blocks).
            while end + 1 < len(tokens) and not (
                    tokens[end].nesting == -1 and tokens[end].level == tokens[start].level):
                end += 1
        yield tokens[start:end + 1]
        start = end + 1


def _plain_paragraphs(tokens: Sequence[Token]) -> Iterator[str]:
    marker = ""  # the list item's marker, put before the item's first paragraph
    for token in tokens:
        if token.type == "list_item_open":
            marker = f"{token.info}. " if token.info else "- "
            continue
        if token.type == "inline":
            texts = [_inline_text(token.children or [])]
        elif token.type in ("code_block", "fence"):
            texts = [normalise_text(line) for line in token.content.splitlines()]
        elif token.type == "html_block":
            texts = [_html_text(token.content)]
        else:
            continue
        for text in texts:
            if text:
                yield marker + text
                marker = ""


def _html_text(fragment: str) -> str:
    # The words of raw HTML without its tags; nh3 drops script and style with their content.
    return normalise_text(html.unescape(nh3.clean(fragment, tags=set(), attributes={})))
