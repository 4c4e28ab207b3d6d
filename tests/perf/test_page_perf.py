"""Page-serving benchmark (issue 17 item 7). Prints figures and ratios; asserts no time.

The home page, the biggest topic's page and the newest release's page, 200 and 304 (If-None-Match),
with wrk -t2 -c32 against the service under gunicorn -w 2 (sync, and gthread --threads 8) and
against the bare WSGI callable of tests/perf/servers.py serving the same bytes and headers under the
same settings: with the feed benchmark's small site (100 releases) and with 100,000 stored, on
SQLite and PostgreSQL (the database of FEEDSVC_TEST_DATABASE_URL, which this EMPTIES). Every page
request of the service reads the pages' version from the database (storage/pages.py); the target
is the service at ≥ 0.5× the bare callable.

Run: FEEDSVC_TEST_DATABASE_URL=postgresql://… .venv/bin/python -m pytest -m perf tests/perf/test_page_perf.py -s
FEEDSVC_PERF_BIG=0 skips the 100,000-release database; FEEDSVC_PERF_RELEASES sets its size;
FEEDSVC_PERF_SECONDS the wrk duration (10); FEEDSVC_PERF_ROUNDS=n keeps the best of n wrk runs (1);
FEEDSVC_PERF_WORKERS the gunicorn worker classes (sync,gthread).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest

from tests.perf import servers
from tests.perf.test_feed_perf import BIG, BIG_N, DURATION, ROUNDS, Site, _need, _topics, grow, make_site

pytestmark = pytest.mark.perf

WORKERS = tuple(os.environ.get("FEEDSVC_PERF_WORKERS", "sync,gthread").split(","))
TARGET = 0.5
# What gunicorn adds to every answer, not the application: left out of the bare callable's headers.
SERVER_HEADERS = ("date", "server", "connection", "content-length", "transfer-encoding")


def page_paths(site: Site) -> dict[str, str]:
    biggest, _ = _topics(site.storage)
    (newest,) = site.storage.list_releases(limit=1)
    return {"home": "/", "topic": f"/topics/{biggest}", "release": f"/releases/{newest.id}"}


def measure(site: Site, tmp: Path) -> dict[tuple[str, str, str], dict[str, float]]:
    """(worker class, page, "200"/"304") → {"service": req/s, "bare": req/s}."""
    paths = page_paths(site)
    out: dict[tuple[str, str, str], dict[str, float]] = {}
    bare_env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSVC_")}
    for worker in WORKERS:
        spec = tmp / f"bare-{worker}.json"
        bare_env["BARE_FEED_SPEC"] = str(spec)
        with contextlib.ExitStack() as stack:
            port = servers.free_port()
            stack.enter_context(servers.running(
                servers.gunicorn_cmd("feedsvc:create_app()", port, worker), port=port, probe="/healthz",
                env=site.env, log=tmp / f"service-{worker}.log", timeout=60))
            docs, etags = [], {}
            for name, path in paths.items():
                status, headers, body = servers.get(port, path, timeout=120)
                assert status == 200, (name, path, status)
                (tmp / f"{name}.html").write_bytes(body)
                etags[name] = headers["etag"]
                docs.append({"path": path, "body_file": str(tmp / f"{name}.html"), "etag": headers["etag"],
                             "headers": [[k, v] for k, v in headers.items() if k not in SERVER_HEADERS]})
            spec.write_text(json.dumps({"pages": docs}))
            bare_port = servers.free_port()
            stack.enter_context(servers.running(
                servers.gunicorn_cmd("tests.perf.servers:bare_app", bare_port, worker), port=bare_port,
                probe="/", env=bare_env, log=tmp / f"bare-{worker}.log"))
            ports = {"service": port, "bare": bare_port}
            for name, path in paths.items():
                for who, p in ports.items():
                    status, _, body = servers.get(p, path)
                    assert status == 200 and body == (tmp / f"{name}.html").read_bytes(), (who, name)
                    assert servers.get(p, path, {"If-None-Match": etags[name]})[0] == 304, (who, name)
                    servers.wrk(p, path, duration=1)  # warm-up (each worker keeps its pages), not counted
            for name, path in paths.items():
                for code in ("200", "304"):
                    headers = [f"If-None-Match: {etags[name]}"] if code == "304" else []
                    best = {"service": 0.0, "bare": 0.0}
                    for _ in range(ROUNDS):
                        for who, p in ports.items():  # alternating: a load change hits both alike
                            r = servers.wrk(p, path, headers=headers, duration=DURATION)
                            assert r["rps"] > 0 and r["non2xx3xx"] == 0, f"{who} {name} {code}:\n{r['raw']}"
                            best[who] = max(best[who], r["rps"])
                    out[(worker, name, code)] = best
    return out


def report(kind: str, label: str, figures: dict[tuple[str, str, str], dict[str, float]]) -> list[str]:
    print(f"\n  {kind}, {label}")
    print(f"    {'gunicorn -w 2':<16} {'page':<8} {'':>4} {'service req/s':>14} {'bare req/s':>11} {'ratio':>7}")
    under = []
    for (worker, name, code), r in figures.items():
        ratio = r["service"] / r["bare"]
        flag = "" if ratio >= TARGET else "  UNDER TARGET"
        print(f"    {worker:<16} {name:<8} {code:>4} {r['service']:14.0f} {r['bare']:11.0f} {ratio:6.2f}×{flag}")
        if flag:
            under.append(f"{kind} {label} {worker} {name} {code}: {ratio:.2f}×")
    return under


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_page_serving(kind: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    _need("wrk")
    site = make_site(kind, tmp_path_factory.mktemp(f"pages-{kind}"))
    try:
        results = [(f"{site.storage.count_releases():,} live releases", measure(site, tmp_path_factory.mktemp("small")))]
        if BIG:
            took = grow(site, BIG_N)
            results.append((f"{site.storage.count_releases():,} live releases (bulk insert took {took:.0f}s)",
                            measure(site, tmp_path_factory.mktemp("big"))))
    finally:
        site.close()
    print(f"\n\nPages, service / bare WSGI callable serving the same bytes: wrk -t2 -c32 -d{DURATION}s, identity "
          f"(wrk sends no Accept-Encoding); {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end"
          + (f"; best of {ROUNDS} runs" if ROUNDS > 1 else "") + f"; target ≥ {TARGET}×")
    under = [line for label, figures in results for line in report(kind, label, figures)]
    for line in under:
        print(f"  UNDER TARGET: {line}")
