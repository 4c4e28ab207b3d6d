"""Statement sizes: no statement carries more bound parameters than the database allows (issue 14).

SQLite allows 32,766 per statement (SQLITE_MAX_VARIABLE_NUMBER since 3.32; some builds more),
PostgreSQL's protocol 65,535. A listing of 100,000 releases asks about more keys than either, so
long IN lists go out in batches of IN_BATCH values, well under both.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

IN_BATCH = 10_000


def batches(items: Sequence[T], size: int = IN_BATCH) -> Iterator[Sequence[T]]:
    """`items` in consecutive slices of at most `size` (at least 1)."""
    size = max(1, size)
    for start in range(0, len(items), size):
        yield items[start:start + size]
