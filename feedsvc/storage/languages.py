"""Releases' languages and translation groups (issue 17 item 2): what is stored, and read back for feeds and pages."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence

import sqlalchemy as sa

from ..languages import Translation, TranslationMember
from .base import StorageBase
from .batches import batches
from .pages import pages_changed
from .reading import PUBLIC
from .schema import FILES as F
from .schema import OCCURRENCES as OCC
from .schema import PUBLIC_SQL
from .schema import RELEASES as R

# The distinct languages of public releases as a loose index scan: one seek of ix_releases_language_order
# per language (a handful), not a walk over every public release, so pages can ask on every view.
_LANGUAGES = sa.text(f"""
WITH RECURSIVE langs(tag) AS (
    SELECT min(language) FROM releases WHERE {PUBLIC_SQL} AND language IS NOT NULL
    UNION ALL
    SELECT (SELECT min(language) FROM releases WHERE {PUBLIC_SQL} AND language > langs.tag)
    FROM langs WHERE langs.tag IS NOT NULL
)
SELECT tag FROM langs WHERE tag IS NOT NULL""")
_MARKDOWN = sa.or_(sa.func.lower(OCC.c.path).like("%.md"), sa.func.lower(OCC.c.path).like("%.markdown"))


class LanguagesMixin(StorageBase):
    def unidentified_releases(self, limit: int = 1000) -> list[tuple[str, str, tuple[str, ...]]]:
        """(id, title, paragraphs) of releases with no language yet: stored before migration 0019."""
        with self.read("reading releases with no language") as conn:
            rows = conn.execute(sa.select(R.c.id, R.c.title, R.c.paragraphs).where(R.c.language.is_(None))
                                .order_by(R.c.id).limit(limit))
            return [(r.id, r.title, tuple(json.loads(r.paragraphs))) for r in rows]

    def set_languages(self, languages: Mapping[str, str]) -> set[str]:
        """Store identified languages; the feeds whose entries now say another language (topics and "all")."""
        touched: set[str] = set()
        with self.begin("storing release languages", lock=True) as conn:
            for rid, tag in languages.items():
                row = conn.execute(R.update().where(R.c.id == rid, R.c.language.is_(None)).values(language=tag)
                                   .returning(R.c.topics, R.c.withdrawn_at, R.c.embargo)).first()
                if row is not None and row.withdrawn_at is None and row.embargo is None:
                    touched |= {"all", *row.topics.split()}
            if touched:  # a page shows its release's language (lang, dir) and the feeds per language
                pages_changed(conn)
        return touched

    def translation_members(self) -> list[TranslationMember]:
        """Live releases of Markdown files, any stating `translation_of`, and those a listing holds in
        several languages (occurrences.translation_slot): what groups are made of."""
        stated = sa.or_(_MARKDOWN, R.c.translation_of.is_not(None))
        with self.read("reading translations") as conn:
            rows = conn.execute(
                sa.select(R.c.id, R.c.translation_of, OCC.c.path, OCC.c.translation_slot, stated.label("stated"))
                .select_from(R.outerjoin(OCC, OCC.c.release_id == R.c.id))
                .where(R.c.withdrawn_at.is_(None), sa.or_(stated, OCC.c.translation_slot.is_not(None)))
                .order_by(R.c.id, OCC.c.path)).all()
        members: dict[str, TranslationMember] = {}
        for r in rows:
            m = members.get(r.id) or TranslationMember(r.id, (), r.translation_of)
            # Only the paths the stated rules read, as before: a listing's path names no one release.
            paths = (*m.paths, *([r.path] if r.path and r.stated else []))
            listed = (*m.listed, *([(r.path, r.translation_slot)] if r.translation_slot is not None else []))
            members[r.id] = TranslationMember(r.id, paths, r.translation_of, listed)
        return list(members.values())

    def set_translation_groups(self, groups: Mapping[str, str]) -> set[str]:
        """Make the stored groups these (release id → group id; others: none); the feeds whose entries changed."""
        touched: set[str] = set()
        with self.begin("storing translation groups", lock=True) as conn:
            stored = {r.id: (r.translation_group, r.topics, r.withdrawn_at is None and r.embargo is None)
                      for r in conn.execute(sa.select(R.c.id, R.c.translation_group, R.c.topics, R.c.withdrawn_at,
                                                      R.c.embargo).where(R.c.translation_group.is_not(None)))}
            changed = {rid: g for rid, g in groups.items() if stored.get(rid, (None,))[0] != g}
            changed |= {rid: None for rid in stored if rid not in groups}
            for rid, group in changed.items():
                row = conn.execute(R.update().where(R.c.id == rid).values(translation_group=group)
                                   .returning(R.c.topics, R.c.withdrawn_at, R.c.embargo)).first()
                if row is not None and row.withdrawn_at is None and row.embargo is None:
                    touched |= {"all", *row.topics.split()}
            if touched:  # a release page lists its translations
                pages_changed(conn)
        return touched

    def translations(self, groups: Iterable[str]) -> dict[str, list[Translation]]:
        """group id → its public releases with a language, for pages' and feeds' hreflang links."""
        wanted = sorted(set(groups))
        out: dict[str, list[Translation]] = {}
        if not wanted:
            return out
        with self.read("reading translations") as conn:
            for batch in batches(wanted):
                for r in conn.execute(sa.select(R.c.id, R.c.language, R.c.translation_group)
                                      .where(PUBLIC, R.c.translation_group.in_(batch), R.c.language.is_not(None))
                                      .order_by(R.c.id)):
                    out.setdefault(r.translation_group, []).append(Translation(r.id, r.language))
        return out

    def release_languages(self) -> list[str]:
        """The languages public releases are in, sorted: each has its own feeds and is a search filter."""
        with self.read("reading release languages") as conn:
            return sorted(t for (t,) in conn.execute(_LANGUAGES))

    def add_file_warnings(self, path: str, messages: Sequence[tuple[int | None, str]]) -> None:
        """Add warnings found after a file was stored (a `translation_of:` naming nothing) to its last read's."""
        with self.begin(f"recording warnings of {path}") as conn:
            raw = conn.execute(sa.select(F.c.warnings).where(F.c.path == path)).first()
            if raw is None:
                return
            have = [list(w) for w in json.loads(raw.warnings)] if raw.warnings else []
            new = [[line, message] for line, message in messages if [line, message] not in have]
            if new:
                conn.execute(F.update().where(F.c.path == path).values(
                    warnings=json.dumps(have + new, ensure_ascii=False)))
