"""The evidence tables of the listing labeller: which label may follow which, and what each line feature says.

Scores are log-odds-like numbers set by hand (see tests/data for the layouts they were set on):
a feature's weight for a label is added to that label's score for the line; `NEVER` rules a
label out. sequence.py computes the features and decodes; changing a reading of a layout is a
change here, with a golden case beside it.
"""

from __future__ import annotations

from typing import Final

from feedsvc.parsing.labels import (
    BODY_FIRST,
    BODY_MORE,
    BYLINE_L,
    DATE_END,
    DATE_POST,
    DATE_PRE,
    HEAD,
    NOISE,
    NOISE_IN,
    ROLE,
    SECTION,
    STANDFIRST,
    TITLE,
    TITLE_MORE,
)

NEVER: Final = -1000.0

# Transition scores (from, to) → score; pairs not listed cannot follow each other.
# A missing date costs up to `UNDATED` in a page whose releases are dated (`_mode_table`).
BASE: Final[dict[tuple[int, int], float]] = {
    (HEAD, HEAD): 0.0, (HEAD, TITLE): 0.0, (HEAD, SECTION): 0.0, (HEAD, BYLINE_L): 0.0,
    (HEAD, DATE_PRE): 0.0, (HEAD, BODY_FIRST): -4.0,
    (SECTION, TITLE): 0.0, (SECTION, DATE_PRE): 0.0, (SECTION, NOISE): -0.5, (SECTION, SECTION): -1.0,
    (DATE_PRE, TITLE): 0.0, (DATE_PRE, NOISE): -0.5, (DATE_PRE, BYLINE_L): 0.0, (DATE_PRE, BODY_FIRST): -3.0,
    (NOISE, NOISE): 0.0, (NOISE, TITLE): 0.0, (NOISE, DATE_PRE): 0.0, (NOISE, SECTION): 0.0,
    # A body after noise that follows no title is a release without one: rare.
    (NOISE, BYLINE_L): 0.0, (NOISE, BODY_FIRST): -5.0, (NOISE, DATE_POST): -1.0,
    # Noise inside a release's head (a tag or field line between its title and its body).
    (NOISE_IN, NOISE_IN): 0.0, (NOISE_IN, BODY_FIRST): -0.5, (NOISE_IN, DATE_POST): -1.0,
    (NOISE_IN, BYLINE_L): 0.0, (NOISE_IN, TITLE): -1.0, (NOISE_IN, DATE_PRE): -1.0,
    (TITLE, NOISE_IN): -1.4, (DATE_POST, NOISE_IN): -1.0, (BYLINE_L, NOISE_IN): -2.0,
    (TITLE, TITLE_MORE): -1.0, (TITLE, DATE_POST): 0.0, (TITLE, BYLINE_L): 0.0, (TITLE, STANDFIRST): 0.0,
    (TITLE, BODY_FIRST): 0.0, (TITLE, NOISE): -1.5, (TITLE, TITLE): -3.0, (TITLE, DATE_PRE): -2.5,
    (TITLE, SECTION): -2.5,
    (DATE_POST, BODY_FIRST): 0.0, (DATE_POST, BYLINE_L): 0.0, (DATE_POST, STANDFIRST): 0.0,
    (DATE_POST, TITLE): -0.5, (DATE_POST, NOISE): -1.0, (DATE_POST, SECTION): -1.0,
    (DATE_POST, DATE_PRE): -1.5,
    (BYLINE_L, ROLE): 0.0, (BYLINE_L, STANDFIRST): 0.0, (BYLINE_L, BODY_FIRST): 0.0,
    (BYLINE_L, DATE_POST): 0.0, (BYLINE_L, NOISE): -2.0,
    (ROLE, STANDFIRST): 0.0, (ROLE, BODY_FIRST): 0.0, (ROLE, DATE_POST): 0.0,
    (STANDFIRST, BODY_FIRST): 0.0, (STANDFIRST, BYLINE_L): 0.0,
    (STANDFIRST, DATE_POST): -2.0,  # title, standfirst, date line, body: rare but for the feature that says so
}
for _body in (BODY_FIRST, BODY_MORE):
    BASE.update({
        (_body, BODY_MORE): 0.0, (_body, NOISE): -0.5, (_body, TITLE): 0.0, (_body, DATE_PRE): 0.0,
        (_body, SECTION): -0.5, (_body, BYLINE_L): -1.0,
    })
BASE[(TITLE_MORE, TITLE_MORE)] = -2.0
for (_a, _b), _w in list(BASE.items()):
    if _a == TITLE and _b != TITLE_MORE:
        BASE[(TITLE_MORE, _b)] = _w

# Pages whose date lines close their releases (title, teaser, then the date): only in that
# reading of a page (`sequence._mode_table`), where DATE_PRE and DATE_POST open nothing.
CLOSING: Final[dict[tuple[int, int], float]] = {
    (BODY_FIRST, DATE_END): 0.0, (BODY_MORE, DATE_END): 0.0, (TITLE, DATE_END): 0.0, (TITLE_MORE, DATE_END): 0.0,
    (NOISE_IN, DATE_END): -1.0, (NOISE, DATE_END): -1.0,  # tags glued between a body and its date
    (DATE_END, TITLE): 0.0, (DATE_END, NOISE): 0.0, (DATE_END, SECTION): -0.5, (DATE_END, DATE_PRE): -1.5,
}

UNDATED: Final = 2.0
BEAM: Final = 16.0
ENDS: Final = {STANDFIRST: NEVER, ROLE: NEVER, DATE_PRE: -2.0, SECTION: -2.0}
STARTS: Final = {HEAD: 0.0, DATE_PRE: 0.0, TITLE: 0.0, SECTION: 0.0, BYLINE_L: 0.0, BODY_FIRST: -4.0}


# Emission weights: feature → {label: score}. A line's score for a label is the sum
# over its features; `_emissions` computes the features.
WEIGHTS: Final[dict[str, dict[int, float]]] = {
    "bias": {STANDFIRST: -3, ROLE: -2, SECTION: -1, NOISE: -2, TITLE_MORE: -1, HEAD: -0.5},
    "many_words": {SECTION: -4, ROLE: -3, BODY_FIRST: 0.5, BODY_MORE: 0.5},
    # Before the page's first date, dateline or byline (less the line right above it,
    # which may be the first title) stands the page's own header.
    "pre_anchor": {HEAD: 2},
    "named_title": {TITLE: 4, HEAD: -3, NOISE: -3, NOISE_IN: -3, SECTION: -3, BODY_FIRST: -2, BODY_MORE: -2},
    "date": {DATE_PRE: 8, DATE_POST: 8, HEAD: -1, NOISE: -2, TITLE: -10, TITLE_MORE: -10, BODY_FIRST: -10,
             BODY_MORE: -10, SECTION: -10, STANDFIRST: -10, ROLE: -10},
    "tagged_date": {DATE_PRE: -0.5, DATE_POST: -0.5},
    "updated": {DATE_PRE: -9, DATE_POST: -9, HEAD: 6, NOISE: 4},
    "not_date": {DATE_PRE: NEVER, DATE_POST: NEVER},
    "byline": {BYLINE_L: 9, HEAD: -4, NOISE: -5, TITLE: -8, TITLE_MORE: -8, BODY_FIRST: -8, BODY_MORE: -8,
               SECTION: -8, STANDFIRST: -8, ROLE: -8},
    "not_byline": {BYLINE_L: NEVER},
    "dateline": {BODY_FIRST: 3, BODY_MORE: -8, TITLE: -6, TITLE_MORE: -6, SECTION: -6, HEAD: -3, NOISE: -5,
                 STANDFIRST: -6, ROLE: -6},
    "gazetteer_dateline": {BODY_FIRST: 1, BODY_MORE: -1},
    "weak_dateline": {BODY_FIRST: 1.5, BODY_MORE: -3, TITLE: -1, SECTION: -2},
    "next_byline": {TITLE: 3},
    "dated_title": {TITLE: 1.5, BODY_FIRST: -1},
    # In a page that separates its blocks with blank lines, a line glued under a body
    # paragraph goes on with it.
    "glued_to_body": {BODY_MORE: 1.5, TITLE: -1.5, SECTION: -2},
    "caseless": {TITLE: 1, BODY_FIRST: -0.5, BODY_MORE: -0.5},
    "month_heading": {SECTION: 2, NOISE: 2, HEAD: 1, TITLE: -5, BODY_FIRST: -5, BODY_MORE: -5},
    "leftover": {NOISE: 5, HEAD: 2, TITLE: -8, TITLE_MORE: -8, BODY_FIRST: -6, BODY_MORE: -6, SECTION: -6,
                 STANDFIRST: -6, ROLE: -6},
    "chrome": {HEAD: 2, NOISE: 2, TITLE: -4, BODY_FIRST: -3, BODY_MORE: -3, SECTION: -3, STANDFIRST: -4},
    "count": {HEAD: 3, NOISE: 3, TITLE: -6, BODY_FIRST: -6, BODY_MORE: -6, SECTION: -6},
    "tag": {NOISE: 3, HEAD: 1, TITLE: -5, TITLE_MORE: -5, BODY_FIRST: -3, BODY_MORE: -3, SECTION: -1, STANDFIRST: -3,
            ROLE: -2},
    "repeated": {NOISE: 2, TITLE: -3, BODY_FIRST: -3, BODY_MORE: -3, STANDFIRST: -3},
    "caption": {NOISE: 4, HEAD: 1, TITLE: -4, TITLE_MORE: -4, BODY_FIRST: -2, BODY_MORE: -2, SECTION: -4},
    "heading": {TITLE: 2, TITLE_MORE: 1, SECTION: 1, HEAD: 1, BODY_FIRST: -1, BODY_MORE: -1.5, ROLE: 1},
    "titleish": {TITLE: 1, BODY_FIRST: -0.5, BODY_MORE: -1.5, STANDFIRST: -2},
    "not_heading": {SECTION: -5, TITLE_MORE: -3, ROLE: -3},
    "long": {TITLE: -3, TITLE_MORE: -3, SECTION: -6, NOISE: -3, BODY_FIRST: 2, BODY_MORE: 2, HEAD: 2,
             STANDFIRST: -1, ROLE: -6},
    "very_long": {TITLE: -6, TITLE_MORE: -6, SECTION: -6, NOISE: -3, HEAD: -1, STANDFIRST: -3},
    "period_end": {TITLE: -3.5, TITLE_MORE: -1, SECTION: -2},
    "contact": {BODY_MORE: 3, TITLE: -5, TITLE_MORE: -3, SECTION: -5, BODY_FIRST: -1, NOISE: 2},
    "after_colon": {BODY_MORE: 2, TITLE: -5, SECTION: -3, NOISE: 1.5, BODY_FIRST: -3},
    "open_end": {TITLE: 1, HEAD: -2, SECTION: -3, NOISE: -1},
    "continues_title": {TITLE_MORE: 4, TITLE: -2},
    "after_short_heading": {TITLE_MORE: -4},
    "topic_over_title": {NOISE: 3, TITLE: -2},
    "cut_end": {TITLE: -2, SECTION: -3, BODY_FIRST: 1, BODY_MORE: 1},
    "wraps_sentence": {TITLE: -4, TITLE_MORE: -4, SECTION: -4, BODY_FIRST: 1, BODY_MORE: 1},
    "continues_sentence": {BODY_MORE: 3, TITLE_MORE: -2, BODY_FIRST: -2},
    "indented_under": {DATE_POST: 3, DATE_PRE: -3, BODY_FIRST: 0.5},
    "ends_sentence": {TITLE: -0.5, TITLE_MORE: -1, SECTION: -4, BODY_FIRST: 1, BODY_MORE: 1, STANDFIRST: 0.5, HEAD: 1,
                 ROLE: -1},
    "sentences": {TITLE: -2, TITLE_MORE: -2, SECTION: -3, NOISE: -1},
    "teaser": {BODY_FIRST: 1.5, BODY_MORE: 1, TITLE: -3, TITLE_MORE: -3, SECTION: -4},
    "lower": {TITLE: -4, SECTION: -5, BODY_MORE: 0.5},
    "colon_end": {TITLE: -3, SECTION: -2},
    "short": {BODY_FIRST: -1, BODY_MORE: -1, ROLE: 1},
    "bullet": {TITLE: 0.5},
    "item_bullet": {TITLE: 3, BODY_FIRST: -1, BODY_MORE: -1.5},
    "glued_above": {DATE_POST: 1.5, DATE_PRE: -1.5},
    # Glued under a teaser, a blank line or the page's end below: the date closes that item.
    "closes_block": {DATE_END: 2, DATE_PRE: -1.5, DATE_POST: -1},
    "glued_below": {DATE_PRE: 1.5, DATE_POST: -1.5},
    "over_byline_under_title": {DATE_POST: 3, DATE_PRE: -1},
    "one_word": {TITLE: -2, SECTION: -0.5},
    "gap": {TITLE_MORE: NEVER, ROLE: NEVER, SECTION: 1},
    "no_gap": {SECTION: -1},
    "next_dateline": {TITLE: 2, TITLE_MORE: 2, STANDFIRST: 3},
    # A sentence glued between a title and the byline under it summarises the piece: bylines
    # open a piece, so a body paragraph does not stand right above one.
    "before_byline": {STANDFIRST: 5, BODY_FIRST: -2, BODY_MORE: -2},
    "before_dated_dateline": {STANDFIRST: 5, BODY_FIRST: -2, BODY_MORE: -2},
    # The last line of a date's block with a heading after the blank line: an image
    # caption between the date and its title.
    "caption_slot": {NOISE: 2, TITLE: -1.5},
    "next_paragraph": {TITLE: 1.5, BODY_FIRST: -1},
    "below_date": {NOISE: 1},
    # One short sentence opening a block, its date glued under it: a title even though it ends
    # with a full stop (`Minister opens new maternity ward in Kisumu.`), which lines shaped
    # like headings need no help to be.
    "over_date": {TITLE: 3, BODY_MORE: -2},
}
# Noise inside a release's head looks like any other noise; a date closing a release like one under its title.
for _weights in WEIGHTS.values():
    if NOISE in _weights:
        _weights[NOISE_IN] = _weights[NOISE]
    if DATE_POST in _weights and DATE_END not in _weights:
        _weights[DATE_END] = _weights[DATE_POST]


