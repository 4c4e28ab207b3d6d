"""Ingest benchmark: 10,000 generated listings (100,000 releases). Prints figures; asserts no time.

Run: .venv/bin/python -m pytest -m perf tests/perf/test_ingest_perf.py -s
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from feedsvc import parsing
from tests.conftest import PG_URL
from tests.perf.corpus import write_corpus

pytestmark = pytest.mark.perf

FILES = int(os.environ.get("FEEDSVC_PERF_FILES", "10000"))

CHILD = r"""
import resource, sys, time, json
from feedsvc.config import load_settings
from feedsvc.storage import Storage
from feedsvc.ingest import Ingester
s = load_settings()
st = Storage(s.database_url)
st.upgrade()
ing = Ingester(st, s.content_dir, s.topics_file, tag_authority="bench.example.org")
t = time.perf_counter(); full = ing.scan(); t_full = time.perf_counter() - t
t = time.perf_counter(); again = ing.scan(); t_rescan = time.perf_counter() - t
print(json.dumps({"full": t_full, "rescan": t_rescan, "new": full.summary.releases_new,
                  "changed_again": again.summary.files_changed,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    folder = tmp_path_factory.mktemp("corpus")
    n = write_corpus(folder, FILES)
    return folder, n


def test_parse_rate(corpus: tuple[Path, int]) -> None:
    folder, _ = corpus
    files = sorted(folder.rglob("*.txt"))[:1000]
    blobs = [(p.name, p.read_bytes()) for p in files]
    t = time.perf_counter()
    n = sum(len(parsing.parse_bytes(data, name)) for name, data in blobs)
    took = time.perf_counter() - t
    print(f"\nparse+normalise: {n} releases in {took:.2f}s = {n / took:,.0f} releases/s (one core; target ≥ 5,000)")
    assert n == len(files) * 10


def _ingest(corpus: tuple[Path, int], url: str, tmp: Path) -> dict:
    import json

    folder, n = corpus
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSVC_")}
    env.update(DATABASE_URL=url, FEEDSVC_CONTENT_DIR=str(folder), FEEDSVC_INSTANCE_DIR=str(tmp),
               LOG_LEVEL="WARNING")
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True,
                         check=True, timeout=3600)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["new"] == n and result["changed_again"] == 0
    return result


def _report(kind: str, r: dict, n: int) -> None:
    print(f"\n{kind}: full ingest of {n} releases in {r['full']:.1f}s ({n / r['full']:,.0f}/s); "
          f"re-scan of the unchanged folder {r['rescan']:.2f}s (target ≤ 1 s); "
          f"peak memory {r['peak_mb']:.0f} MB (target ≤ 300 MB)")


def test_ingest_sqlite(corpus: tuple[Path, int], tmp_path: Path) -> None:
    r = _ingest(corpus, f"sqlite:///{tmp_path / 'bench.sqlite3'}", tmp_path)
    _report("SQLite", r, corpus[1])


def test_ingest_postgresql(corpus: tuple[Path, int], tmp_path: Path) -> None:
    if not PG_URL:
        pytest.skip("set FEEDSVC_TEST_DATABASE_URL to benchmark PostgreSQL")
    from feedsvc.config import normalise_database_url
    from feedsvc.storage import Storage

    s = Storage(normalise_database_url(PG_URL, tmp_path))
    s.drop_everything()
    s.close()
    r = _ingest(corpus, PG_URL, tmp_path)
    _report("PostgreSQL", r, corpus[1])
