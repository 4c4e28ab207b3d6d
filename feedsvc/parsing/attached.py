"""What a Markdown release carries besides its text (issue 17 item 3): files it names, press contacts.

Front matter `media:` (or `attachments:`) lists files beside the release: each a path, or a mapping
with `file:` (or `path:`/`src:`) and `alt:` (or `title:`/`caption:`). `contacts:` lists people: each
a mapping of `name`, `role`, `email`, `phone`. What cannot be used is a warning naming the release
and the entry, and only that entry is left out. Whether a named file exists, and what it is, is
decided at ingest (feedsvc/media.py), never here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

import yaml  # type: ignore[import-untyped, unused-ignore]
from email_validator import EmailNotValidError, validate_email

from feedsvc.model import Contact, MediaRef
from feedsvc.parsing.markdown_body import LocalRef
from feedsvc.parsing.normalise import normalise_text

__all__ = ["MEDIA_KEYS", "Notes", "body_media", "front_matter_contacts", "front_matter_media", "item_lines"]

MEDIA_KEYS: Final = ("media", "attachments")
_FILE_KEYS: Final = ("file", "path", "src")
_ALT_KEYS: Final = ("alt", "title", "caption")
_CONTACT_KEYS: Final = {"name": "name", "role": "role", "title": "role", "position": "role", "email": "email",
                 "e-mail": "email", "mail": "email", "phone": "phone", "tel": "phone", "telephone": "phone",
                 "mobile": "phone"}
# A phone as offices write one: +41 22 717 91 11, (212) 555-0100, 0044.20.7946.0000.
_PHONE: Final = re.compile(r"\+?[0-9][0-9 ()./\-\u00a0]*[0-9]")

Notes = list[tuple[int, str]]  # (1-based line, message) of what was left out


def item_lines(front_matter: str, key: str, first_line: int) -> list[int]:
    """The file line of each item of front matter list `key` (its value's line when not a list).

    `first_line` is the file line the front matter's text starts on. The text is composed again
    (a few lines, only when `key` is present) because the loaded values keep no positions.
    """
    try:
        root = yaml.compose(front_matter, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:  # loaded already, so this does not happen; no positions then
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    for k, v in root.value:
        if str(k.value).strip().lower() == key:
            if isinstance(v, yaml.SequenceNode):
                return [first_line + item.start_mark.line for item in v.value]
            return [first_line + v.start_mark.line]  # a single entry: where its value starts
    return []


def _items(value: object) -> list[object]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def front_matter_media(meta: dict[str, Any], lines_of: Callable[[str], list[int]]) -> tuple[list[MediaRef], Notes]:
    """The files front matter names, in order, with a note per entry that names none."""
    refs: list[MediaRef] = []
    notes: Notes = []
    for key in MEDIA_KEYS:
        if key not in meta:
            continue
        items = _items(meta[key])
        lines = lines_of(key)
        for n, item in enumerate(items):
            line = lines[n] if n < len(lines) else (lines[0] if lines else 2)
            target, alt = _media_item(item)
            if target is None:
                notes.append((line, f"{key}: entry {n + 1} names no file (write a path, or file: and alt:); "
                                    "left out"))
                continue
            refs.append(MediaRef(target, alt, line, "front matter"))
    return refs, notes


def _media_item(item: object) -> tuple[str | None, str]:
    if isinstance(item, str):
        return (item.strip() or None), ""
    if isinstance(item, dict):
        fields = {str(k).strip().lower(): v for k, v in item.items()}
        target = next((fields[k] for k in _FILE_KEYS if isinstance(fields.get(k), str)), None)
        alt = next((fields[k] for k in _ALT_KEYS if fields.get(k) is not None and not isinstance(fields[k], (dict, list))), "")
        return (target.strip() or None) if target else None, normalise_text(str(alt))
    return None, ""


def body_media(refs: list[LocalRef], first_line: int) -> list[MediaRef]:
    """The body's relative images and links as references, lines counted in the file."""
    return [MediaRef(r.target, r.text, first_line + r.line - 1, r.kind) for r in refs]


def front_matter_contacts(value: object, lines: list[int]) -> tuple[list[Contact], Notes]:
    """The contacts front matter lists; a note per field or entry left out, saying why."""
    contacts: list[Contact] = []
    notes: Notes = []
    for n, item in enumerate(_items(value)):
        line = lines[n] if n < len(lines) else (lines[0] if lines else 2)
        where = f"contacts: entry {n + 1}"
        if not isinstance(item, dict):
            notes.append((line, f"{where} is not a mapping of name, role, email and phone; left out"))
            continue
        fields: dict[str, str] = {}
        for key, raw in item.items():
            name = _CONTACT_KEYS.get(str(key).strip().lower())
            if name is None:
                notes.append((line, f"{where}: unknown field {str(key)[:40]!r} left out "
                                    "(a contact has name, role, email and phone)"))
                continue
            text = normalise_text(str(raw)) if raw is not None and not isinstance(raw, (dict, list)) else ""
            if text:
                fields[name] = text
        if "email" in fields:
            try:
                fields["email"] = validate_email(fields["email"], check_deliverability=False).normalized
            except EmailNotValidError as exc:
                notes.append((line, f"{where}: email {fields.pop('email')[:80]!r} left out ({exc})"))
        if "phone" in fields and (_PHONE.fullmatch(fields["phone"]) is None
                                  or sum(ch.isdigit() for ch in fields["phone"]) < 3):
            notes.append((line, f"{where}: phone {fields.pop('phone')[:40]!r} left out (not a phone number)"))
        if not ({"name", "email", "phone"} & fields.keys()):
            if item:  # an empty mapping says nothing worth a second note
                notes.append((line, f"{where} has no name, email or phone left; left out"))
            continue
        contacts.append(Contact(fields.get("name"), fields.get("role"), fields.get("email"), fields.get("phone")))
    return contacts, notes
