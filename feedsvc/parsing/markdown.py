"""One release per Markdown file: YAML front matter for the fields, the body through markdown-it.

The body becomes both the release's sanitised HTML (`body_html`, for pages, feeds and email) and
its plain paragraphs (for summaries, search and classification); see markdown_body.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

import yaml  # type: ignore[import-untyped, unused-ignore]

from feedsvc.languages import LanguageTagError, checked_tag, paired_name
from feedsvc.model import ParseError, ParseWarning, Release
from feedsvc.parsing.attached import body_media, front_matter_contacts, front_matter_media, item_lines
from feedsvc.parsing.datelines import spell_place
from feedsvc.parsing.dates import parse_date_value
from feedsvc.parsing.drafts import Draft, finish
from feedsvc.parsing.embargo import front_matter_embargo
from feedsvc.parsing.markdown_body import Block, read_body, to_html, without_lead
from feedsvc.parsing.normalise import normalise_text, remove_controls, split_lines

# Front matter is found by these line checks alone; the body is never matched with patterns.
_FENCE = re.compile(r"(?:---|\.\.\.)[ \t]*")
_TOPIC_SPLIT = re.compile(r"[,;]")
_FIELD = re.compile(r"[A-Za-z_][\w -]*:(?:\s|$)")
_EMBARGO_FIELD = re.compile(r"\s*embargo\s*:\s*(?P<value>.*?)\s*", re.IGNORECASE)

try:  # the C loader is several times faster when libyaml is present
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader


def has_front_matter(text: str) -> bool:
    """True when the text opens with a `---` line, then `key:` lines, then a closing `---`/`...`."""
    if not text.startswith("---"):
        return False
    lines = split_lines(text)
    if _FENCE.fullmatch(lines[0]) is None:
        return False
    # A listing may open with a `---` rule too: front matter starts with a field.
    first = next((line for line in lines[1:] if line.strip()), "")
    if _FIELD.match(first) is None:
        return False
    return any(_FENCE.fullmatch(line) for line in lines[1:])


def parse_markdown(text: str, source_file: str) -> list[Release]:
    """The one release of a Markdown file (none when it holds neither title nor text)."""
    lines = split_lines(text)
    meta: dict[str, Any] = {}
    body_start = 0
    embargo = None
    front = ""
    if lines and _FENCE.fullmatch(lines[0]) and not lines[0].startswith("..."):
        end = next((i for i in range(1, len(lines)) if _FENCE.fullmatch(lines[i])), None)
        if end is None:
            raise ParseError(source_file, "front matter is not closed by a '---' line", 1)
        front = "\n".join(lines[1:end])
        meta = _load_front_matter(front, source_file)
        body_start = end + 1
        if "embargo" in meta:
            # The line as written (YAML keeps only the value) for /admin and the warnings.
            no, written = next(((i + 1, m.group("value")) for i in range(1, end)
                                if (m := _EMBARGO_FIELD.fullmatch(lines[i]))), (2, str(meta["embargo"])))
            embargo = front_matter_embargo(meta["embargo"], written.strip("'\""), no)
    title = _text(meta.get("title"))
    blocks, local = read_body("\n".join(lines[body_start:]))
    opening = next((b for b in blocks if b.paragraphs), None)
    if opening is not None and opening.is_heading and (
            title is None or title.casefold() == opening.paragraphs[0].casefold()):
        # A heading opening the body is the title (or repeats it): not a paragraph.
        title = opening.paragraphs[0] if title is None else title
        blocks = [b for b in blocks if b is not opening]
    paragraphs = [p for b in blocks for p in b.paragraphs]
    if title is None and not paragraphs:
        return []
    location = _text(meta.get("location"))
    if location is not None:
        location = spell_place(location)
    draft = Draft(
        title=title,
        line=1,
        section=_text(meta.get("section")),
        date=parse_date_value(meta.get("date")),
        author=_text(meta.get("author")),
        location=location,
        paragraphs=list(paragraphs),
        topics=_topics(meta.get("topics", meta.get("tags"))),
    )
    # A dateline is read from the body only when the front matter names no place.
    draft.read_dateline = location is None
    (release,) = finish([draft], source_file)
    blocks = _without_dateline(blocks, paragraphs, release.paragraphs)
    # Files and contacts (issue 17 item 3); the front matter's lines count from the file's line 2.
    media, notes = front_matter_media(meta, lambda key: item_lines(front, key, 2))
    media += body_media(local, body_start + 1)
    contacts, contact_notes = front_matter_contacts(meta.get("contacts"), item_lines(front, "contacts", 2)
                                                    if "contacts" in meta else [])
    language, language_notes = _language(meta, front, source_file)
    warnings = tuple(ParseWarning(source_file, line, f"{release.title[:60]!r}: {message}")
                     for line, message in [*notes, *contact_notes, *language_notes])
    return [dataclasses.replace(release, body_html=to_html(blocks), embargo=embargo, media=tuple(media),
                                contacts=tuple(contacts), warnings=warnings, language=language,
                                translation_of=_text(meta.get("translation_of", meta.get("translation-of"))))]


def _language(meta: dict[str, Any], front: str, source_file: str) -> tuple[str | None, list[tuple[int, str]]]:
    """The language the file states (issue 17 item 2): front matter `lang:`/`language:`, else its
    name (`water.fr.md`); a note when the front matter's value is not a tag (then it is identified)."""
    key = next((k for k in ("lang", "language") if meta.get(k) not in (None, "")), None)
    if key is not None:
        try:
            return checked_tag(meta[key]), []
        except LanguageTagError as exc:
            lines = item_lines(front, key, 2)
            return None, [(lines[0] if lines else 2, f"{key}: {exc}; the language is identified from the text")]
    pair = paired_name(source_file.rsplit("/", 1)[-1])
    return (pair[1] if pair else None), []


def _without_dateline(blocks: list[Block], before: Sequence[str], after: Sequence[str]) -> list[Block]:
    """The blocks without the dateline that `finish` took from the first paragraph into the fields.

    Left as they are when the dateline cannot be cut from the HTML cleanly (say, a link inside it):
    the body then shows it again, which is how it was written.
    """
    if not before or tuple(before) == tuple(after):
        return blocks
    rest = after[0] if len(after) == len(before) else ""  # "": the whole paragraph was the dateline
    first = next(b for b in blocks if b.paragraphs)
    if not before[0].endswith(rest):
        return blocks
    trimmed = without_lead(first, before[0][:len(before[0]) - len(rest)], rest)
    if trimmed is None:
        return blocks
    return [trimmed if b is first else b for b in blocks]


def _load_front_matter(source: str, source_file: str) -> dict[str, Any]:
    try:
        data = yaml.load(remove_controls(source), Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        # +2: the mark counts from 0 and the front matter starts after the `---` line.
        line = mark.line + 2 if mark is not None else None
        raise ParseError(source_file, f"invalid YAML front matter: {exc.problem or exc}", line) from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        # ValueError and friends come from value constructors, e.g. `date: 2019-02-30`.
        raise ParseError(source_file, f"invalid YAML front matter: {exc}", 2) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParseError(source_file, "front matter is not a mapping of fields", 2)
    return {str(k).strip().lower(): v for k, v in data.items()}


def _text(value: object) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = normalise_text(str(value))
    return text or None


def _topics(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        items = [str(item) for item in value if item is not None and not isinstance(item, (dict, list))]
    else:
        text = str(value)
        # Commas (or semicolons) separate when present, so `border management, health`
        # keeps its two-word topic; otherwise spaces do.
        items = _TOPIC_SPLIT.split(text) if _TOPIC_SPLIT.search(text) else text.split()
    seen: dict[str, None] = {}
    for item in items:
        topic = normalise_text(item)
        if topic and topic.casefold() not in {s.casefold() for s in seen}:
            seen[topic] = None
    return tuple(seen)
