"""The real listing set beside the checkout (../shared/listings) against its expected.json.

The twelve files are other organisations' pages, so the repository never carries a copy: this
test reads them where they are and skips when the folder is absent (with FEEDSVC_REQUIRE_ALL=1,
as CI sets it, an absent folder fails instead). Each file is one test and is judged the way
../shared/listings/score.py judges `feedsvc parse --json`:

- parsed releases are matched to expected ones by aligning titles with difflib (key: the folded
  title, lower-cased, first 60 characters; an untitled release is keyed by its body), so one
  missed or extra release costs one, not the rest of the file;
- a matched release is exact when title, location, date and author are equal and its body (the
  paragraphs joined by spaces) starts with `body_startswith`, both sides folded: NFC, no-break
  spaces to spaces, whitespace runs to one space, stripped; an inferred title never matches;
- a parsed release matched to no expected one is an extra, and an extra is a failure.

A failure lists every mismatch of the file.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from feedsvc.model import ParseError
from feedsvc.parsing import parse_file
from tests.conftest import skip_or_fail

LISTINGS = Path(__file__).resolve().parents[2] / "shared" / "listings"
EXPECTED_JSON = LISTINGS / "expected.json"
MISSING = (
    f"the real listing set is not beside the checkout ({LISTINGS} with files/ and expected.json "
    "is absent)"
)


def _names() -> list[str]:
    if not EXPECTED_JSON.is_file():
        return []
    return list(json.loads(EXPECTED_JSON.read_text(encoding="utf-8")))


NAMES = _names()


def fold(text: str | None) -> str:
    """score.py's fold: NFC, no-break spaces to spaces, whitespace runs to one space, stripped."""
    nfc = unicodedata.normalize("NFC", (text or "").replace("\u00a0", " "))
    return re.sub(r"\s+", " ", nfc).strip()


def differences(exp: dict[str, Any], got: dict[str, Any]) -> list[str]:
    bad = []
    title = got.get("title") or ""
    if fold(title) != fold(exp["title"]) or title != title.strip() or got.get("title_inferred"):
        inferred = " (inferred)" if got.get("title_inferred") else ""
        bad.append(f"title {title!r}{inferred} != {exp['title']!r}")
    for field in ("location", "date", "author"):
        if (got.get(field) or None) != (exp.get(field) or None):
            bad.append(f"{field} {got.get(field)!r} != {exp.get(field)!r}")
    body = fold(" ".join(got.get("paragraphs") or []))
    want = fold(exp.get("body_startswith", ""))
    if not body.startswith(want):
        bad.append(f"body {body[:60]!r} does not start with {want!r}")
    return bad


def mismatches(expected: list[dict[str, Any]], got: list[dict[str, Any]]) -> list[str]:
    """Every problem of one file, as score.py counts them (missing, inexact, extra)."""

    def key(text: str | None) -> str:
        return fold(text).lower()[:60]

    a = [key(e.get("title")) for e in expected]
    b = [key(g.get("title") or " ".join(g.get("paragraphs") or [])) for g in got]
    pairs: dict[int, int] = {}
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op in ("equal", "replace"):
            for k in range(min(i2 - i1, j2 - j1)):
                pairs[i1 + k] = j1 + k
    problems = []
    for i, exp in enumerate(expected):
        if i not in pairs:
            problems.append(f"#{i} missing: {exp['title'][:70]!r}")
            continue
        bad = differences(exp, got[pairs[i]])
        if bad:
            problems.append(f"#{i} {exp['title'][:50]!r}: " + "; ".join(bad))
    used = set(pairs.values())
    problems += [
        f"extra release at position {j}: {(g.get('title') or '')[:70]!r}"
        for j, g in enumerate(got)
        if j not in used
    ]
    return problems


@pytest.mark.parametrize("name", NAMES or ["<shared listings absent>"])
def test_real_listing(name: str) -> None:
    if not NAMES:
        skip_or_fail(MISSING)
    expected = json.loads(EXPECTED_JSON.read_text(encoding="utf-8"))[name]
    path = LISTINGS / "files" / name
    assert path.is_file(), f"expected.json names {name} but {path} does not exist"
    try:
        got = [r.to_json() for r in parse_file(path)]
    except ParseError as exc:
        pytest.fail(f"{name}: the parser refused the file: {exc}")
    problems = mismatches(expected, got)
    if problems:
        exact = len(expected) - sum(1 for p in problems if p.startswith("#"))
        extra = sum(1 for p in problems if p.startswith("extra"))
        pytest.fail(
            f"{name}: {exact}/{len(expected)} exact, {extra} extra\n  " + "\n  ".join(problems),
            pytrace=False,
        )


def test_every_listing_file_is_expected() -> None:
    if not NAMES:
        skip_or_fail(MISSING)
    files = sorted(p.name for p in (LISTINGS / "files").iterdir() if p.is_file())
    assert files == sorted(NAMES), "files/ and expected.json must name the same listings"


# The same page as another site's export or an editor would save it: line endings, blank lines
# doubled, every line indented, trailing spaces. None of these changes what a reader sees, so
# none may change the releases (the parser reads evidence, not exact whitespace).
RESAVED = {
    "crlf": lambda t: t.replace("\r\n", "\n").replace("\n", "\r\n"),
    "blank-lines-doubled": lambda t: re.sub(r"\n[ \t]*\n", "\n\n\n", t.replace("\r\n", "\n")),
    "indented": lambda t: "\n".join("    " + line if line.strip() else line for line in t.replace("\r\n", "\n").split("\n")),
    "trailing-spaces": lambda t: "\n".join(line + "  " if line.strip() else line for line in t.replace("\r\n", "\n").split("\n")),
}


@pytest.mark.parametrize("how", sorted(RESAVED))
def test_real_listings_resaved_give_the_same_releases(how: str) -> None:
    if not NAMES:
        skip_or_fail(MISSING)
    from feedsvc.parsing import decode, parse_text

    failures = []
    for name, expected in json.loads(EXPECTED_JSON.read_text(encoding="utf-8")).items():
        path = LISTINGS / "files" / name
        text = RESAVED[how](decode(path.read_bytes(), name))
        problems = mismatches(expected, [r.to_json() for r in parse_text(text, name)])
        if problems:
            failures.append(f"{name}: " + "; ".join(problems))
    assert not failures, f"resaved ({how}):\n  " + "\n  ".join(failures)
