"""A saved page's bytes to text: its BOM, XML declaration or meta charset, as a browser reads them."""

from __future__ import annotations

import codecs
import email.message

import lxml.etree
import lxml.html

from feedsvc.model import ParseWarning
from feedsvc.parsing.decoding import decode_with_warnings

_PRESCAN = 16_384  # the charset declaration sits in <head>, well inside this
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# The WHATWG Encoding Standard's label table: browsers decode pages labelled Latin-1 or ASCII
# as windows-1252 (and Latin-5 as windows-1254), and a page that could be read far enough to
# find its meta tag is not UTF-16, whatever the tag says.
_BROWSER_CODECS = {
    "iso8859-1": "cp1252", "ascii": "cp1252", "iso8859-9": "cp1254", "gb2312": "gb18030",
    "gbk": "gb18030", "utf-16": "utf-8", "utf-16-le": "utf-8", "utf-16-be": "utf-8",
}


def decode_page(data: bytes, source_file: str) -> tuple[str, tuple[ParseWarning, ...]]:
    # A BOM outranks the page's declaration (HTML Standard, "encoding sniffing"), and NULs
    # mean UTF-16 without one: both are what the listings' decoder already reads.
    if data.startswith(_BOMS) or b"\x00" in data[:_PRESCAN]:
        return decode_with_warnings(data, source_file)
    encoding = _declared_encoding(data[:_PRESCAN])
    if encoding is None:
        return decode_with_warnings(data, source_file)
    try:
        return data.decode(encoding), ()
    except (UnicodeDecodeError, LookupError):
        pass
    # A mislabelled page (saved as UTF-8 by an editor that kept the old meta tag, say): read
    # as any listing is read, and say so.
    text, warnings = decode_with_warnings(data, source_file)
    note = ParseWarning(source_file, None, f"the page declares charset {encoding} but is not in it; "
                        "its encoding was detected instead")
    return text, (note, *warnings)


def _declared_encoding(head: bytes) -> str | None:
    """The charset an XML declaration or a meta element of the page's start names, as a codec."""
    if head.lstrip().startswith(b"<?xml"):
        end = head.find(b"?>")
        if end > 0:
            try:
                declared = lxml.etree.fromstring(head[: end + 2] + b"<x/>").getroottree().docinfo.encoding
            except lxml.etree.XMLSyntaxError:
                declared = None
            if declared:
                return _codec(declared)
    # Latin-1 maps every byte to a character, and the declaration itself is ASCII.
    parser = lxml.html.HTMLParser(encoding="iso-8859-1", remove_comments=True, remove_pis=True)
    try:
        root = lxml.html.document_fromstring(head, parser=parser)
    except (lxml.etree.ParserError, ValueError):
        return None
    for meta in root.iter("meta"):
        label = meta.get("charset")
        if not label and (meta.get("http-equiv") or "").strip().lower() == "content-type":
            content = email.message.Message()
            content["content-type"] = meta.get("content") or ""
            label = content.get_content_charset()
        if label:
            return _codec(label)
    return None


def _codec(label: str) -> str | None:
    try:
        name = codecs.lookup(label.strip().strip("\"'").lower()).name
    except LookupError:
        return None
    return _BROWSER_CODECS.get(name, name)
