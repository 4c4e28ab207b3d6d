"""Release identity, decided without I/O: which stored release a parsed one is, and what to do.

Storage loads what one listing's plan needs (`StoredSnapshot`s), allocates `updated` instants,
and applies the intents; every decision of identity is here (issue 12, item 1: decide, then do).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import hashlib
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet

from .embargoes import Hold, HoldRule, no_hold
from .model import Release, sort_day

Classifier = Callable[[Release], tuple[str, ...]]

# A release whose title changed is the same release when most of its body is unchanged.
SAME_BODY_RATIO = 0.6
SAME_TITLE_RATIO = 0.8
# difflib is quadratic; the start of a body is enough to recognise it.
_COMPARED_CHARS = 4000


@dataclasses.dataclass(frozen=True, slots=True)
class StoredSnapshot:
    """What identity needs of one stored release."""

    id: str
    key: str
    title: str
    paragraphs: tuple[str, ...]
    content_hash: str
    topics: tuple[str, ...]
    first_seen: dt.datetime
    withdrawn: bool
    here: bool  # placed in the listing being planned when it was last read
    held: bool = False  # kept from the public by an embargo (public nowhere yet)


@dataclasses.dataclass(frozen=True, slots=True)
class New:
    """A release never seen before: a lasting id and tag URI minted now."""

    release: Release
    id: str
    atom_id: str
    first_seen: dt.datetime  # also its first `updated`
    sort_day: dt.date  # `model.sort_day`: the stated date, else the day first seen
    topics: tuple[str, ...]
    hold: Hold | None = None  # stored but public nowhere until this lifts


@dataclasses.dataclass(frozen=True, slots=True)
class Update:
    """A known release (id kept) whose content changed, or that comes back after a withdrawal."""

    id: str
    release: Release
    topics: tuple[str, ...]
    stored_topics: tuple[str, ...]  # as stored, also when withdrawn (its feeds change too)
    revived: bool  # it was withdrawn: live again, under `topics`
    sort_day: dt.date  # moves when an edit states, changes or removes the date
    first_seen: dt.datetime
    updated: dt.datetime | None  # None: content unchanged (only revived), `updated` stays
    key_changed: bool  # matched by its body, not its key (an edited title or place)
    held: bool = False  # stored held: nothing public changes, whatever the content
    hold: Hold | None = None  # for a held one, its hold now; None: it becomes public now


@dataclasses.dataclass(frozen=True, slots=True)
class Unchanged:
    """A known live release exactly as stored; only its place in the listing is written."""

    id: str
    release: Release
    held: bool = False
    hold: Hold | None = None  # as for Update


def keeps_back(intent: Intent) -> bool:
    """Whether nothing public changes by this intent: a held release, stored or kept held."""
    return intent.hold is not None or (not isinstance(intent, New) and intent.held)


def goes_public(intent: Intent) -> bool:
    """A held release whose embargo is gone (passed, or its line removed): public as of this scan."""
    return not isinstance(intent, New) and intent.held and intent.hold is None


@dataclasses.dataclass(frozen=True, slots=True)
class Left:
    """A release this listing held and holds no more (withdrawn at the scan's end if no file holds it)."""

    id: str


Intent = New | Update | Unchanged


@dataclasses.dataclass(frozen=True, slots=True)
class Matching:
    """Each parsed release paired with its stored self (None: never seen), before anything is minted."""

    pairs: tuple[tuple[Release, StoredSnapshot | None], ...]
    left: tuple[str, ...]

    @property
    def stamps_needed(self) -> int:
        """How many `updated` instants `plan_file` will hand out: one per new or changed release."""
        return sum(1 for r, s in self.pairs if s is None or s.content_hash != r.content_hash)


@dataclasses.dataclass(frozen=True, slots=True)
class FilePlan:
    """What storing one listing does, in listing order; `left` are ids it no longer holds."""

    intents: tuple[Intent, ...]
    left: tuple[Left, ...] = ()
    # Public releases whose file now states an embargo still to come: too late, it is ignored.
    late_embargoes: tuple[Release, ...] = ()

    @property
    def topics(self) -> set[str]:
        """Feeds whose content changes: the topics of new and updated releases, before and after.

        Held releases change no feed (one going public is storage's to count, as it lifts it).
        """
        out: set[str] = set()
        for i in self.intents:
            if keeps_back(i):
                continue
            if isinstance(i, New):
                out.update(i.topics)
            elif isinstance(i, Update):
                out.update(i.topics, i.stored_topics)
        if any(not isinstance(i, Unchanged) and not keeps_back(i) for i in self.intents):
            out.add("all")
        return out


class IdProbesExhausted(Exception):
    """Every loaded candidate id of a key is taken: load deeper candidates and plan again."""


def candidate_ids(key: str, probes: int) -> list[str]:
    """The ids a release with this key may get, in the order they are tried."""
    # The key of a release whose title was later corrected stays its id; a new release that
    # takes that old title again needs another id, derived the same way every time.
    return [key] + [hashlib.sha256(f"{key}:{n}".encode()).hexdigest()[:16] for n in range(1, probes)]


def _similarity(old: StoredSnapshot, new: Release) -> float:
    old_body = " ".join(old.paragraphs)
    if old_body and new.body:
        return difflib.SequenceMatcher(
            None, old_body[:_COMPARED_CHARS], new.body[:_COMPARED_CHARS]).ratio()
    if difflib.SequenceMatcher(None, old.title, new.title).ratio() >= SAME_TITLE_RATIO:
        return SAME_BODY_RATIO
    return 0.0


def match_file(parsed: Sequence[Release], stored: Iterable[StoredSnapshot]) -> Matching:
    """Pair each parsed release with the stored one it is: same key, else a similar one that left."""
    keys = {r.key for r in parsed}
    by_key = {s.key: s for s in stored if s.key in keys}
    # Ties go to the smallest id: the order SQLite read them in before planning moved here.
    vanished = sorted((s for s in stored if s.here and s.key not in keys), key=lambda s: s.id)
    pairs: list[tuple[Release, StoredSnapshot | None]] = []
    for r in parsed:
        snap = by_key.get(r.key)
        if snap is None and vanished:
            score, best = max(((_similarity(v, r), v) for v in vanished), key=lambda sv: sv[0])
            if score >= SAME_BODY_RATIO:
                snap = best
                vanished.remove(best)
        pairs.append((r, snap))
    return Matching(tuple(pairs), tuple(v.id for v in vanished))


def atom_id(tag_authority: str, first_seen: dt.datetime, rid: str) -> str:
    """The tag: URI (RFC 4151) of a release, dated by the day it was first seen."""
    return f"tag:{tag_authority},{first_seen.date().isoformat()}:release/{rid}"


def plan_file(matching: Matching, *, stamps: Sequence[dt.datetime], taken_ids: AbstractSet[str],
              probes: int, tag_authority: str, classify: Classifier, hold: HoldRule = no_hold) -> FilePlan:
    """Mint ids, tag URIs and instants for a matched listing and say what each release needs.

    Args:
        stamps: exactly `matching.stamps_needed` distinct `updated` instants, newest first.
        taken_ids: the stored ids among `candidate_ids(key, probes)` of the unmatched keys.
        hold: each release's embargo hold now (embargoes.holding); a public release is never held again.
    Raises:
        IdProbesExhausted: an unmatched key's `probes` candidate ids are all taken.
    """
    if len(stamps) != matching.stamps_needed:
        raise ValueError(f"{len(stamps)} stamps given, {matching.stamps_needed} needed")
    free_stamps = iter(stamps)
    minted: set[str] = set()
    intents: list[Intent] = []
    late: list[Release] = []
    for r, snap in matching.pairs:
        held = snap is not None and snap.held
        kept = hold(r) if snap is None or held else None
        if snap is not None and not held and r.embargo is not None and hold(r) is not None:
            late.append(r)
        if snap is None:
            first_seen = next(free_stamps)
            rid = next((c for c in candidate_ids(r.key, probes)
                        if c not in taken_ids and c not in minted), None)
            if rid is None:
                raise IdProbesExhausted(r.key)
            minted.add(rid)
            intents.append(New(release=r, id=rid, atom_id=atom_id(tag_authority, first_seen, rid),
                               first_seen=first_seen, sort_day=sort_day(r.date, first_seen),
                               topics=classify(r), hold=kept))
        elif snap.content_hash != r.content_hash or snap.withdrawn:
            changed = snap.content_hash != r.content_hash
            intents.append(Update(
                id=snap.id, release=r, topics=classify(r),
                stored_topics=snap.topics, revived=snap.withdrawn,
                sort_day=sort_day(r.date, snap.first_seen), first_seen=snap.first_seen,
                updated=next(free_stamps) if changed else None, key_changed=snap.key != r.key,
                held=held, hold=kept))
        else:
            intents.append(Unchanged(id=snap.id, release=r, held=held, hold=kept))
    return FilePlan(tuple(intents), tuple(Left(i) for i in matching.left), tuple(late))
