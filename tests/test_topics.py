"""feedsvc.topics: the taxonomy file and the classification rules, one small case per rule."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedsvc.model import ConfigError, Release, StoredRelease
from feedsvc.topics import Taxonomy, classify, fold, load_taxonomy, parse_taxonomy

ROOT = Path(__file__).resolve().parents[1]
TOPICS_TOML = ROOT / "data" / "topics.toml"
EXPECTED = ROOT / "tests" / "data" / "seeds_expected.json"

SMALL = """
[[topic]]
slug = "health"
title = "Health and COVID-19"
words = ["health", "covid-19", "social cohesion", "traffick*"]

[[topic]]
slug = "borders"
title = "Borders"
words = ["border"]
places = ["Edirne", "İstanbul", "Çeşme"]

[[topic]]
slug = "opinion"
title = "Opinion"
authored = true
words = ["op-ed"]
"""


def release(title: str = "A title", *paragraphs: str, location: str | None = None, author: str | None = None,
            section: str | None = None, topics: tuple[str, ...] = ()) -> Release:
    return Release(source_file="t.txt", position=0, title=title, title_inferred=False, location=location,
                   date=None, author=author, section=section, paragraphs=paragraphs, topics=topics)


@pytest.fixture(scope="module")
def small() -> Taxonomy:
    return parse_taxonomy(SMALL, "small.toml")


@pytest.fixture(scope="module")
def shipped() -> Taxonomy:
    return load_taxonomy(TOPICS_TOML)


# --- matching rules -------------------------------------------------------------------------------

def test_whole_word_only(small: Taxonomy) -> None:
    assert classify(release("Health for all"), small) == ("health",)
    assert classify(release("A healthy lunch", "Unhealthy, healthier."), small) == ()
    assert classify(release("Crossborder trade"), small) == ()


def test_case_insensitive(small: Taxonomy) -> None:
    assert classify(release("HEALTH WORKERS"), small) == ("health",)
    assert classify(release("Covid-19 cases"), small) == ("health",)


def test_phrase_across_line_breaks_and_odd_spaces(small: Taxonomy) -> None:
    for text in ("social\ncohesion", "social  cohesion", "social\u00a0cohesion", "Social\r\n\tCohesion"):
        assert classify(release("Title", f"Work on {text} today."), small) == ("health",), text


def test_phrase_does_not_match_a_partial_word(small: Taxonomy) -> None:
    assert classify(release("Social cohesions"), small) == ()


def test_hyphen_in_a_term_matches_hyphen_space_or_nothing(small: Taxonomy) -> None:
    for text in ("COVID-19", "COVID 19", "covid19", "COVID\u201119", "COVID–19"):
        assert classify(release(text), small) == ("health",), text


def test_trailing_star_matches_any_ending(small: Taxonomy) -> None:
    for word in ("trafficking", "Traffickers", "trafficked", "traffick"):
        assert classify(release(word), small) == ("health",), word
    assert classify(release("antitrafficking"), small) == ()  # still whole-word at the start


def test_matches_title_paragraphs_and_section(small: Taxonomy) -> None:
    assert classify(release("Nothing", "a border here"), small) == ("borders",)
    assert classify(release("Nothing", "nothing", section="Border news"), small) == ("borders",)


def test_places_match_the_dateline_only(small: Taxonomy) -> None:
    assert classify(release("Nothing", location="Edirne"), small) == ("borders",)
    assert classify(release("Nothing", location="Çeşme, Western Turkey"), small) == ("borders",)
    assert classify(release("Nothing", "Edirne is a city"), small) == ()  # a place in the body is no dateline
    assert classify(release("Nothing", location="Ankara"), small) == ()


def test_turkish_and_accented_letters_fold(small: Taxonomy) -> None:
    assert fold("İSTANBUL") == fold("Istanbul") == fold("istanbul") == "istanbul"
    assert fold("ÇEŞME") == "cesme"
    assert fold("Sığınmacı") == "siginmaci"
    for place in ("ISTANBUL", "İstanbul", "istanbul", "Cesme", "ÇEŞME"):
        assert classify(release("Nothing", location=place), small) == ("borders",), place


def test_authored_topic_takes_releases_with_a_byline(small: Taxonomy) -> None:
    assert classify(release("Thoughts", author="António Vitorino"), small) == ("opinion",)
    assert classify(release("Thoughts"), small) == ()
    assert classify(release("An op-ed"), small) == ("opinion",)


def test_front_matter_topics_are_added_by_slug_or_title(small: Taxonomy) -> None:
    assert classify(release("Nothing", topics=("borders",)), small) == ("borders",)
    assert classify(release("Nothing", topics=("health and covid-19",)), small) == ("health",)
    assert classify(release("Health", topics=("borders", "health")), small) == ("borders", "health")


def test_unknown_front_matter_topic_is_ignored(small: Taxonomy) -> None:
    assert classify(release("Nothing", topics=("space-travel",)), small) == ()


def test_no_match_is_an_empty_tuple(small: Taxonomy) -> None:
    assert classify(release("Nothing to see", "Really nothing."), small) == ()


def test_result_is_sorted_and_unique(small: Taxonomy) -> None:
    got = classify(release("op-ed on health at the border", "health border", location="Edirne",
                           author="X", topics=("health", "borders")), small)
    assert got == ("borders", "health", "opinion")


def test_stored_release_is_accepted(small: Taxonomy) -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    stored = StoredRelease(id="a", atom_id="tag:x,2026:a", title="Border", title_inferred=False,
                           location="Ankara", date=None, author=None, section=None, paragraphs=("p",),
                           topics=(), published=now, updated=now, first_seen=now)
    assert classify(stored, small) == ("borders",)


# --- the taxonomy file ----------------------------------------------------------------------------

def test_shipped_taxonomy_loads(shipped: Taxonomy) -> None:
    assert len(shipped.topics) >= 8
    assert shipped.by_slug("health") is not None
    assert shipped.by_slug("nope") is None
    assert "opinion" in shipped.authored
    assert shipped.titles["counter-trafficking"] == "Counter-trafficking"
    assert len(shipped.digest) == 64


def _sample_releases() -> list[Release]:
    data = json.loads(EXPECTED.read_text(encoding="utf-8"))
    out = []
    for name, items in sorted(data.items()):
        if name.startswith("_"):
            continue
        for position, item in enumerate(items):
            body = item["body_startswith"]
            out.append(Release(
                source_file=name, position=position, title=item["title"] or body,
                title_inferred=item["title"] is None, location=item["location"], date=None,
                author=item["author"], section=item["section"], paragraphs=(body,) if body else ()))
    return out


def test_every_sample_release_has_a_topic(shipped: Taxonomy) -> None:
    samples = _sample_releases()
    assert len(samples) == 23
    missing = [r.title for r in samples if not classify(r, shipped)]
    assert missing == []


def test_sample_releases_land_where_a_reader_expects(shipped: Taxonomy) -> None:
    by_title = {r.title[:40]: classify(r, shipped) for r in _sample_releases()}
    expect = {
        "More than 13,000 Migrants Reported Along": "borders-and-emergencies",
        "IOM and Turkey’s Migration Directorate S": "counter-trafficking",
        "IOM and the European Union Helping Thous": "return-and-reintegration",
        "Focus on Social Cohesion at IOM Co-Hoste": "social-cohesion",
        "IOM Turkey Calls for Greater Assistance ": "health",
        "Turkish Airlines and IOM Sign Long Term ": "partnerships-and-funding",
        "Global Migration Film Festival kicks off": "events-and-campaigns",
        "With Public and Private Sectors at Odds,": "opinion",
        "Heartbreak as Women and Children Perish ": "borders-and-emergencies",
    }
    for title, slug in expect.items():
        assert slug in by_title[title], (title, by_title[title])


def test_parsed_sample_listings_each_have_a_topic(shipped: Taxonomy) -> None:
    parsing = pytest.importorskip("feedsvc.parsing", reason="feedsvc.parsing is not written yet")
    if not hasattr(parsing, "parse_file"):
        pytest.skip("feedsvc.parsing.parse_file is not written yet")
    files = sorted((ROOT / "data" / "releases").glob("*.txt"))
    releases = [r for path in files for r in parsing.parse_file(path)]
    assert releases
    assert [r.title for r in releases if not classify(r, shipped)] == []


def test_digest_ignores_layout_but_not_rules(tmp_path: Path) -> None:
    path = tmp_path / "topics.toml"
    path.write_text(SMALL, encoding="utf-8")
    first = load_taxonomy(path).digest
    # Comments, blank lines, topic order and word order change nothing classify() does.
    blocks = SMALL.strip().split("\n\n")
    path.write_text("# a comment\n\n" + "\n\n".join(reversed(blocks)) + "\n", encoding="utf-8")
    assert load_taxonomy(path).digest == first
    path.write_text(SMALL.replace('"border"]', '"border", "frontier"]'), encoding="utf-8")
    assert load_taxonomy(path).digest != first
    path.write_text(SMALL.replace("authored = true", "authored = false"), encoding="utf-8")
    assert load_taxonomy(path).digest != first


@pytest.mark.parametrize(("text", "reason"), [
    ("[[topic]\nslug = 'a'", "invalid TOML"),
    ("", "no [[topic]] tables"),
    ("[[topic]]\nslug='a'\ntitle='A'\nwords=['x']\n[[topic]]\nslug='a'\ntitle='B'\nwords=['y']",
     "duplicate slug 'a'"),
    ("[[topic]]\nslug='Not OK'\ntitle='A'\nwords=['x']", "slug must be"),
    ("[[topic]]\nslug='a_b'\ntitle='A'\nwords=['x']", "slug must be"),
    ("[[topic]]\nslug='a'\ntitle='A'", "no words"),
    ("[[topic]]\nslug='a'\ntitle='A'\nwords=[]", "no words"),
    ("[[topic]]\nslug='a'\ntitle='A'\nwords='x'", "words must be a list of strings"),
    ("[[topic]]\nslug='a'\ntitle='A'\nwords=['x', '  ']", "must start with a letter or digit"),
    ("[[topic]]\nslug='a'\ntitle='A'\nword=['x']", "unknown key(s) word"),
    ("[[topic]]\nslug='a'\nwords=['x']", "title is missing"),
    ("[[topic]]\nslug='a'\ntitle='A'\nwords=['x']\nauthored='yes'", "authored must be true or false"),
])
def test_bad_taxonomy_names_file_and_reason(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_taxonomy(path)
    assert str(path) in str(caught.value)
    assert reason in str(caught.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_taxonomy(tmp_path / "nope.toml")


def test_places_only_topic_is_allowed() -> None:
    tax = parse_taxonomy("[[topic]]\nslug='edirne'\ntitle='Edirne'\nplaces=['Edirne']")
    assert classify(release("x", location="EDIRNE"), tax) == ("edirne",)


# --- the fast matcher agrees with the plain rule ------------------------------------------------

def _reference(r: Release, tax: Taxonomy) -> tuple[str, ...]:
    """The rules stated plainly: one whole-word regex per term, searched in the folded text."""
    from feedsvc.topics import _term_pattern

    def hit(terms: tuple[str, ...], text: str) -> bool:
        return any(re.search(r"(?<!\w)(?:" + _term_pattern(t) + r")(?!\w)", text) for t in terms)

    text = fold("\n".join([r.title, *r.paragraphs, *([r.section] if r.section else [])]))
    place = fold(r.location or "")
    return tuple(sorted(
        t.slug for t in tax.topics
        if hit(t.words, text) or (place and hit(t.places, place)) or (t.slug in tax.authored and r.author)))


_SHIPPED = load_taxonomy(TOPICS_TOML)
_VOCAB = sorted({w for t in _SHIPPED.topics for w in (*t.words, *t.places)})
_PIECE = st.one_of(
    st.sampled_from(_VOCAB).map(lambda w: w.rstrip("*")),
    st.sampled_from(_VOCAB).map(lambda w: w.rstrip("*") + "s"),  # word forms that must not match
    st.sampled_from(_VOCAB).map(lambda w: "x" + w.rstrip("*")),
    st.sampled_from(_VOCAB).map(lambda w: w.upper().replace(" ", "\n").replace("-", " ")),
    st.sampled_from(["-", "–", ",", "'", "’", "İ", "ı", "19", "ing", "ers", ""]),
    st.text(max_size=5),
)


@settings(max_examples=200, deadline=None)
@given(pieces=st.lists(_PIECE, max_size=12), seps=st.lists(st.sampled_from([" ", "", "\n", "  ", "-", "."]),
                                                           min_size=12, max_size=12),
       location=st.one_of(st.none(), _PIECE))
def test_fast_matcher_agrees_with_plain_regexes(pieces: list[str], seps: list[str], location: str | None) -> None:
    text = "".join(p + s for p, s in zip(pieces, seps, strict=False))
    r = release(text[:40], text, location=location)
    assert classify(r, _SHIPPED) == _reference(r, _SHIPPED)
