"""Per-string clean-up shared by every output string, and line splitting."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

# Removed outright: C0/C1 controls (lxml refuses them in feeds, see NOTES.md), the
# non-characters U+FFFE/U+FFFF, unpaired surrogates (they cannot be encoded as UTF-8),
# and invisible joiners that scraping leaves inside words (ZWSP, word joiner, BOM).
# U+200C/U+200D are kept on purpose: Persian, Indic scripts and emoji need them.
# Tabs, NBSP and friends are not listed: str.split() folds them below.
_REMOVED: Final = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u2060\ufeff\ufffe\uffff\ud800-\udfff]"
)
# str.split() with no argument splits on every Unicode space (incl. U+00A0, U+2007,
# U+202F, U+2000-U+200A, U+3000, tab, U+2028/9), which is exactly the folding wanted.
_LINE_BREAK: Final = re.compile(r"\r\n?|\n")


def normalise_text(text: str) -> str:
    """NFC, odd spaces folded to one space, invisible and control characters removed, stripped."""
    if _REMOVED.search(text) is not None:
        text = _REMOVED.sub("", text)
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return " ".join(text.split())


def is_clean(text: str) -> bool:
    """Whether normalise_text() would only fold spaces in every line of `text`: nothing to remove,
    already NFC. Line breaks neither compose nor are removed, so a clean text has clean lines."""
    return _REMOVED.search(text) is None and (text.isascii() or unicodedata.is_normalized("NFC", text))


def remove_controls(text: str) -> str:
    """Only the removal step of normalise_text, keeping line breaks and tabs (for YAML)."""
    return _REMOVED.sub("", text) if _REMOVED.search(text) is not None else text


def split_lines(text: str) -> list[str]:
    """Split on CRLF, CR or LF only, so line numbers match what an editor shows."""
    if "\r" not in text:
        return text.split("\n")
    return _LINE_BREAK.split(text)
