"""Release identity as a pure plan: inline releases and stored snapshots, no database."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

import pytest

from feedsvc import identity
from feedsvc.identity import FilePlan, Left, New, StoredSnapshot, Unchanged, Update
from feedsvc.model import Release, release_key

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
FIRST = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)
AUTHORITY = "example.org"

RESCUE = ("Izmir – The Turkish Coast Guard rescued 42 migrants on Tuesday off the coast, "
          "IOM said, and handed them food, water and blankets before taking them to shelters.")
OFFICE = ("Gaziantep – IOM opened a new field office to support the growing number of "
          "returnees and the host communities around them, with a staff of twelve.")


def release(title: str, body: str, *, position: int = 0, location: str | None = "Izmir",
            key: str | None = None, source: str = "a.txt") -> Release:
    return Release(source_file=source, position=position, title=title, title_inferred=False,
                   location=location, date=dt.date(2026, 3, 1), author=None, section=None,
                   paragraphs=(body,), key=key or release_key(title, location))


def stored(r: Release, *, rid: str | None = None, here: bool = False, withdrawn: bool = False,
           topics: tuple[str, ...] = ("migration",)) -> StoredSnapshot:
    return StoredSnapshot(id=rid or r.key, key=r.key, title=r.title, paragraphs=r.paragraphs,
                          content_hash=r.content_hash, topics=topics, first_seen=FIRST,
                          withdrawn=withdrawn, here=here)


def classify(r: Release) -> tuple[str, ...]:
    return ("migration",) if "migrants" in r.body else ()


def plan(parsed: Sequence[Release], snapshots: Sequence[StoredSnapshot] = (),
         taken: set[str] | None = None, probes: int = 2) -> FilePlan:
    """What storage does around the planner: match, hand out instants, mint."""
    matching = identity.match_file(parsed, snapshots)
    stamps = [NOW - dt.timedelta(seconds=i) for i in range(matching.stamps_needed)]
    ids = {s.id for s in snapshots} if taken is None else taken
    return identity.plan_file(matching, stamps=stamps, taken_ids=ids, probes=probes,
                              tag_authority=AUTHORITY, classify=classify)


def test_a_new_release_gets_its_key_as_id_and_a_dated_tag_uri() -> None:
    r = release("Migrants Rescued Off the Coast of Izmir", RESCUE)
    p = plan([r])
    assert p.intents == (New(release=r, id=r.key, atom_id=f"tag:example.org,2026-03-02:release/{r.key}",
                             first_seen=NOW, sort_day=dt.date(2026, 3, 1),
                             topics=("migration",)),)
    assert p.topics == {"migration", "all"}


def test_new_releases_take_instants_newest_first_in_listing_order() -> None:
    a = release("Migrants Rescued Off the Coast of Izmir", RESCUE)
    b = release("IOM Opens a New Office in Gaziantep", OFFICE, position=1, location="Gaziantep")
    first, second = plan([a, b]).intents
    assert isinstance(first, New) and isinstance(second, New)
    assert (first.first_seen, second.first_seen) == (NOW, NOW - dt.timedelta(seconds=1))


def test_an_unchanged_release_is_only_placed() -> None:
    r = release("Migrants Rescued Off the Coast of Izmir", RESCUE)
    p = plan([r], [stored(r, here=True)])
    assert p.intents == (Unchanged(id=r.key, release=r),) and p.left == ()
    assert p.topics == set()


def test_an_edited_title_keeps_its_id() -> None:
    old = release("Migrants Rescued Off the Coast of Izmr", RESCUE)
    new = release("Migrants Rescued Off the Coast of Izmir", RESCUE)
    assert new.key != old.key
    p = plan([new], [stored(old, here=True)])
    (u,) = p.intents
    assert isinstance(u, Update)
    assert (u.id, u.key_changed, u.revived, u.updated, u.first_seen) == (old.key, True, False, NOW, FIRST)
    assert p.left == ()


def test_an_edited_body_is_an_update_with_a_new_instant() -> None:
    old = release("Migrants Rescued Off the Coast of Izmir", RESCUE)
    new = dataclasses.replace(old, paragraphs=(RESCUE + " Two were taken to hospital.",))
    (u,) = plan([new], [stored(old, here=True, topics=("old-topic",))]).intents
    assert isinstance(u, Update) and (u.id, u.key_changed, u.updated) == (old.key, False, NOW)
    assert plan([new], [stored(old, here=True, topics=("old-topic",))]).topics == {
        "migration", "old-topic", "all"}


def test_a_different_release_in_the_same_slot_is_new_and_the_old_one_left() -> None:
    old = release("IOM Opens a New Office in Gaziantep", OFFICE, location="Gaziantep")
    new = release("Migrants Rescued Off the Coast of Izmir", RESCUE)
    p = plan([new], [stored(old, here=True)])
    assert [type(i) for i in p.intents] == [New] and p.left == (Left(old.key),)


def test_a_release_moved_between_files_keeps_its_id() -> None:
    r = release("Migrants Rescued Off the Coast of Izmir", RESCUE)
    # The file it left: it is gone from there (withdrawn only if no other file holds it).
    assert plan([], [stored(r, here=True)]) == FilePlan(intents=(), left=(Left(r.key),))
    # The file it joined: stored, not placed here before; the same release, unchanged.
    moved = dataclasses.replace(r, source_file="b.txt", position=3)
    assert plan([moved], [stored(r, here=False)]).intents == (Unchanged(id=r.key, release=moved),)


def test_a_withdrawn_release_returns_with_the_same_id() -> None:
    r = release("Migrants Rescued Off the Coast of Izmir", RESCUE)
    (u,) = plan([r], [stored(r, rid="first-id", withdrawn=True)]).intents
    assert isinstance(u, Update)
    # Same content: live again under its topics, its `updated` instant kept.
    assert (u.id, u.revived, u.updated, u.stored_topics) == ("first-id", True, None, ("migration",))


def test_duplicates_within_a_file_are_distinct_releases() -> None:
    # The parser keys a re-posted release (same title and place) apart within its file.
    a = release("Migrants Rescued Off the Coast of Izmir", RESCUE)
    b = release("Migrants Rescued Off the Coast of Izmir", RESCUE + " Updated.", position=1,
                key=release_key(a.title, "Izmir\x1f" + RESCUE + " Updated."))
    p = plan([a, b])
    assert [type(i) for i in p.intents] == [New, New]
    assert len({i.id for i in p.intents}) == 2
    # Read again: each keeps its own id, neither is confused with the other.
    again = plan([a, b], [stored(a, here=True), stored(b, here=True)])
    assert again.intents == (Unchanged(id=a.key, release=a), Unchanged(id=b.key, release=b))


def test_a_release_found_in_two_files_is_stored_once() -> None:
    r = release("Migrants Rescued Off the Coast of Izmir", RESCUE)
    (created,) = plan([r]).intents
    assert isinstance(created, New)
    # The second file's plan finds the stored release by its key: no second id.
    twin = dataclasses.replace(r, source_file="b.txt")
    assert plan([twin], [stored(r)]).intents == (Unchanged(id=created.id, release=twin),)


def test_a_key_taken_by_a_corrected_release_gets_the_next_derived_id() -> None:
    r = release("Migrants Rescued Off the Coast of Izmir", RESCUE)
    first, second = identity.candidate_ids(r.key, 2)
    (n,) = plan([r], taken={first}).intents
    assert isinstance(n, New) and n.id == second and n.atom_id.endswith(":release/" + second)
    with pytest.raises(identity.IdProbesExhausted):
        plan([r], taken={first, second})
    (deeper,) = plan([r], taken={first, second}, probes=3).intents
    assert isinstance(deeper, New) and deeper.id == identity.candidate_ids(r.key, 3)[2]


def test_only_a_similar_body_is_the_same_release() -> None:
    old = release("IOM Opens a New Office in Gaziantep", OFFICE, location="Gaziantep")
    retitled = release("IOM Opens Its Field Office in Gaziantep", OFFICE, location="Gaziantep")
    unrelated = release("Migrants Rescued Off the Coast of Izmir", RESCUE)
    p = plan([unrelated, retitled], [stored(old, here=True)])
    assert [(type(i), i.id) for i in p.intents] == [(New, unrelated.key), (Update, old.key)]


def test_stamps_must_match_what_the_plan_needs() -> None:
    r = release("Migrants Rescued Off the Coast of Izmir", RESCUE)
    matching = identity.match_file([r], [])
    with pytest.raises(ValueError):
        identity.plan_file(matching, stamps=[], taken_ids=set(), probes=2,
                           tag_authority=AUTHORITY, classify=classify)


# ---------------------------------------------------------------- embargoes (issue 17 item 1)

LATER = NOW + dt.timedelta(days=1)


def embargoed(r: Release, until: dt.datetime | None = LATER) -> Release:
    from feedsvc.model import Embargo

    return dataclasses.replace(r, embargo=Embargo("Embargoed until …", 1, until))


def plan_at(parsed: Sequence[Release], snapshots: Sequence[StoredSnapshot] = ()) -> FilePlan:
    from feedsvc.embargoes import holding

    matching = identity.match_file(parsed, snapshots)
    stamps = [NOW - dt.timedelta(seconds=i) for i in range(matching.stamps_needed)]
    return identity.plan_file(matching, stamps=stamps, taken_ids={s.id for s in snapshots}, probes=2,
                              tag_authority=AUTHORITY, classify=classify, hold=holding("UTC", NOW))


def test_a_new_embargoed_release_is_held_and_changes_no_feed() -> None:
    from feedsvc.embargoes import Hold

    r = embargoed(release("Migrants Rescued Off the Coast of Izmir", RESCUE))
    (intent,) = plan_at([r]).intents
    assert isinstance(intent, New) and intent.hold == Hold("Embargoed until …", LATER)
    assert plan_at([r]).topics == set()
    unreadable = embargoed(r, None)
    (intent,) = plan_at([unreadable]).intents
    assert isinstance(intent, New) and intent.hold == Hold("Embargoed until …", None)
    passed = embargoed(r, NOW)
    (intent,) = plan_at([passed]).intents
    assert isinstance(intent, New) and intent.hold is None and plan_at([passed]).topics == {"migration", "all"}


def test_a_held_release_stays_held_or_goes_public_when_its_embargo_is_gone() -> None:
    r = release("Migrants Rescued Off the Coast of Izmir", RESCUE)
    snap = dataclasses.replace(stored(r, here=True), held=True)
    (still,) = plan_at([embargoed(r)], [snap]).intents
    assert isinstance(still, Unchanged) and still.held and still.hold is not None
    assert identity.keeps_back(still) and not identity.goes_public(still)
    for gone in (r, embargoed(r, NOW - dt.timedelta(seconds=1))):
        (public,) = plan_at([gone], [snap]).intents
        assert isinstance(public, Unchanged) and identity.goes_public(public)
    edited = dataclasses.replace(embargoed(r), paragraphs=(RESCUE + " More.",))
    p = plan_at([edited], [snap])
    (update,) = p.intents
    assert isinstance(update, Update) and update.held and update.hold is not None and p.topics == set()


def test_an_embargo_on_a_public_release_is_too_late() -> None:
    r = release("Migrants Rescued Off the Coast of Izmir", RESCUE)
    p = plan_at([embargoed(r)], [stored(r, here=True)])
    (intent,) = p.intents
    assert isinstance(intent, Unchanged) and intent.hold is None and not intent.held
    assert p.late_embargoes == (embargoed(r),)
