"""Press-release listings and Markdown files to `Release`s; ParseError is the only error bad input raises."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from feedsvc.parsing import compiled

compiled.run_sources_if_stale()  # before any compiled module is imported (see compiled.py)

from feedsvc.model import ParseError, ParseWarning, Release
from feedsvc.parsing.decoding import decode, decode_with_warnings
from feedsvc.parsing.drafts import finish
from feedsvc.parsing.html import HtmlText, html_to_text, is_html_name, with_links
from feedsvc.parsing.listing import parse_listing
from feedsvc.parsing.markdown import has_front_matter, parse_markdown
from feedsvc.parsing.normalise import normalise_text

__all__ = ["ParseError", "ParseWarning", "Parsed", "decode", "decode_with_warnings", "embargo_warnings",
           "normalise_text",
           "parse_bytes", "parse_file", "parse_file_with_warnings", "parse_text", "read_listing"]

_MARKDOWN_SUFFIXES = (".md", ".markdown")


def parse_text(text: str, source_file: str, *, markdown: bool | None = None) -> list[Release]:
    """The releases of a listing (or of a Markdown file), in file order."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise ParseError(source_file, "empty file")
    if markdown is None and is_html_name(source_file):
        return _parse_page(html_to_text(text, source_file), source_file)
    if markdown is None:
        markdown = source_file.lower().endswith(_MARKDOWN_SUFFIXES) or has_front_matter(text)
    releases = parse_markdown(text, source_file) if markdown else finish(parse_listing(text), source_file)
    if not releases:
        raise ParseError(source_file, "no release found")
    return releases


@dataclasses.dataclass(frozen=True, slots=True)
class Parsed:
    """A listing's releases and what was repaired on the way to them (the file was still used)."""

    releases: list[Release]
    warnings: tuple[ParseWarning, ...] = ()


def read_listing(data: bytes, source_file: str) -> Parsed:
    """Decode then parse a listing's bytes, keeping the decoder's warnings and the embargoes'."""
    if is_html_name(source_file):
        page = html_to_text(data, source_file)  # decoded by the page's own charset declaration
        releases = _parse_page(page, source_file)
        return Parsed(releases, (*page.warnings, *embargo_warnings(releases, source_file)))
    text, warnings = decode_with_warnings(data, source_file)
    releases = parse_text(text, source_file)
    # A Markdown release's own warnings: front matter entries it could not use (parsing/attached.py).
    own = [w for r in releases for w in r.warnings]
    return Parsed(releases, (*warnings, *embargo_warnings(releases, source_file), *own))


def embargo_warnings(releases: list[Release], source_file: str) -> list[ParseWarning]:
    """A warning per embargo that could not be read (its release is held) or was read by a choice."""
    out = []
    for r in releases:
        e = r.embargo
        if e is None or e.note is None:
            continue
        if e.wall is None:
            message = (f"embargo {e.text!r} not understood ({e.note}): {r.title[:60]!r} is held, "
                       "published nowhere, until the line is corrected")
        else:
            message = f"embargo {e.text!r}: {e.note}"
        out.append(ParseWarning(source_file, e.line, message))
    return out


def _parse_page(page: HtmlText, source_file: str) -> list[Release]:
    # A saved web page's lines are read as a text listing: the text parser decides what is a release.
    return with_links(parse_text(page.text, source_file, markdown=False), page)


def parse_bytes(data: bytes, source_file: str) -> list[Release]:
    """Decode then parse a listing's bytes."""
    return read_listing(data, source_file).releases


def parse_file(path: str | os.PathLike[str], *, max_bytes: int = 20_000_000) -> list[Release]:
    """Read and parse one content file; its base name becomes `source_file`."""
    return parse_file_with_warnings(path, max_bytes=max_bytes).releases


def parse_file_with_warnings(path: str | os.PathLike[str], *, max_bytes: int = 20_000_000) -> Parsed:
    """Read and parse one content file, keeping the warnings; its base name becomes `source_file`."""
    file = Path(path)
    source_file = file.name
    try:
        with file.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                raise ParseError(source_file, f"file too large ({size} bytes, limit {max_bytes})")
            # One byte past the limit catches a file that grew after the stat.
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise ParseError(source_file, f"cannot read file: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise ParseError(source_file, f"file too large ({len(data)}+ bytes, limit {max_bytes})")
    return read_listing(data, source_file)
