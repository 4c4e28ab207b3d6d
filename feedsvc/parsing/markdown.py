"""One release per Markdown file: YAML front matter for the fields, the body's lines for paragraphs.

Markdown is stripped lightly: heading marks, block quotes, list bullets, `**`/`__`
emphasis, inline code ticks and link/image syntax (their text is kept). Single `*` and
`_` stay, since press text uses them literally (asterisked footnotes, snake_case tags).
"""

from __future__ import annotations

import re
from typing import Any

import yaml  # type: ignore[import-untyped, unused-ignore]

from feedsvc.model import ParseError
from feedsvc.parsing.dates import parse_date_value
from feedsvc.parsing.datelines import spell_place
from feedsvc.parsing.drafts import Draft
from feedsvc.parsing.normalise import normalise_text, remove_controls, split_lines

_FENCE = re.compile(r"(?:---|\.\.\.)[ \t]*")
_HEADING = re.compile(r"^#{1,6}(?:\s+|$)")
_QUOTE = re.compile(r"^(?:>\s?)+")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_STRONG = re.compile(r"\*\*|__|`")
_RULE = re.compile(r"(?:[-*_]\s*){3,}")
_LIST_BULLET = re.compile(r"^[-*+]\s+(?=\S)")
_TOPIC_SPLIT = re.compile(r"[,;]")
_FIELD = re.compile(r"[A-Za-z_][\w -]*:(?:\s|$)")

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


def parse_markdown(text: str, source_file: str) -> list[Draft]:
    """The one release of a Markdown file (none when it holds neither title nor text)."""
    lines = split_lines(text)
    meta: dict[str, Any] = {}
    body_start = 0
    if lines and _FENCE.fullmatch(lines[0]) and not lines[0].startswith("..."):
        end = next((i for i in range(1, len(lines)) if _FENCE.fullmatch(lines[i])), None)
        if end is None:
            raise ParseError(source_file, "front matter is not closed by a '---' line", 1)
        meta = _load_front_matter("\n".join(lines[1:end]), source_file)
        body_start = end + 1
    title = _text(meta.get("title"))
    paragraphs: list[str] = []
    for raw in lines[body_start:]:
        is_heading = _HEADING.match(raw.lstrip()) is not None
        paragraph = _strip_markdown(raw)
        if not paragraph:
            continue
        if is_heading and not paragraphs and (title is None or title.casefold() == paragraph.casefold()):
            # A heading opening the body is the title (or repeats it): not a paragraph.
            title = paragraph if title is None else title
            continue
        paragraphs.append(paragraph)
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
        paragraphs=paragraphs,
        topics=_topics(meta.get("topics", meta.get("tags"))),
    )
    # A dateline is read from the body only when the front matter names no place.
    draft.read_dateline = location is None
    return [draft]


def _load_front_matter(source: str, source_file: str) -> dict[str, Any]:
    try:
        data = yaml.load(remove_controls(source), Loader=_Loader)  # noqa: S506 - a safe loader
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


def _strip_markdown(raw: str) -> str:
    text = raw.strip()
    if _RULE.fullmatch(text):
        return ""
    text = _HEADING.sub("", text, count=1)
    text = _QUOTE.sub("", text, count=1) if text.startswith(">") else text
    text = _LIST_BULLET.sub("", text, count=1) if text[:1] in "-*+" else text
    text = _LINK.sub(r"\1", text)
    text = _STRONG.sub("", text)
    return normalise_text(text)


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
