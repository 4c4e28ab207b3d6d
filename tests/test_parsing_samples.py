"""The three sample listings of data/releases against seeds_expected.json, field by field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from feedsvc.parsing import parse_file

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "releases"
EXPECTED: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent / "data" / "seeds_expected.json").read_text(encoding="utf-8")
)
NAMES = sorted(name for name in EXPECTED if not name.startswith("_"))


@pytest.mark.parametrize("name", NAMES)
def test_sample_matches_expected(name: str) -> None:
    releases = parse_file(SAMPLES / name)
    expected = EXPECTED[name]
    assert [r.title for r in releases if not r.title_inferred] == [
        e["title"] for e in expected if e["title"] is not None
    ]
    assert len(releases) == len(expected)
    for release, want in zip(releases, expected, strict=False):
        where = f"{name}[{release.position}]"
        if want["title"] is None:
            assert release.title_inferred and release.title, where
        else:
            assert not release.title_inferred and release.title == want["title"], where
        assert release.location == want["location"], where
        assert (release.date.isoformat() if release.date else None) == want["date"], where
        assert release.author == want["author"], where
        assert release.section == want["section"], where
        assert release.body.startswith(want["body_startswith"]), f"{where}: {release.body[:60]!r}"
        assert len(release.paragraphs) == want["paragraphs"], where
        assert release.source_file == name


def test_every_sample_is_covered() -> None:
    assert sorted(p.name for p in SAMPLES.glob("*.txt")) == NAMES
