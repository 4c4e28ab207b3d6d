"""Bytes of a listing to text: UTF-8 first, BOMs honoured, charset-normalizer as the fallback."""

from __future__ import annotations

import codecs
import re

from feedsvc.model import ParseError

_BOMS: tuple[tuple[bytes, str], ...] = (
    # UTF-32 first: its LE BOM starts with the UTF-16 LE one.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Among the candidates charset-normalizer finds equally clean, short Western texts tie
# between many code pages (it picks cp1250 for Windows-1252 text and cp775 for
# Latin-1), so the tie is broken by how common the code page is for press releases.
_PREFERRED = (
    "cp1252", "latin_1", "iso8859_15", "cp1254", "iso8859_9", "cp1250", "iso8859_2",
    "cp1251", "koi8_r", "cp1256", "iso8859_6", "cp1253", "cp1255", "mac_roman",
    "gb18030", "big5", "shift_jis", "euc_jp", "euc_kr",
)
_RANK = {name: i for i, name in enumerate(_PREFERRED)}
_TIE = 0.02  # chaos difference under which two decodings are judged equally clean

# Bytes that do not occur in text: C0 controls other than tab, LF, VT, FF, CR, ESC.
_NON_TEXT = frozenset(range(0x20)) - {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1B}
_CONTROL_CHARS = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")


def decode(data: bytes, source_file: str) -> str:
    """Decode a listing's bytes; raises ParseError for empty, binary or undecodable data."""
    if not data:
        raise ParseError(source_file, "empty file")
    text = _decode(data, source_file)
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise ParseError(source_file, "empty file")
    if _looks_binary_text(text):
        raise ParseError(source_file, "binary file (mostly control characters)")
    return text


def _decode(data: bytes, source_file: str) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(encoding)
            except UnicodeDecodeError as exc:
                raise ParseError(
                    source_file, f"undecodable: not valid {encoding} despite its BOM ({exc.reason})"
                ) from None
    if b"\x00" in data:
        text = _utf16_without_bom(data)
        if text is None:
            raise ParseError(source_file, "binary file (NUL bytes)")
        return text
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    sample = data[:4096]
    if sum(1 for b in sample if b in _NON_TEXT) > len(sample) // 10:
        raise ParseError(source_file, "binary file (control bytes)")
    return _detect(data, source_file)


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text without BOM has NULs at every other byte when it is mostly Latin."""
    if len(data) % 2:
        return None
    even = data[0::2].count(0)
    odd = data[1::2].count(0)
    half = len(data) // 2
    if odd > half * 0.3 and even < half * 0.05:
        encoding = "utf-16-le"
    elif even > half * 0.3 and odd < half * 0.05:
        encoding = "utf-16-be"
    else:
        return None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    return None if _looks_binary_text(text) else text


def _detect(data: bytes, source_file: str) -> str:
    # Imported here: most listings are UTF-8 and never pay for loading it.
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data))
    if not matches:
        raise ParseError(source_file, "undecodable: no text encoding fits (binary file?)")
    best = min(m.chaos for m in matches)
    clean = [m for m in matches if m.chaos <= best + _TIE]
    chosen = min(clean, key=lambda m: (_RANK.get(m.encoding, len(_RANK)), m.chaos))
    try:
        return data.decode(chosen.encoding)
    except (UnicodeDecodeError, LookupError):
        raise ParseError(source_file, f"undecodable as {chosen.encoding}") from None


def _looks_binary_text(text: str) -> bool:
    sample = text[:4096]
    if "\x00" in sample:
        return True
    return len(_CONTROL_CHARS.findall(sample)) > len(sample) // 10
