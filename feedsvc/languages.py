"""A release's language (issue 17 item 2): tags checked, text identified, direction and names. Pure.

Tags are BCP 47 as CLDR knows them (Babel's `Locale.parse`): `fr`, `pt-BR`, `sr-Latn`, `zh-Hant-TW`,
written back in one canonical spelling (`EN_gb` → `en-GB`). Text is identified by py3langid (a
naive Bayes model over byte n-grams, ~100 MB resident once loaded, about 0.1 ms a release); its
model is loaded on first use only, so processes that never identify text (web, senders) never pay
for it. On 48 short press releases (title and first sentence) in en/fr/es/de/tr/ar written for
the purpose it was right 48 times, with confidence 0.69 at the lowest; lingua was right as often
but took 15 s and 1.3 GB to load all its models (measured for this issue; see the report).
"""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from babel import Locale, UnknownLocaleError

Direction = Literal["ltr", "rtl"]

# Below this confidence (py3langid's normalised probability) a guess is not trusted and the
# configured default is used: right answers on our short samples never went below 0.69, and
# two- or three-word texts that it got wrong scored 0.05–0.42.
CONFIDENCE_FLOOR = 0.5
# Fewer letters than this is a name or a date, not a text a language can be told from.
MIN_LETTERS = 12
# Scripts written right to left, for tags CLDR has no data on (ISO 15924 codes).
_RTL_SCRIPTS = frozenset({"Arab", "Hebr", "Syrc", "Thaa", "Nkoo", "Adlm", "Rohg", "Mand", "Samr"})
_RTL_LANGUAGES = frozenset({"ar", "he", "iw", "fa", "ur", "ps", "sd", "ug", "yi", "dv", "ckb", "ku-Arab"})
_TAG = re.compile(r"[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*")


class LanguageTagError(ValueError):
    """A language tag that is not BCP 47 or names a language CLDR does not know."""


def checked_tag(value: object) -> str:
    """`value` as a canonical BCP 47 tag (`pt-BR`); LanguageTagError saying why it is not one."""
    text = str(value).strip() if value is not None else ""
    if not _TAG.fullmatch(text):
        raise LanguageTagError(f"{text[:40]!r} is not a language tag (write one like en, fr, pt-BR or ar)")
    try:
        locale = Locale.parse(text.replace("_", "-"), sep="-")
    except (UnknownLocaleError, ValueError) as exc:
        raise LanguageTagError(f"{text[:40]!r} is not a language CLDR knows ({exc})") from None
    return _canonical(locale)


def _canonical(locale: Locale) -> str:
    return "-".join(p for p in (locale.language, locale.script, locale.territory, locale.variant) if p)


def primary(tag: str) -> str:
    """The language subtag alone: `fr` of `fr-CA`."""
    return tag.split("-", 1)[0].lower()


def matches(tag: str | None, wanted: Iterable[str]) -> bool:
    """Whether a release in `tag` is one a reader of `wanted` languages asked for (none: every one).

    A reader of `fr` gets `fr-CA` too; a reader of `fr-CA` gets only `fr-CA`.
    """
    choices = tuple(wanted)
    if not choices:
        return True
    if tag is None:
        return False
    low = tag.lower()
    return any(low == w.lower() or (primary(low) == w.lower() and "-" not in w) for w in choices)


@functools.lru_cache(maxsize=256)
def direction(tag: str | None) -> Direction:
    """'rtl' for a tag written right to left (Arabic, Hebrew, Persian, Urdu…), else 'ltr'."""
    if not tag:
        return "ltr"
    parts = tag.replace("_", "-").split("-")
    script = next((p.title() for p in parts[1:] if len(p) == 4 and p.isalpha()), None)
    if script is not None:  # the script decides: `ku-Arab` is right to left, `az-Latn` is not
        return "rtl" if script in _RTL_SCRIPTS else "ltr"
    try:
        return "rtl" if Locale.parse(tag.replace("_", "-"), sep="-").text_direction == "rtl" else "ltr"
    except (UnknownLocaleError, ValueError):
        return "rtl" if parts[0].lower() in _RTL_LANGUAGES else "ltr"


@functools.lru_cache(maxsize=256)
def native_name(tag: str) -> str:
    """The language's name in itself, capitalised as a list item: `Français`, `Türkçe`, `العربية`."""
    try:
        locale = Locale.parse(tag, sep="-")
    except (UnknownLocaleError, ValueError):
        return tag
    name = locale.get_display_name(locale) or tag
    return name[:1].upper() + name[1:]


@dataclasses.dataclass(frozen=True, slots=True)
class Identified:
    """What text identification found: the tag used, the detector's guess and its confidence."""

    tag: str  # the guess when trusted, else the default
    guess: str | None  # what the detector said (None: text too short to ask)
    confidence: float
    trusted: bool


@functools.lru_cache(maxsize=1)
def _identifier() -> Any:
    # Imported and loaded here, once, on first use: about a second and ~100 MB.
    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # type: ignore[import-untyped]

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def identify(text: str, default: str, floor: float = CONFIDENCE_FLOOR) -> Identified:
    """The language `text` is written in, or `default` when the detector is not sure enough."""
    letters = sum(1 for ch in text if unicodedata.category(ch).startswith("L"))
    if letters < MIN_LETTERS:
        return Identified(default, None, 0.0, False)
    guess, confidence = _identifier().classify(text)
    try:
        tag = checked_tag(guess)
    except LanguageTagError:  # a language the model knows and CLDR does not: not usable as a tag
        return Identified(default, str(guess), float(confidence), False)
    trusted = float(confidence) >= floor
    return Identified(tag if trusted else default, tag, float(confidence), trusted)


def release_text(title: str, paragraphs: Sequence[str], limit: int = 2000) -> str:
    """What a release's language is identified from: its title and first paragraphs."""
    out = title
    for p in paragraphs:
        if len(out) >= limit:
            break
        out += "\n" + p
    return out[:limit]


# -- translations --------------------------------------------------------------------------

_PAIR = re.compile(r"(?P<stem>.+)\.(?P<tag>[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*)\.(?:md|markdown)", re.IGNORECASE)


def paired_name(path: str) -> tuple[str, str] | None:
    """(the path without its language, the tag) of a file named like `water.fr.md`; None otherwise."""
    m = _PAIR.fullmatch(path)
    if m is None:
        return None
    try:
        return m.group("stem"), checked_tag(m.group("tag"))
    except LanguageTagError:
        return None


@dataclasses.dataclass(frozen=True, slots=True)
class TranslationMember:
    """A release as translations are decided from: where it stands and what its front matter says."""

    id: str
    paths: tuple[str, ...]  # the content files holding it
    translation_of: str | None  # front matter, as written: a release id or a content file's path
    # (listing, slot) where a listing holds it in several languages (listed_translations.py).
    listed: tuple[tuple[str, int], ...] = ()


def translation_groups(members: Sequence[TranslationMember]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Which releases are translations of each other: release id → group id, and the warnings.

    Two rules stated by the office:
    - `translation_of:` names another release by its id (the last part of its page's address)
      or its content file (`water.en.md`, or `press/water.en.md` from the content folder);
    - Markdown files named alike but for a language (`water.en.md`, `water.fr.md`, same folder);
    and one read from a listing: releases it holds side by side as one release in several
    languages (`listed`, decided per file by listed_translations.py). A release stating
    `translation_of:` is linked as it states only: the office's word wins over the reading.
    A group's id is its smallest release id, so it never depends on the order files are read.
    Warnings are (path, message) for a `translation_of:` that names nothing or names itself.
    """
    parent = {m.id: m.id for m in members}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def join(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    by_path: dict[str, list[str]] = {}
    by_name: dict[str, list[str]] = {}
    stems: dict[str, list[str]] = {}
    for m in members:
        for path in m.paths:
            by_path.setdefault(path, []).append(m.id)
            by_name.setdefault(path.rsplit("/", 1)[-1], []).append(m.id)
            pair = paired_name(path)
            if pair is not None:
                stems.setdefault(pair[0], []).append(m.id)
    for ids in stems.values():
        for other in ids[1:]:
            join(ids[0], other)
    slots: dict[tuple[str, int], list[str]] = {}
    for m in members:
        if not m.translation_of:
            for slot in m.listed:
                slots.setdefault(slot, []).append(m.id)
    for ids in slots.values():
        for other in ids[1:]:
            join(ids[0], other)
    warnings: list[tuple[str, str]] = []
    for m in members:
        if not m.translation_of:
            continue
        ref = m.translation_of.strip().lstrip("/")
        if ref.startswith("releases/"):
            ref = ref[len("releases/"):]
        targets = ([ref] if ref in parent else by_path.get(ref)
                   or (by_name[ref] if len(set(by_name.get(ref, ()))) == 1 else None))
        where = m.paths[0] if m.paths else m.id
        if not targets:
            many = len(set(by_name.get(ref, ()))) > 1
            warnings.append((where, f"translation_of: {m.translation_of[:80]!r} names "
                             + ("several files; write its path from the content folder" if many else
                                "no release (write a content file's name, like water.en.md, or a release id)")))
            continue
        if targets[0] == m.id:
            warnings.append((where, f"translation_of: {m.translation_of[:80]!r} names the release itself"))
            continue
        join(m.id, targets[0])
    groups: dict[str, list[str]] = {}
    for m in members:
        groups.setdefault(find(m.id), []).append(m.id)
    return {i: root for root, ids in groups.items() if len(ids) > 1 for i in ids}, warnings


@dataclasses.dataclass(frozen=True, slots=True)
class Translation:
    """Another language's version of a release, as pages and feeds link it."""

    release_id: str
    language: str

    @property
    def name(self) -> str:
        return native_name(self.language)


def others(release_id: str, language: str | None,
           group: Sequence[Translation]) -> tuple[Translation, ...]:
    """The translations a release links to: one per other language, its own language left out.

    Atom allows one alternate link per (type, hreflang): a second release in a language already
    linked is left out (the smallest id is kept, so the choice is stable).
    """
    seen = {language} if language else set()
    out = []
    for t in sorted(group, key=lambda t: (t.language, t.release_id)):
        if t.release_id == release_id or t.language in seen:
            continue
        seen.add(t.language)
        out.append(t)
    return tuple(out)


def translations_by_release(groups: Mapping[str, Sequence[Translation]],
                            releases: Iterable[tuple[str, str | None, str | None]],
                            ) -> dict[str, tuple[Translation, ...]]:
    """release id → its translations, for (id, language, group) of each release shown."""
    return {rid: others(rid, lang, groups.get(group, ())) for rid, lang, group in releases if group}
