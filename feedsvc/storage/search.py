"""Full-text search over live releases (issue 17 item 5): FTS5 on SQLite, tsvector on PostgreSQL.

Both index what migration 0012 set up. Results come newest first, as every list on the site
does; the order never depends on either database's own ranking, so both answer alike.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from markupsafe import Markup

from ..model import StoredRelease
from ..searchterms import END, LT, START, fts5_match, marked_html, terms
from .reading import PUBLIC, row_to_release
from .schema import ReleaseRow, ReleaseTopicRow

if TYPE_CHECKING:
    from . import Storage

R = cast(sa.Table, ReleaseRow.__table__)
RT = cast(sa.Table, ReleaseTopicRow.__table__)
FTS = sa.table("release_fts", sa.column("rowid"), sa.column("release_fts"))
SNIPPET_WORDS = 24
# ts_headline's options: the same markers as FTS5's snippet(), about as many words.
PG_HEADLINE = (f"StartSel={START}, StopSel={END}, MaxWords={SNIPPET_WORDS}, MinWords=12, "
               "MaxFragments=2, FragmentDelimiter=\" … \"")


@dataclasses.dataclass(frozen=True)
class SearchHit:
    release: StoredRelease
    title: Markup  # the title, escaped, matches in <mark>
    snippet: Markup  # words around the matches in the body, the same way


class SearchMixin:
    def search(self: Storage, query: str, topic: str | None = None, place: str | None = None,  # type: ignore[misc]
               year: int | None = None, limit: int = 20, offset: int = 0,
               language: str | None = None) -> tuple[list[SearchHit], int]:
        """Public releases holding every word of `query` (in title, body or place), newest first,
        and how many there are in all. A query with no words finds nothing. `language`: a BCP 47
        tag; `fr` finds `fr-CA` too (languages.matches)."""
        words = terms(query)
        if not words:
            return [], 0
        filters: list[Any] = [PUBLIC]
        if topic:
            filters.append(sa.exists().where(RT.c.topic == topic, RT.c.release_id == R.c.id))
        if place:
            filters.append(sa.func.lower(R.c.location) == place.strip().lower())
        if language:
            filters.append(sa.or_(R.c.language == language, R.c.language.like(f"{language}-%")
                                  if "-" not in language else sa.false()))
        if year is not None:  # the day it is listed under: its stated date, else the day first seen
            filters.append(R.c.sort_day >= dt.date(year, 1, 1))
            filters.append(R.c.sort_day < dt.date(year + 1, 1, 1))
        order = [R.c.sort_day.desc(), R.c.first_seen.desc(), R.c.id.desc()]
        with self.read(f"searching releases for {query[:60]!r}") as conn:
            if self.dialect == "sqlite":
                match: Any = sa.text("release_fts MATCH :match").bindparams(match=fts5_match(words))
                source = R.join(FTS, FTS.c.rowid == R.c.seq)
                total = conn.execute(sa.select(sa.func.count()).select_from(source)
                                     .where(match, *filters)).scalar_one()
                # The page's rows first, then snippets for those 20 only: asked in one query,
                # SQLite computes snippet() for every match before sorting them.
                page = (sa.select(R.c.seq).select_from(source).where(match, *filters)
                        .order_by(*order).limit(limit).offset(offset).subquery("page"))
                marks = f"'{START}', '{END}'"
                rows = conn.execute(
                    sa.select(R, sa.literal_column(f"highlight(release_fts, 0, {marks})").label("hl_title"),
                              sa.literal_column(f"snippet(release_fts, 1, {marks}, '…', {SNIPPET_WORDS})")
                              .label("hl_body"))
                    .select_from(source).where(match, R.c.seq.in_(sa.select(page.c.seq))).order_by(*order)
                ).all()
            else:
                tsq = sa.func.plainto_tsquery(sa.literal_column("'simple'::regconfig"), " ".join(words))
                match = sa.literal_column("search_vector").op("@@")(tsq)
                total = conn.execute(sa.select(sa.func.count()).select_from(R)
                                     .where(match, *filters)).scalar_one()
                page = (sa.select(R).where(match, *filters).order_by(*order)
                        .limit(limit).offset(offset).subquery("page"))
                # Headlines for this page's rows only: ts_headline re-reads the whole text.
                body = sa.func.replace(sa.literal_column(
                    "array_to_string(ARRAY(SELECT jsonb_array_elements_text(page.paragraphs::jsonb)), ' ')"),
                    "<", LT)
                cfg: Any = sa.literal_column("'simple'::regconfig")
                rows = conn.execute(
                    sa.select(page, sa.func.ts_headline(cfg, sa.func.replace(page.c.title, "<", LT), tsq,
                                                        f"HighlightAll=true, StartSel={START}, StopSel={END}")
                              .label("hl_title"),
                              sa.func.ts_headline(cfg, body, tsq, PG_HEADLINE).label("hl_body"))
                    .order_by(page.c.sort_day.desc(), page.c.first_seen.desc(), page.c.id.desc())
                ).all()
        return [SearchHit(row_to_release(r), marked_html(r.hl_title), marked_html(r.hl_body or ""))
                for r in rows], int(total)
