"""The topic taxonomy (data/topics.toml) and `classify(release, taxonomy)`. Imports only `feedsvc.model`.

Matching rules, decided once here so every caller agrees:
- text is folded before matching: NFKD, Latin combining marks dropped, casefolded, Turkish dotless ı read
  as i, curly apostrophes read as ASCII; so "İstanbul", "ISTANBUL" and "Istanbul" are one word, and so are
  "Çeşme" and "Cesme";
- a word or phrase matches whole words only ("health" is not found in "healthy"); a trailing `*` asks
  for any ending ("traffick*" finds trafficking, traffickers); word forms are otherwise listed explicitly;
- inside a phrase, any run of whitespace (line breaks, double or no-break spaces) matches any other, and a
  hyphen also matches a space or nothing ("covid-19" finds "COVID 19" and "covid19");
- `places` match the release's dateline place, with the same rules;
- `authored = true` puts every release with a byline in the topic (op-eds);
- topics the release names itself (front matter) are added when the taxonomy knows them, by slug or title.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from feedsvc.model import ConfigError, Topic

__all__ = ["Classifiable", "Taxonomy", "classify", "fold", "load_taxonomy", "parse_taxonomy"]

# Bumped whenever the matching rules above change, so the digest changes and storage re-classifies
# even though the TOML file did not.
_RULES_VERSION = "classify-v1"

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_TOPIC_KEYS = frozenset({"slug", "title", "description", "words", "places", "authored"})

# Combining marks of the Latin, Greek and Cyrillic blocks (what NFKD splits off "ç", "ş", "İ", "é"...).
# A class is much faster than asking unicodedata.category() about every character of 100,000 releases.
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
# (from, to) pairs. Chained str.replace is ~20x faster here than str.translate with a dict table.
_FOLD_PAIRS = (
    ("ı", "i"),  # Turkish dotless i: "Sığınmacı" should be findable as typed on an English keyboard
    ("\u2019", "'"), ("\u2018", "'"), ("\u02bc", "'"), ("\u2032", "'"),  # ’ ‘ ʼ ′ → '
)
_HYPHENS = "-\u2010\u2011\u2012\u2013"  # - ‐ ‑ ‒ –
_HYPHEN_CLASS = "[\\-\u2010\u2011\u2012\u2013]"  # the same, as a regex character class


class Classifiable(Protocol):
    """What classify() reads: both `Release` and `StoredRelease` have it."""

    @property
    def title(self) -> str: ...
    @property
    def paragraphs(self) -> tuple[str, ...]: ...
    @property
    def location(self) -> str | None: ...
    @property
    def section(self) -> str | None: ...
    @property
    def author(self) -> str | None: ...
    @property
    def topics(self) -> tuple[str, ...]: ...


def fold(text: str) -> str:
    """Text as matching sees it: accents and case folded (see the module docstring)."""
    if text.isascii():  # most of the work is for the rest
        return text.lower()
    text = _MARKS.sub("", unicodedata.normalize("NFKD", text)).casefold()
    for old, new in _FOLD_PAIRS:
        if old in text:
            text = text.replace(old, new)
    return text


def _term_pattern(term: str) -> str:
    """One word or phrase of the TOML → a regex fragment over folded text (no boundaries yet)."""
    folded = fold(term).strip()
    prefix = folded.endswith("*")
    if prefix:
        folded = folded[:-1].rstrip()
    parts: list[str] = []
    for token in folded.split():
        # A hyphen inside a phrase is written many ways in press releases: match any of them,
        # a space, or nothing.
        pieces = [re.escape(piece) for piece in re.split(_HYPHEN_CLASS, token)]
        parts.append(f"(?:{_HYPHEN_CLASS}|\\s+)?".join(pieces))
    return "\\s+".join(parts) + ("\\w*" if prefix else "")


_WORD = re.compile(r"\w+")


@dataclasses.dataclass(frozen=True, slots=True)
class _Matcher:
    """One topic's words or places, compiled once.

    Speed matters (a re-classification reads 100,000 releases) and an alternation tried at every position
    of the text is slow in Python's `re` (~30 µs per topic for 1,500 characters). So a plain word (letters
    and digits only) is looked up in the set of the text's words, which is exactly a whole-word match. The
    other terms (phrases, hyphens, `*`) share one regex per topic, tried anchored only where the text holds
    the first word of one of them (every term starts with a letter or digit, so a match starts there): as
    a whole word (`exact`), or, when that word may run on ("traffick*", "covid-19" matching "covid19"), as
    a substring (`prefix`). The gates change speed, never results (tests compare with plain regexes).
    """

    words: frozenset[str]
    pattern: re.Pattern[str] | None
    exact: frozenset[str]
    prefix: tuple[str, ...]

    def search(self, text: str, words: set[str]) -> bool:
        if not self.words.isdisjoint(words):
            return True
        if self.pattern is None:
            return False
        for gate in (*(self.exact & words), *(g for g in self.prefix if g in text)):
            at = text.find(gate)
            while at >= 0:
                # match() still sees the character before `at`, so (?<!\w) keeps its meaning.
                if self.pattern.match(text, at):
                    return True
                at = text.find(gate, at + 1)
        return False


def _compile(terms: Iterable[str]) -> _Matcher | None:
    words: set[str] = set()
    fragments: set[str] = set()
    exact: set[str] = set()
    prefix: set[str] = set()
    for term in terms:
        folded = fold(term).strip()
        if _WORD.fullmatch(folded):
            words.add(folded)
            continue
        fragments.add(_term_pattern(term))
        star = folded.endswith("*")
        body = folded[:-1].rstrip() if star else folded
        first = _WORD.search(body)
        assert first is not None  # load time refused terms without a letter or digit
        after = body[first.end():first.end() + 1]
        runs_on = (after == "" and star) or (after != "" and after in _HYPHENS)
        (prefix if runs_on else exact).add(first.group())
    if not words and not fragments:
        return None
    pattern = None
    if fragments:
        # Longest first, so an alternation never stops at a shorter term that the longer one contains.
        ordered = sorted(fragments, key=lambda f: (-len(f), f))
        # (?<!\w) and (?!\w) rather than \b: they also hold when a term starts or ends with punctuation.
        pattern = re.compile(r"(?<!\w)(?:" + "|".join(ordered) + r")(?!\w)")
    return _Matcher(frozenset(words), pattern, frozenset(exact), tuple(sorted(prefix)))


@dataclasses.dataclass(frozen=True, slots=True)
class _Rule:
    slug: str
    text: _Matcher | None
    place: _Matcher | None
    authored: bool


@dataclasses.dataclass(frozen=True, slots=True)
class Taxonomy:
    """The topics, a digest of their rules, and the regexes compiled once at load time."""

    topics: tuple[Topic, ...]
    digest: str  # sha256 of the canonical rules: storage re-classifies when it changes
    authored: frozenset[str] = frozenset()  # slugs with `authored = true` (Topic has no field for it)
    _rules: tuple[_Rule, ...] = dataclasses.field(default=(), repr=False, compare=False)
    _by_slug: Mapping[str, Topic] = dataclasses.field(default_factory=dict, repr=False, compare=False)
    _by_name: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    def by_slug(self, slug: str) -> Topic | None:
        """The topic with this slug, or None."""
        return self._by_slug.get(slug)

    @property
    def slugs(self) -> tuple[str, ...]:
        return tuple(topic.slug for topic in self.topics)

    @property
    def titles(self) -> dict[str, str]:
        """slug → title, as `feeds.build_atom(topic_titles=...)` wants it."""
        return {topic.slug: topic.title for topic in self.topics}


def _digest(topics: Sequence[Topic], authored: frozenset[str]) -> str:
    # Canonical: topic order, word order, duplicates and the file's comments or layout change nothing
    # that classify() does, so they do not change the digest either.
    canonical = {
        "rules": _RULES_VERSION,
        "topics": [
            {"slug": t.slug, "title": t.title, "description": t.description,
             "words": sorted(set(t.words)), "places": sorted(set(t.places)),
             "authored": t.slug in authored}
            for t in sorted(topics, key=lambda t: t.slug)
        ],
    }
    payload = json.dumps(canonical, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _strings(raw: Any, key: str, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    values = tuple(item.strip() for item in raw)
    # An entry without a letter or digit ("", "*", "-") would match everywhere or nowhere; one starting
    # otherwise would defeat the matcher's gates (see _Matcher).
    for value in values:
        if not _WORD.match(fold(value)):
            raise ConfigError(f"{where}: {key} entry {value!r} must start with a letter or digit")
    return values


def _topic(raw: Any, index: int, source: str) -> tuple[Topic, bool]:
    where = f"{source}: topic #{index}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a table ([[topic]])")
    slug = raw.get("slug")
    if isinstance(slug, str):
        where = f"{source}: topic #{index} ({slug!r})"
    unknown = sorted(set(raw) - _TOPIC_KEYS)
    if unknown:  # a typo such as `word = [...]` would otherwise silently match nothing
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
    if not isinstance(slug, str) or not _SLUG.fullmatch(slug):
        raise ConfigError(f"{where}: slug must be lowercase letters, digits and single hyphens ([a-z0-9-]+)")
    title = raw.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ConfigError(f"{where}: title is missing or empty")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(f"{where}: description must be a string")
    authored = raw.get("authored", False)
    if not isinstance(authored, bool):
        raise ConfigError(f"{where}: authored must be true or false")
    words = _strings(raw.get("words"), "words", where)
    places = _strings(raw.get("places"), "places", where)
    if not words and not places and not authored:
        raise ConfigError(f"{where}: no words (nor places, nor authored = true): nothing could match it")
    topic = Topic(slug=slug, title=title.strip(), description=description.strip(), words=words, places=places)
    return topic, authored


def parse_taxonomy(text: str, source: str = "<taxonomy>") -> Taxonomy:
    """A taxonomy from TOML text; `source` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}") from exc
    raw_topics = data.get("topic")
    if not isinstance(raw_topics, list) or not raw_topics:
        raise ConfigError(f"{source}: no [[topic]] tables")
    extra = sorted(set(data) - {"topic"})
    if extra:
        raise ConfigError(f"{source}: unknown top-level key(s) {', '.join(extra)}")
    topics: list[Topic] = []
    authored: set[str] = set()
    by_slug: dict[str, Topic] = {}
    for index, raw in enumerate(raw_topics, start=1):
        topic, is_authored = _topic(raw, index, source)
        if topic.slug in by_slug:
            raise ConfigError(f"{source}: topic #{index}: duplicate slug {topic.slug!r}")
        by_slug[topic.slug] = topic
        topics.append(topic)
        if is_authored:
            authored.add(topic.slug)
    rules = tuple(
        _Rule(t.slug, _compile(t.words), _compile(t.places), t.slug in authored) for t in topics
    )
    # Front matter may name a topic by slug or by title ("Health and COVID-19"), in any case.
    by_name = {fold(t.title): t.slug for t in topics} | {t.slug: t.slug for t in topics}
    frozen_authored = frozenset(authored)
    return Taxonomy(
        topics=tuple(topics), digest=_digest(topics, frozen_authored), authored=frozen_authored,
        _rules=rules, _by_slug=by_slug, _by_name=by_name,
    )


def load_taxonomy(path: str | Path) -> Taxonomy:
    """Read and check data/topics.toml; raises ConfigError naming the file and the reason."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the taxonomy: {exc}") from exc
    return parse_taxonomy(text, str(path))


def classify(release: Classifiable, taxonomy: Taxonomy) -> tuple[str, ...]:
    """The sorted slugs of the topics a release belongs to; pure, () when none match.

    Reads title, paragraphs, section, location, author and topics, so `Release` and `StoredRelease` both
    work. Beware: a StoredRelease's `topics` are its earlier classification, which this would keep; to
    re-classify after the taxonomy changed, pass the parsed `Release` (whose topics are its front matter).
    """
    # Joined with a newline so a phrase may span the title and the first paragraph only through
    # whitespace, as it would in the source.
    parts = [release.title, *release.paragraphs]
    if release.section:
        parts.append(release.section)
    text = fold("\n".join(parts))
    words = set(_WORD.findall(text))
    place = fold(release.location) if release.location else ""
    place_words = set(_WORD.findall(place))
    found: set[str] = set()
    for rule in taxonomy._rules:
        if (rule.authored and release.author) \
                or (rule.text is not None and rule.text.search(text, words)) \
                or (place and rule.place is not None and rule.place.search(place, place_words)):
            found.add(rule.slug)
    for name in release.topics:
        slug = taxonomy._by_name.get(fold(name).strip())
        if slug is not None:  # unknown front-matter topics are ignored, not invented
            found.add(slug)
    return tuple(sorted(found))
