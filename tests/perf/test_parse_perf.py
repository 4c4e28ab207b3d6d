"""Parse benchmark (issue 11, item 7): parse+normalise at 5,000 releases/s or more on one core, and no
single file of 20 MB over 10 s.

The corpus is generated here, seeded, from our own listings (data/releases and the goldens in
tests/data): every layout, each file one listing repeated with its titles varied, in the encodings
and line endings content arrives in. Figures are printed beside a reference measured in the same
run on the same bytes (decode, split lines, NFC each line), so runs on different machines compare;
the assertions are only that the releases are found (1% leeway in the corpus: a varied title may tip a
layout heuristic).

Run: .venv/bin/python -m pytest -m perf tests/perf/test_parse_perf.py -s
(FEEDSVC_PERF_RELEASES sets the corpus size, 20,000 releases by default.)
"""

from __future__ import annotations

import dataclasses
import os
import random
import re
import time
import unicodedata
from collections import defaultdict
from pathlib import Path

import pytest

from feedsvc import parsing
from feedsvc.model import ParseError, Release
from tests.conftest import ROOT

pytestmark = pytest.mark.perf

RELEASES = int(os.environ.get("FEEDSVC_PERF_RELEASES", "20000"))
ROUNDS = 5  # best of five: the least disturbed run of the same work (this machine's speed swings by half within minutes)
BIG_BYTES = 20_000_000  # parse_file's limit, and issue 11's "20 MB"
BIG_LISTING = ROOT / "data" / "releases" / "001_fa61b33868f5b55a.txt"
SEED = 11

# Words a layout rule may read in a title line (a date suffix, a label): never replaced.
_KEEP = frozenset((
    "january", "february", "march", "april", "june", "july", "august", "september", "sept", "october",
    "november", "december", "press", "release", "releases", "update", "statement"))
_WORD = re.compile(r"\b[A-Za-z]{4,}\b")
_TOKENS = re.compile(r"\w+")
_BEFORE_DASH = re.compile(r"\s*[-–—]")
# Encodings content arrives in, with their share of the corpus.
_ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1252")
_ENCODING_SHARES = (0.75, 0.10, 0.07, 0.08)


@dataclasses.dataclass(frozen=True)
class Template:
    """One of our listings, with the words of its title lines that a copy may vary."""

    name: str
    lines: tuple[str, ...]  # with their line endings
    newline: str
    releases: int
    titles: tuple[tuple[int, tuple[tuple[int, int], ...]], ...]  # (line index, word spans)
    stackable: bool  # two copies one after the other parse as twice the releases


@dataclasses.dataclass(frozen=True)
class Blob:
    name: str
    data: bytes
    encoding: str
    releases: int


def _title_lines(lines: list[str], releases: list[Release]) -> list[tuple[int, tuple[tuple[int, int], ...]]]:
    """For each release with a title, the line best matching it and the words there we may replace."""
    out = []
    starts = [r.line - 1 for r in releases] + [len(lines)]
    for r, start, end in zip(releases, starts, starts[1:], strict=False):
        if r.title_inferred or start < 0:
            continue
        want = set(_TOKENS.findall(r.title.casefold()))
        if not want:
            continue
        # The first line that matches best: a dateline below may repeat the title's words.
        score, best = max((len(want & set(_TOKENS.findall(lines[i].casefold()))) / len(want), -i)
                          for i in range(start, min(max(end, start + 1), len(lines))))
        spans = _replaceable(lines[-best])
        if score >= 0.6 and spans:
            out.append((-best, spans))
    return out


def _replaceable(line: str) -> tuple[tuple[int, int], ...]:
    """Words of a title line a copy may replace: not a month or a label, nor the first word or one
    before a dash (either may be a dateline's place)."""
    return tuple(m.span() for m in _WORD.finditer(line)
                 if m.group().casefold() not in _KEEP and not _BEFORE_DASH.match(line, m.end())
                 and line[:m.start()].strip(" \t•*·-–—"))


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\r" if "\r" in text else "\n"


def _join(copies: list[list[str]], newline: str) -> str:
    parts = []
    for lines in copies:
        text = "".join(lines)
        parts.append(text if text.endswith(("\n", "\r")) else text + newline)
    return newline.join(parts)  # a blank line between copies


def _same_case(word: str, like: str) -> str:
    return word.upper() if like.isupper() else word.capitalize() if like[0].isupper() else word


def vocabulary(templates: list[Template]) -> tuple[str, ...]:
    """The words our titles use: a replacement reads like a title and trips no rule a title would not."""
    return tuple(sorted({t.lines[i][a:b].lower() for t in templates for i, spans in t.titles for a, b in spans}))


def _vary(t: Template, words: tuple[str, ...], rng: random.Random) -> list[str]:
    """A copy of the listing with up to two words of each title replaced."""
    lines = list(t.lines)
    for i, spans in t.titles:
        line = lines[i]
        for a, b in sorted(rng.sample(spans, min(2, len(spans))), reverse=True):
            line = line[:a] + _same_case(rng.choice(words), line[a:b]) + line[b:]
        lines[i] = line
    return lines


def load_templates() -> list[Template]:
    """Every listing of ours the parser accepts; a golden meant to fail is left out."""
    out = []
    for path in sorted((ROOT / "data" / "releases").glob("*.txt")) + sorted((ROOT / "tests" / "data").glob("*.txt")):
        data = path.read_bytes()
        try:
            releases = parsing.parse_bytes(data, path.name)
        except ParseError:
            continue
        text = parsing.decode(data, path.name)
        lines = text.splitlines(keepends=True)
        newline = _newline(text)
        try:
            stackable = len(parsing.parse_text(_join([lines, lines], newline), path.name)) == 2 * len(releases)
        except ParseError:
            stackable = False
        out.append(Template(path.name, tuple(lines), newline, len(releases),
                            tuple(_title_lines(lines, releases)), stackable))
    return out


def _encode(text: str, encoding: str) -> tuple[bytes, str]:
    try:
        return text.encode(encoding), encoding
    except UnicodeEncodeError:  # Turkish or Arabic text has no cp1252 form
        return text.encode("utf-8"), "utf-8"


def make_corpus(templates: list[Template], releases: int, seed: int = SEED) -> list[Blob]:
    """Files of one listing each, repeated 1–8 times with varied titles, until `releases` is reached."""
    rng = random.Random(seed)
    words = vocabulary(templates)
    blobs: list[Blob] = []
    total = 0
    while total < releases:
        t = rng.choice(templates)
        copies = rng.randint(1, 8) if t.stackable else 1
        text = _join([_vary(t, words, rng) for _ in range(copies)], t.newline)
        data, encoding = _encode(text, rng.choices(_ENCODINGS, _ENCODING_SHARES)[0])
        blobs.append(Blob(f"{len(blobs):05}_{t.name}", data, encoding, copies * t.releases))
        total += copies * t.releases
    return blobs


def reference_pass(data: bytes) -> int:
    """What any reader of the file does: decode, split lines, NFC each line."""
    text = data.decode("utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8", "replace")
    return sum(len(unicodedata.normalize("NFC", line)) for line in text.splitlines())


def _mb(n: int) -> float:
    return n / 1_000_000


def test_parse_rate_on_mixed_layouts() -> None:
    templates = load_templates()
    blobs = make_corpus(templates, RELEASES)
    size = sum(len(b.data) for b in blobs)
    # A first pass counts what is found and warms the caches the rounds below then share.
    found = [len(parsing.parse_bytes(b.data, b.name)) for b in blobs]
    n, expected = sum(found), sum(b.releases for b in blobs)
    # A varied title may tip a layout heuristic in a file or two: generous, this only checks the
    # benchmark parses what it says it does.
    assert abs(n - expected) <= expected // 100, f"{n} releases found, {expected} expected"
    off = [(b.name, b.releases, k) for b, k in zip(blobs, found, strict=True) if k != b.releases]

    best_parse = best_ref = float("inf")
    by_encoding: dict[str, float] = {}
    for _ in range(ROUNDS):
        t = time.perf_counter()
        for b in blobs:
            reference_pass(b.data)
        best_ref = min(best_ref, time.perf_counter() - t)
        spent: dict[str, float] = defaultdict(float)
        for b in blobs:
            t = time.perf_counter()
            parsing.parse_bytes(b.data, b.name)
            spent[b.encoding] += time.perf_counter() - t
        if sum(spent.values()) < best_parse:
            best_parse, by_encoding = sum(spent.values()), dict(spent)

    layouts = len({b.name.split("_", 1)[1] for b in blobs})
    print(f"\ncorpus: {n:,} releases in {len(blobs):,} files, {_mb(size):.1f} MB, {layouts} of our "
          f"{len(templates)} listings (seed {SEED})")
    if off:
        print(f"  {len(off)} files not parsed to their listing's count times the copies (file, expected, found): "
              f"{off[:5]}")
    print(f"parse+normalise (parse_bytes, best of {ROUNDS}): {best_parse:.2f} s = {n / best_parse:,.0f} "
          f"releases/s, {_mb(size) / best_parse:.2f} MB/s (one process, one thread; target ≥ 5,000 releases/s)")
    print(f"reference (decode + splitlines + NFC): {best_ref:.3f} s = {_mb(size) / best_ref:.1f} MB/s; "
          f"parse+normalise takes {best_parse / best_ref:.1f}× the reference's time")
    for encoding, seconds in sorted(by_encoding.items()):
        subset = [b for b in blobs if b.encoding == encoding]
        count = sum(k for b, k in zip(blobs, found, strict=True) if b.encoding == encoding)
        print(f"  {encoding:9} {len(subset):5} files {count:7,} releases: {count / seconds:,.0f} releases/s, "
              f"{_mb(sum(len(b.data) for b in subset)) / seconds:.2f} MB/s")


def test_a_20_mb_file(tmp_path: Path) -> None:
    data = BIG_LISTING.read_bytes()
    templates = load_templates()
    template = next(t for t in templates if t.name == BIG_LISTING.name)
    assert template.stackable and template.titles
    words = vocabulary(templates)
    rng = random.Random(SEED)
    copies: list[list[str]] = []
    size = 0
    while size + len(data) + 2_000 < BIG_BYTES:  # room for one more copy, its words varied
        copies.append(_vary(template, words, rng))
        size += len("".join(copies[-1]).encode("utf-8")) + 2
    path = tmp_path / "big_listing.txt"
    path.write_bytes(_join(copies, template.newline).encode("utf-8"))
    size = path.stat().st_size
    assert size <= BIG_BYTES

    t = time.perf_counter()
    reference_pass(path.read_bytes())
    ref = time.perf_counter() - t
    t = time.perf_counter()
    releases = parsing.parse_file(path)
    took = time.perf_counter() - t

    n = len(copies) * template.releases
    print(f"\n{_mb(size):.1f} MB file ({len(copies):,} copies of {BIG_LISTING.name}, titles varied): "
          f"parse_file {took:.2f} s = {_mb(size) / took:.2f} MB/s, {len(releases) / took:,.0f} releases/s "
          f"(target ≤ 10 s); reference {ref:.3f} s, parse takes {took / ref:.1f}× the reference's time")
    assert len(releases) == n
    assert len({r.title for r in releases}) > n // 2  # the titles really vary
