"""Label a listing's lines as a whole: a scored sequence decoded by dynamic programming.

Each line gets a score for every label from its own features and its neighbours'
(`_all_emissions`), each pair of consecutive labels a score for how releases are built
(`_mode_table`: a title is followed by a date line, a byline or a body; a dateline
opens only the first body paragraph), and Viterbi picks the labelling with the best
total. A new layout is new evidence in these tables, not a new branch of code.

Whether date lines stand above their titles or under them is a property of the page,
not of one line, so the page is decoded both ways and the better whole wins.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from typing import Final

from feedsvc.parsing import labels as L
from feedsvc.parsing import weights
from feedsvc.parsing.lines import BYLINE, DATE, Line, title_case

_BASE, _W, _STARTS, _ENDS = weights.BASE, weights.WEIGHTS, weights.STARTS, weights.ENDS
_N, _NEVER, _UNDATED, _BEAM = L.N, weights.NEVER, weights.UNDATED, weights.BEAM

__all__ = ["label_lines"]


# The ways a page may place its date lines: under titles, above them, or closing each release.
UNDER: Final = 0
ABOVE: Final = 1
CLOSING: Final = 2


@functools.lru_cache(maxsize=12)
def _mode_table(reading: int, dated: float, bodies: bool) -> list[list[tuple[int, float]]]:
    """The labels that may follow each label, with their scores, for one reading of the page."""
    table: dict[tuple[int, int], float] = dict(_BASE)
    if bodies:
        # Where releases have bodies, a title with a date and nothing else is rare.
        table[(L.DATE_POST, L.TITLE)] -= 1.5
    if reading == ABOVE:
        # Dates stand above titles: a date under a title can only follow a byline.
        for key in list(table):
            if key[1] == L.DATE_POST and key[0] != L.BYLINE_L:
                del table[key]
        if dated:
            for key in list(table):
                if key[1] == L.TITLE and key[0] not in (L.DATE_PRE, L.SECTION, L.NOISE):
                    table[key] -= _UNDATED * dated
    else:
        # Dates stand under titles: a date above opens only an op-ed's byline.
        for key in list(table):
            if key[0] == L.DATE_PRE and key[1] != L.BYLINE_L:
                del table[key]
        if reading == CLOSING:
            # Dates close releases: one under a title is one with no body, and a release
            # that ends without its date is what the page's dating makes rare.
            for key in list(table):
                if key[1] == L.DATE_POST and key[0] != L.BYLINE_L:
                    del table[key]
            table.update(weights.CLOSING)
            if dated:
                for key in list(table):
                    if key[1] == L.TITLE and key[0] not in (L.DATE_END, L.SECTION, L.NOISE, L.HEAD):
                        table[key] -= _UNDATED * dated
        elif dated:
            for key in list(table):
                if key[0] in (L.TITLE, L.TITLE_MORE) and key[1] in (L.BODY_FIRST, L.STANDFIRST, L.BYLINE_L, L.TITLE):
                    table[key] -= _UNDATED * dated
    # For each label, the labels it may follow (in label order) and the transitions' scores.
    pred: list[list[tuple[int, float]]] = [[] for _ in range(_N)]
    for (a, b), w in sorted(table.items()):
        pred[b].append((a, w))
    return pred


def label_lines(lines: Sequence[Line]) -> list[int]:
    """The best labelling of a listing's lines (a label of labels.py per line)."""
    if not lines:
        return []
    emissions, beams = _all_emissions(lines)
    # How much a missing date costs follows how many of the page's releases have one:
    # date lines over the lines that could be titles, in quarters (so tables are shared).
    dates = sum(1 for line in lines if line.kind == DATE and not line.updated)
    heads = sum(1 for line in lines if line.gap and line.titleish) or 1
    share = dates / heads
    dated = 0.0 if dates < 2 else 1.0 if share >= 0.5 else round(4 * share) / 4
    bodies = sum(1 for line in lines if len(line.text) > 120) >= 2
    best: tuple[float, list[int]] | None = None
    # Without date lines both readings are the same page: decode it once. Dates closing
    # releases are read only where one date line closes a block of text.
    readings: tuple[int, ...] = (UNDER,)
    if any(line.kind == DATE for line in lines):
        readings = (UNDER, ABOVE, CLOSING) if any(_closes_block(lines, i) for i in range(len(lines))) \
            else (UNDER, ABOVE)
    for reading in readings:
        score, labels = _viterbi(emissions, beams, _mode_table(reading, dated, bodies))
        if best is None or score > best[0]:
            best = (score, labels)
    assert best is not None
    return best[1]


def _closes_block(lines: Sequence[Line], i: int) -> bool:
    """A date line glued under a line of text that is no heading, with a blank line (or the end) below.

    Leftovers and tags glued under the date (`Read more`) still belong to the item it closes.
    """
    line = lines[i]
    if line.kind != DATE or line.gap or line.updated or i == 0:
        return False
    # Tag lines glued between the text and its date (`From: Department for Education`) are the
    # item's too: the text above them is what the date closes.
    k = i - 1
    while k > 0 and not lines[k].gap and lines[k].tag and lines[k].kind not in (DATE, BYLINE) and i - k < 4:
        k -= 1
    prev = lines[k]
    if prev.kind in (DATE, BYLINE) or prev.heading:
        return False
    j = i + 1
    while j < len(lines) and not lines[j].gap and (lines[j].leftover or lines[j].tag) and j - i < 4:
        j += 1
    return j == len(lines) or lines[j].gap


_REPEAT_KEY: Final = re.compile(r"[\W\d_]+")


def _repeat_key(text: str) -> str:
    """A short line's words without case, digits or punctuation: `1. Press Release` = `Press release`."""
    return _REPEAT_KEY.sub(" ", text.casefold()).strip()


def _repeats(lines: Sequence[Line]) -> set[str]:
    """Short lines that occur more than once in the page: tags and leftovers, not titles."""
    seen: set[str] = set()
    repeated: set[str] = set()
    for line in lines:
        if line.words > 3 or line.kind != 0:
            continue
        key = _repeat_key(line.text)
        if not key:
            continue
        if key in seen:
            repeated.add(key)
        seen.add(key)
    return repeated


def _all_emissions(lines: Sequence[Line]) -> tuple[list[list[float]], list[list[int]]]:
    """Each line's score for each label, and the labels worth scoring for it (see _beam)."""
    repeated = _repeats(lines)
    anchor = next((i for i, line in enumerate(lines) if _is_anchor(line)), 0)
    # The header ends at its last chrome line (`Press Releases`) when it has one;
    # otherwise above the line right over the first anchor, which may be a title.
    # (A breadcrumb stands at the header's top: it says nothing of where the header ends.)
    chrome = [i for i in range(anchor) if (lines[i].chrome and not lines[i].crumb) or lines[i].count]
    header_end = chrome[-1] if chrome else (anchor - 1 if anchor and lines[anchor - 1].heading else anchor)
    if not chrome and _closes_block(lines, anchor):
        # The first date closes an item: a title and its teaser stand above it, in the listing.
        start = anchor - 1
        while start > 0 and not lines[start].gap:
            start -= 1
        if start < anchor - 1 and lines[start].heading:
            header_end = start
    if not chrome and header_end > 3:
        header_end = 0  # that far down, what stands above may be undated releases
    items = sum(1 for i, line in enumerate(lines) if line.bullet and _item_bullet(lines, i)) >= 2
    spaced = sum(1 for line in lines if line.gap) * 2 >= len(lines)
    # `Continue reading “Summer of smoke”` names the title of the release it closes: that line
    # is a title whatever its shape (a caption may stand between it and its byline, a full stop inside it).
    named = {line.quoted.casefold() for line in lines if line.quoted}
    out = []
    beams = []
    for i in range(len(lines)):
        cached, beam = _scores(tuple(_features(lines, i, repeated, items, spaced)))
        scores = list(cached)
        moved = False
        if named and lines[i].kind == 0 and not lines[i].leftover and lines[i].text.casefold() in named:
            for label, weight in _W["named_title"].items():
                scores[label] += weight
            moved = True
        if chrome and i > header_end and not (lines[i].chrome or lines[i].count or _describes_header(lines, i, header_end)):
            scores[L.HEAD] -= 1.5  # below the page's own heading the listing has begun
            moved = True
        if i < header_end:
            for label, weight in _W["pre_anchor"].items():
                scores[label] += weight
            moved = True
        out.append(scores)
        # The beam of the line's features, shared by the lines that have them, unless a score moved.
        beams.append(_beam(scores) if moved else beam)
    return out, beams


def _describes_header(lines: Sequence[Line], i: int, header_end: int) -> bool:
    """The sentence right under the page's heading (`Latest news from …, call our press office.`):
    its description, not yet the listing, when no title shape or date says otherwise."""
    start = i
    while start > header_end + 1 and not lines[start].gap:
        start -= 1  # a description hard-wrapped over lines: each of them describes
    line = lines[start]
    if start != header_end + 1 or line.kind != 0 or line.dateline or line.teaser or line.leftover:
        return False
    if line.ends_sentence and not line.heading:
        return i == start
    # Wrapped: glued lines, the next opening in lower case, running on to a sentence's end.
    nxt = lines[start + 1] if start + 1 < len(lines) else None
    return (nxt is not None and not nxt.gap and nxt.kind == 0 and nxt.text[0].islower() and line.inner >= 1
            and _run_ends_sentence(lines, start) and all(lines[k].kind == 0 for k in range(start, i + 1)))


def _is_anchor(line: Line) -> bool:
    return (line.kind == DATE and not line.updated) or line.kind == BYLINE or line.sep_dateline


def _neighbours(lines: Sequence[Line], i: int) -> tuple[Line | None, Line | None]:
    """The lines above and below line i; None at the page's ends."""
    return (lines[i - 1] if i else None), (lines[i + 1] if i + 1 < len(lines) else None)


def _flags(line: Line, *names: str) -> list[str]:
    """The features named after a flag of the line (`chrome`, `caption`…) that it has, in order."""
    return [name for name in names if getattr(line, name)]


def _item_bullet(lines: Sequence[Line], i: int) -> bool:
    """A bullet standing apart (not in a run of bullets) marks a listing item; so do bullets in a run
    when each is a long title (an item without its date line, glued to the next item's title)."""
    prev, nxt = _neighbours(lines, i)
    above = prev is None or not prev.bullet or lines[i].gap
    below = nxt is None or not nxt.bullet or nxt.gap
    if above and below:
        return True
    return (_long_title(lines[i]) and (above or (prev is not None and _long_title(prev)))
            and (below or (nxt is not None and _long_title(nxt))))


def _long_title(line: Line) -> bool:
    return line.kind == 0 and line.titleish and line.words >= 5


def _features(lines: Sequence[Line], i: int, repeated: set[str], items: bool = False,
              spaced: bool = False) -> list[str]:
    line = lines[i]
    prev, nxt = _neighbours(lines, i)
    out: list[str] = ["bias", "gap" if line.gap else "no_gap"]
    if prev is not None and prev.bullet and not line.bullet and line.indent > prev.indent:
        out.append("indented_under")  # inside the bulleted item above
    if line.kind == DATE:
        out.append("date")
        glued_prev = prev is not None and not line.gap and prev.kind not in (DATE, BYLINE) and prev.heading \
            and not (prev.tag or prev.leftover or prev.chrome or prev.caption)
        glued_next = nxt is not None and not nxt.gap
        if items and nxt is not None and nxt.bullet and not line.bullet:
            # Between bulleted items a line glued to the next bullet tells nothing (bullets
            # open lines anyway): which item a date belongs to is for the page's ends to say.
            glued_next = False
        if glued_prev and not glued_next:
            out.append("glued_above")
        elif glued_next and not glued_prev and (line.gap or prev is None):
            out.append("glued_below")
        if line.date_tag:
            out.append("tagged_date")
        if line.updated:
            out.append("updated")
        if _closes_block(lines, i):
            out.append("closes_block")
        if (prev is not None and nxt is not None and nxt.kind == BYLINE and not nxt.gap and prev.kind == 0
                and prev.titleish):
            out.append("over_byline_under_title")  # title, `12 May 2016`, `By NAME`: the title's date
    else:
        out.append("not_date")
    out.append("byline" if line.kind == BYLINE else "not_byline")
    if line.kind not in (DATE, BYLINE):
        text = line.text
        size = len(text)
        if line.sep_dateline:
            out.append("dateline" if line.strong_dateline else "weak_dateline")
        elif line.dated_title:
            out.append("dated_title")
        elif line.dateline:
            out.append("gazetteer_dateline")
        out += _flags(line, "leftover", "chrome", "count")
        if line.tag or ((line.words <= 3 or (line.bullet and line.words <= 8)) and not line.ends_sentence
                        and _touches_tag(lines, i)):
            out.append("tag")
        if line.words <= 3 and _repeat_key(text) in repeated:
            out.append("repeated")
        out += _flags(line, "caption", "month_heading")
        if (spaced and prev is not None and not line.gap and prev.kind not in (DATE, BYLINE)
                and (len(prev.text) > 120 or (prev.ends_sentence and not prev.heading))):
            out.append("glued_to_body")
        if line.heading and not any(ch.isupper() or ch.islower() for ch in text[:40]):
            out.append("caseless")  # no capitals to tell a heading by: its shape says little
        else:
            out.append("heading" if line.heading else "not_heading")
            if line.titleish:
                out.append("titleish")
        if size > 160:
            out.append("long")
        if size > 300:
            out.append("very_long")
        out += _flags(line, "ends_sentence", "period_end", "contact")
        if prev is not None and prev.text.endswith(":") and prev.kind not in (DATE, BYLINE):
            out.append("after_colon")
        glued_next = nxt is not None and not nxt.gap and nxt.kind not in (DATE, BYLINE)
        if (glued_next and nxt is not None and (nxt.text[0].islower() or line.open_end or _wraps_at_number(line, nxt))
                and (nxt.ends_sentence or _run_ends_sentence(lines, i + 1))):
            out.append("wraps_sentence")
        elif line.open_end:
            # Ending on `and` or a comma: a title wrapped onto the next line, or a
            # teaser cut mid-sentence when nothing follows it.
            out.append("open_end" if glued_next else "cut_end")
        if (prev is not None and not line.gap and prev.kind not in (DATE, BYLINE) and not prev.ends_sentence
                and (prev.open_end or text[0].islower() or _wraps_at_number(prev, line))):
            prose = line.ends_sentence or len(prev.text) > 120 or not prev.heading or _run_ends_sentence(lines, i)
            out.append("continues_sentence" if prose else "continues_title")
        if (prev is not None and not line.gap and prev.kind not in (DATE, BYLINE) and prev.heading
                and not prev.open_end and not prev.bullet and line.text[0].isupper()
                and (prev.words <= 4 or (len(prev.text) < 60 and title_case(text.split()) < 0.5))):
            # Under a short heading that ends nowhere open (`Migrants and Refugees`, a topic over its
            # title; a title over its standfirst in sentence case): a new line, not the rest of a
            # title wrapped at the page's width.
            out.append("after_short_heading")
        if (prev is not None and prev.kind == DATE and not line.gap and line.words <= 4 and line.heading
                and not line.ends_sentence and _topic_over_title(lines, i)):
            out.append("topic_over_title")  # date, `Migrants and Refugees`, title, body: a topic tag
        if line.inner >= 1:
            out.append("sentences")
        if line.teaser:
            out.append("teaser")
        if text[0].islower():
            out.append("lower")
        if text.endswith(":"):
            out.append("colon_end")
        if line.words <= 4:
            out.append("short")
            if line.words == 1:
                out.append("one_word")
        elif line.words > 9:
            out.append("many_words")
        if line.bullet:
            out.append("bullet")
            if items and _item_bullet(lines, i):
                out.append("item_bullet")
        if nxt is not None and nxt.sep_dateline and nxt.kind not in (DATE, BYLINE):
            out.append("next_dateline")
        if nxt is not None and nxt.kind == BYLINE and not line.period_end:
            out.append("next_byline")
        elif (nxt is not None and prev is not None and prev.heading and prev.kind not in (DATE, BYLINE)
              and (nxt.kind == BYLINE or (nxt.kind == DATE and i + 2 < len(lines) and lines[i + 2].kind == BYLINE))
              and _between_title_and_byline(lines, i)):
            out.append("before_byline")  # title, summary sentence, byline: the summary is a standfirst
        elif (nxt is not None and nxt.kind == DATE and line.period_end and not line.gap and prev is not None
              and prev.heading and prev.kind not in (DATE, BYLINE) and i + 2 < len(lines)
              and lines[i + 2].sep_dateline and lines[i + 2].kind not in (DATE, BYLINE)):
            # Title, summary sentence, date, `PLACE – …`: the summary is a standfirst, the date the item's.
            out.append("before_dated_dateline")
        if (line.heading and nxt is not None and nxt.gap and nxt.kind not in (DATE, BYLINE)
                and (len(nxt.text) > 120 or (nxt.ends_sentence and not nxt.heading))):
            out.append("next_paragraph")
        # A caption is no bulleted item; the title under it stands after a blank line, or glued under
        # it with the blank line and the body below (`27 February 2023` / `Press Release` / caption / title).
        if (nxt is not None and not line.bullet and nxt.heading and nxt.kind not in (DATE, BYLINE)
                and not (nxt.count or nxt.chrome or nxt.leftover)
                and (nxt.gap or (not line.gap and i + 2 < len(lines) and lines[i + 2].gap
                                 and lines[i + 2].kind == 0 and not lines[i + 2].heading))
                and _under_date(lines, i)):
            out.append("caption_slot")
        if prev is not None and prev.kind == DATE and not line.gap:
            out.append("below_date")
        if (line.gap and not line.heading and nxt is not None and nxt.kind == DATE and not nxt.gap
                and not nxt.updated and size <= 120 and line.inner == 0):
            out.append("over_date")
    return out


def _between_title_and_byline(lines: Sequence[Line], i: int) -> bool:
    """Line i stands between a title and a byline: glued to both, or set apart from both by blank
    lines when a body paragraph follows the byline (a byline closing a release is followed by a title)."""
    line, nxt = lines[i], lines[i + 1]
    if not line.gap and not nxt.gap:
        return True
    after = lines[i + 2] if i + 2 < len(lines) else None
    if nxt.kind == DATE and after is not None and after.kind == BYLINE:
        # title, standfirst, `Thu, 2021-05-27 09:30`, `By NAME`: the date stands between
        nxt, after = after, lines[i + 3] if i + 3 < len(lines) else None
    return (line.gap and nxt.gap and len(line.text) <= 200 and not line.dateline and after is not None
            and after.kind == 0 and not after.heading)


def _wraps_at_number(line: Line, nxt: Line) -> bool:
    """`… a planned burn of about` / `1,200 hectares north …`: a line as long as a hard wrap's, cut
    before a number (a title is shorter, and its body opens a sentence)."""
    return nxt.text[0].isdigit() and len(line.text) >= 60 and not line.ends_sentence and not line.text.endswith(":")


def _topic_over_title(lines: Sequence[Line], i: int) -> bool:
    """Line i is glued over a longer title that is glued over its body paragraph."""
    if i + 2 >= len(lines):
        return False
    title, body = lines[i + 1], lines[i + 2]
    return (not title.gap and title.kind == 0 and title.titleish and title.words > lines[i].words
            and not title.open_end and not body.gap and body.kind == 0 and not body.heading)


def _run_ends_sentence(lines: Sequence[Line], i: int) -> bool:
    """Whether the lines glued under line i (itself included) run on to a sentence's end.

    A paragraph hard-wrapped at a fixed width ends with a full stop a few lines down; a
    title wrapped onto a second line does not.
    """
    j = i
    while j + 1 < len(lines) and not lines[j + 1].gap and lines[j + 1].kind not in (DATE, BYLINE) \
            and not lines[j].ends_sentence and j - i < 8:
        j += 1
    return lines[j].ends_sentence and lines[j].kind not in (DATE, BYLINE)


def _under_date(lines: Sequence[Line], i: int) -> bool:
    """Whether the run of lines without a blank that holds line i opens with a date line (or with the
    type tag the page's items carry under their dates, in an item that lacks its date)."""
    j = i
    while j > 0 and not lines[j].gap:
        j -= 1
    return j < i and (lines[j].kind == DATE or (lines[j].kind == 0 and lines[j].chrome and lines[j].words <= 3))


def _touches_tag(lines: Sequence[Line], i: int) -> bool:
    """A short line glued (no blank line) to a tag line is one of the tags (`• Death Penalty`)."""
    prev = lines[i - 1] if i else None
    if prev is not None and not lines[i].gap and prev.tag:
        return True
    # Down a run of bulleted tags to the field line that ends it (`• Refugees`, `• Armed Conflict`, `Region …`).
    j = i + 1
    while j < len(lines) and not lines[j].gap and lines[j].bullet and not lines[j].tag and j - i < 6:
        j += 1
    return j < len(lines) and not lines[j].gap and lines[j].tag and (j == i + 1 or lines[i].bullet)


_WEIGHTS: Final = {feature: tuple(weights.items()) for feature, weights in _W.items()}


# Lines of a page share a few dozen feature sets. A dict, not functools.lru_cache: compiled code
# calls a cached function through Python's generic call, which costs more than the lookup saves.
_SCORED: Final[dict[tuple[str, ...], tuple[tuple[float, ...], list[int]]]] = {}
_SCORED_MAX: Final = 4096


def _scores(features: tuple[str, ...]) -> tuple[tuple[float, ...], list[int]]:
    """A feature set's score for each label, and its beam (never changed by callers)."""
    known = _SCORED.get(features)
    if known is not None:
        return known
    scores = [0.0] * _N
    for feature in features:
        for label, weight in _WEIGHTS[feature]:
            scores[label] += weight
    if len(_SCORED) >= _SCORED_MAX:
        _SCORED.clear()
    known = _SCORED[features] = (tuple(scores), _beam(scores))
    return known


def _beam(emission: list[float]) -> list[int]:
    """The labels worth scoring for a line: those far below the line's best cannot win
    whatever came before, since the transition scores span less than this margin."""
    best = emission[0]
    for e in emission:  # not max(): compiled, this loop compares unboxed floats
        if e > best:
            best = e
    floor = best - _BEAM
    return [s for s, e in enumerate(emission) if e >= floor]


def _viterbi(emissions: list[list[float]], beams: list[list[int]],
             pred: list[list[tuple[int, float]]]) -> tuple[float, list[int]]:
    count = len(emissions)
    # Unreachable is minus infinity, not a large negative number: a long page's total may fall
    # far below any finite floor without anything being impossible.
    dead = -math.inf
    score = [(_STARTS.get(s, _NEVER) + emissions[0][s]) for s in range(_N)]
    back: list[list[int]] = []
    for t in range(1, count):
        emission = emissions[t]
        new = [dead] * _N
        pointer = [0] * _N
        # Each label left in the beam is scored from the labels it may follow: fewer steps
        # than relaxing forward from every live label to every successor.
        for s in beams[t]:
            best = dead
            arg = 0
            for a, w in pred[s]:
                candidate = score[a] + w
                if candidate > best:  # strictly: of equal scores the lowest label wins
                    best = candidate
                    arg = a
            if best > dead:
                new[s] = best + emission[s]
                pointer[s] = arg
        score = new
        back.append(pointer)
    # A page does not end between a standfirst or a byline's role line and its body.
    last = max(range(_N), key=lambda s: score[s] + _ENDS.get(s, 0.0))
    labels = [last]
    for pointer in reversed(back):
        labels.append(pointer[labels[-1]])
    labels.reverse()
    return score[last], labels
