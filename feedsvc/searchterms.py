"""Search input and output as data: a visitor's query made into plain words, and a marked
snippet made into safe HTML. No database here; storage/search.py uses both."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

# Private-use characters the database puts around each match (FTS5 snippet(), ts_headline);
# they become <mark> only after the text around them is escaped.
START, END = "\ue000", "\ue001"
# What PostgreSQL's ts_headline is given in place of "<": it would take "<script>" in plain text
# for a tag and drop it from the snippet. Put back before escaping.
LT = "\ue002"
MAX_TERMS = 32
MAX_TERM_LENGTH = 100
# Letters and digits only: no quote, operator, asterisk or parenthesis of either database's
# query syntax survives, and no NUL (which PostgreSQL refuses in text).
_WORD = re.compile(r"[^\W_]+")


def terms(query: str) -> list[str]:
    """The words of `query`, lower-cased, each once, at most MAX_TERMS of them."""
    words = (w.lower()[:MAX_TERM_LENGTH] for w in _WORD.findall(query))
    return list(dict.fromkeys(words))[:MAX_TERMS]


def fts5_match(words: list[str]) -> str:
    """An FTS5 MATCH expression: every word, each a quoted string (so AND, NEAR or * are words)."""
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)


def marked_html(text: str) -> Markup:
    """`text` escaped, its START…END spans as <mark>. A marker the release's own text held
    cannot open a tag that is never closed: marks are balanced here, whatever the input."""
    out: list[str] = []
    open_ = False
    for part in re.split(f"([{START}{END}])", text.replace(LT, "<")):
        if part == START:
            if not open_:
                out.append("<mark>")
            open_ = True
        elif part == END:
            if open_:
                out.append("</mark>")
            open_ = False
        else:
            out.append(str(escape(part)))
    if open_:
        out.append("</mark>")
    return Markup("".join(out))
