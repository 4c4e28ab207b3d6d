"""Bytes of a listing to text: BOMs honoured, UTF-8 first, charset-normalizer as the fallback.

A good file is never garbled to save a bad byte (issue 11, item 4): a UTF-8 file with a stray invalid
byte stays UTF-8 (the byte becomes U+FFFD), NUL bytes in a text are dropped, and each repair is
reported as a `ParseWarning` naming the line. Only a file that is mostly control bytes is binary.
"""

from __future__ import annotations

import bisect
import codecs
import re
from collections.abc import Callable
from typing import AnyStr

from feedsvc.model import ParseError, ParseWarning

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

# Control codes no text holds: C0 but tab, LF, VT, FF, CR and ESC, and DEL. NUL is counted apart,
# since a text can carry stray NULs (a crashed editor's padding, a bad export) and stay a text.
_CONTROL_BYTES = bytes(sorted((set(range(0x20)) - {0x00, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1B}) | {0x7F}))
_CONTROL_CHARS = re.compile("[\x01-\x08\x0e-\x1a\x1c-\x1f\x7f]")
_NUL_RUNS_BYTES = re.compile(b"\x00+")
_NUL_RUNS = re.compile("\x00+")
# Random bytes (compressed or executable data) are about 10% control codes and break into a NUL run
# every few dozen bytes; text, even pasted from a word processor, has well under 1% of either.
_BINARY_SHARE = 0.05
_SAMPLE = 65536
# Lead bytes of UTF-8 multi-byte sequences: a valid one is a character only UTF-8 explains.
_LEAD_BYTES = bytes(range(0xC2, 0xF5))
# The line breaks split_lines() knows, so a warning's line is the one an editor shows.
_LINE_BREAKS_BYTES = re.compile(b"\r\n?|\n")
_LINE_BREAKS = re.compile("\r\n?|\n")
_LINES_NAMED = 10  # lines named one by one per kind of repair; the rest are summed up in one more warning


def decode(data: bytes, source_file: str) -> str:
    """Decode a listing's bytes; raises ParseError for empty, binary or undecodable data."""
    return decode_with_warnings(data, source_file)[0]


def decode_with_warnings(data: bytes, source_file: str) -> tuple[str, tuple[ParseWarning, ...]]:
    """The text of a listing's bytes and what was repaired to get it (see the module docstring).

    Raises ParseError for empty, binary or undecodable data.
    """
    if not data:
        raise ParseError(source_file, "empty file")
    warnings: list[ParseWarning] = []
    text = _decode(data, source_file, warnings).removeprefix("\ufeff")
    reason = _binary_text(text)
    if reason:
        raise ParseError(source_file, reason)
    if "\x00" in text:  # a UTF-16 or UTF-32 text with NUL characters
        text = _drop_nuls(text, source_file, warnings)
    if not text.strip():
        raise ParseError(source_file, "empty file")
    return text, tuple(sorted(warnings, key=lambda w: w.line or 0))  # in file order, as the office reads


def _decode(data: bytes, source_file: str, warnings: list[ParseWarning]) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            if encoding == "utf-8":
                # The BOM stays in while counting: it is one more valid multi-byte sequence.
                text = _utf8(data, source_file, warnings)
                if text is None:
                    raise ParseError(source_file, "undecodable: not valid utf-8 despite its BOM "
                                     "(more invalid byte sequences than valid characters)")
                return text
            try:
                return data[len(bom):].decode(encoding)
            except UnicodeDecodeError as exc:
                raise ParseError(
                    source_file, f"undecodable: not valid {encoding} despite its BOM ({exc.reason})"
                ) from None
    if b"\x00" in data:
        text = _utf16_without_bom(data)
        if text is not None:
            return text
    reason = _binary_bytes(data)
    if reason:
        raise ParseError(source_file, reason)
    if b"\x00" in data:
        data = _drop_nuls(data, source_file, warnings)
        if not data:
            raise ParseError(source_file, "empty file (only NUL bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = _utf8(data, source_file, warnings)
    return text if text is not None else _detect(data, source_file)


def _binary_bytes(data: bytes) -> str | None:
    """Why these bytes are a binary file, or None: judged by shares, never by one byte."""
    sample = data[:_SAMPLE]
    nuls = sample.count(0)
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    runs = sum(1 for _ in _NUL_RUNS_BYTES.finditer(sample)) if nuls else 0
    return _binary_reason(len(sample) - nuls, controls, runs)


def _binary_text(text: str) -> str | None:
    sample = text[:_SAMPLE]
    nuls = sample.count("\x00")
    controls = sum(1 for _ in _CONTROL_CHARS.finditer(sample))
    runs = sum(1 for _ in _NUL_RUNS.finditer(sample)) if nuls else 0
    return _binary_reason(len(sample) - nuls, controls, runs)


def _binary_reason(other: int, controls: int, nul_runs: int) -> str | None:
    # Shares of the characters that are not NUL: a text padded with NULs is still a text. Nothing
    # but NULs is no text at all, and said so once they are dropped.
    if other == 0:
        return None
    if controls > other * _BINARY_SHARE:
        return "binary file (control bytes)"
    if nul_runs > other * _BINARY_SHARE:
        return "binary file (NUL bytes)"
    return None


def _utf8(data: bytes, source_file: str, warnings: list[ParseWarning]) -> str | None:
    """UTF-8 with each invalid sequence as U+FFFD, warned about; None when the bytes are not mostly UTF-8.

    Mostly UTF-8: at least one valid multi-byte character, and no more invalid sequences than valid
    multi-byte characters. A Windows-1252 file has an invalid sequence at nearly every accented letter
    and a valid pair only by chance (an accented capital before a curly quote); a UTF-8 file with a
    stray byte keeps its accents, dashes and quotes valid around it. Pure ASCII with a few high bytes
    is nothing but a legacy code page, whose decoding garbles nothing.
    """
    leads = len(data) - len(data.translate(None, _LEAD_BYTES))
    view = memoryview(data)
    pieces: list[str] = []
    bad: list[tuple[int, int]] = []
    pos = 0
    while True:
        try:
            pieces.append(codecs.utf_8_decode(view[pos:], "strict", True)[0])
            break
        except UnicodeDecodeError as exc:
            start, end = pos + exc.start, pos + exc.end
            bad.append((start, end))
            if len(bad) > leads:  # cannot be mostly UTF-8 any more: a legacy file stops here
                return None
            pieces.append(codecs.utf_8_decode(view[pos:start], "strict", True)[0])
            pieces.append("\ufffd")
            pos = end
    valid = leads - sum(1 for start, _ in bad if data[start] in _LEAD_BYTES)
    if valid == 0 or len(bad) > valid:
        return None
    lines = _lines_of(data, [start for start, _ in bad])
    _warn(source_file, warnings, "invalid UTF-8 bytes replaced with U+FFFD", _invalid_utf8_message,
          [(line, " ".join(f"0x{b:02X}" for b in data[start:end])) for line, (start, end) in zip(lines, bad, strict=False)])
    return "".join(pieces)


def _invalid_utf8_message(sequences: list[str]) -> str:
    if len(sequences) == 1:
        noun = "bytes" if " " in sequences[0] else "byte"
        return f"invalid UTF-8 {noun} {sequences[0]} replaced with U+FFFD"
    return f"{len(sequences)} invalid UTF-8 sequences ({', '.join(sequences)}) replaced with U+FFFD"


def _drop_nuls(buf: AnyStr, source_file: str, warnings: list[ParseWarning]) -> AnyStr:
    """The text without its NULs, each line that had some warned about."""
    if isinstance(buf, bytes):
        runs = [(m.start(), m.end() - m.start()) for m in _NUL_RUNS_BYTES.finditer(buf)]
        kept = buf.replace(b"\x00", b"")
    else:
        runs = [(m.start(), m.end() - m.start()) for m in _NUL_RUNS.finditer(buf)]
        kept = buf.replace("\x00", "")
    lines = _lines_of(buf, [start for start, _ in runs])
    _warn(source_file, warnings, "NUL bytes dropped",
          lambda counts: f"{_count(sum(map(int, counts)), 'NUL byte')} dropped",
          [(line, str(n)) for line, (_, n) in zip(lines, runs, strict=False)])
    return kept


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _lines_of(buf: str | bytes, offsets: list[int]) -> list[int]:
    """The 1-based line of each offset, counting CRLF, CR and LF as split_lines() does."""
    if isinstance(buf, bytes):
        ends = [m.end() for m in _LINE_BREAKS_BYTES.finditer(buf)]
    else:
        ends = [m.end() for m in _LINE_BREAKS.finditer(buf)]
    return [bisect.bisect_right(ends, offset) + 1 for offset in offsets]


def _warn(source_file: str, warnings: list[ParseWarning], what: str,
          message: Callable[[list[str]], str], found: list[tuple[int, str]]) -> None:
    """One warning per line for the first _LINES_NAMED lines, then one summing up the rest."""
    by_line: dict[int, list[str]] = {}
    for line, detail in found:
        by_line.setdefault(line, []).append(detail)
    lines = sorted(by_line)
    for line in lines[:_LINES_NAMED]:
        warnings.append(ParseWarning(source_file, line, message(by_line[line])))
    rest = lines[_LINES_NAMED:]
    if rest:
        warnings.append(ParseWarning(
            source_file, rest[0], f"{what} on {_count(len(rest), 'more line')} (up to line {rest[-1]})"))


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
    return None if _binary_text(text) else text


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
