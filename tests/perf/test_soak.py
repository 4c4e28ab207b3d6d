"""Load and soak: wrk -t2 -c64 for 60 s on a mix of feeds, pages and 304s, gunicorn on PostgreSQL.

Loopback only and bounded in time. A generated corpus (1,500 releases by default) is ingested into
the PostgreSQL database of FEEDSVC_TEST_DATABASE_URL (which this EMPTIES), then the web process is
started exactly as the Procfile starts it (gthread, 8 threads; WEB_CONCURRENCY=2 workers) on
127.0.0.1 and a free port. A Lua script makes wrk cycle through the home page, topic pages,
release pages, archive pages, /healthz, every kind of feed (Atom, RSS, OPML, gzip) and conditional
requests that must come back 304; it counts status codes in `response()` and prints them in
`done()`.

Asserted: no response outside 2xx/3xx, no socket errors but a handful of timeouts, every
conditional request answered 304 (never 200) with an empty body, no worker restarted.
Printed, never asserted: req/s, latency p50/p90/p99, the workers' VmRSS after a warm-up and after
the run (target: growth < 10%), and the load average next to every figure.

Run: FEEDSVC_TEST_DATABASE_URL=postgresql://… .venv/bin/python -m pytest -m perf tests/perf/test_soak.py -s
FEEDSVC_SOAK_SECONDS sets the run's duration (60; 10 for a quick check), FEEDSVC_SOAK_RELEASES the
corpus size (1500), FEEDSVC_SOAK_CONNECTIONS the connections (64).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from feedsvc.config import load_settings
from feedsvc.ingest import Ingester
from feedsvc.publish import Publisher, archive_count
from feedsvc.storage import Storage
from tests.conftest import PG_URL, ROOT, TOPICS
from tests.perf import servers
from tests.perf.corpus import write_corpus

pytestmark = pytest.mark.perf

SECONDS = int(os.environ.get("FEEDSVC_SOAK_SECONDS", "60"))
RELEASES = int(os.environ.get("FEEDSVC_SOAK_RELEASES", "1500"))
CONNECTIONS = int(os.environ.get("FEEDSVC_SOAK_CONNECTIONS", "64"))
THREADS = 2
WARMUP = 5
MAX_TIMEOUTS = 10  # "a handful": wrk's own 2 s timeout, on a 2-core machine shared with wrk
RSS_TARGET = 10.0  # per cent growth from after the warm-up to the end of the run
WORKERS = 2


def _need(tool: str) -> None:
    if not shutil.which(tool) and not Path(tool).exists():
        pytest.skip(f"{tool} is not installed (apt-get install -y wrk)")


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def procfile_web(port: int) -> list[str]:
    """The Procfile's web command, bound to 127.0.0.1:`port` instead of 0.0.0.0:$PORT."""
    line = next(x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith("web:"))
    cmd = shlex.split(line[len("web:"):])
    assert cmd[0] == "gunicorn", cmd
    cmd[0] = str(servers.GUNICORN)
    return [a.replace("0.0.0.0:$PORT", f"127.0.0.1:{port}").replace("$PORT", str(port)) for a in cmd]


# -- the site ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """PostgreSQL emptied, schema upgraded (the Procfile's release step), a corpus ingested and published."""
    if not PG_URL:
        pytest.skip("set FEEDSVC_TEST_DATABASE_URL to run the soak test on PostgreSQL (the database is emptied)")
    root = tmp_path_factory.mktemp("soak")
    port = servers.free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FEEDSVC_") and k not in ("DATABASE_URL", "SECRET_KEY", "LOG_LEVEL", "PORT",
                                                         "WEB_CONCURRENCY")}
    env.update(DATABASE_URL=PG_URL, SECRET_KEY="soak-test-not-secret-padded-to-32-characters-or-more", FEEDSVC_BASE_URL=f"http://127.0.0.1:{port}",
               FEEDSVC_CONTENT_DIR=str(root / "releases"), FEEDSVC_INSTANCE_DIR=str(root / "instance"),
               FEEDSVC_TOPICS=str(TOPICS), LOG_LEVEL="WARNING", PORT=str(port), WEB_CONCURRENCY=str(WORKERS))
    settings = load_settings(env)
    storage = Storage(settings.database_url)
    storage.drop_everything()
    storage.upgrade()
    files = -(-RELEASES // 10)
    write_corpus(settings.content_dir, files, seed=23)
    publisher = Publisher(storage, settings)
    ingester = Ingester(storage, settings.content_dir, settings.topics_file,
                        tag_authority=settings.tag_authority, on_feeds_changed=publisher.after_scan)
    t = time.perf_counter()
    result = ingester.scan()
    took = time.perf_counter() - t
    assert result.summary.releases_new == files * 10, result.lines()
    assert result.summary.files_failed == 0, result.lines()
    try:
        yield {"root": root, "port": port, "env": env, "settings": settings, "storage": storage,
               "publisher": publisher, "ingest_seconds": took}
    finally:
        storage.close()


# -- the request mix -----------------------------------------------------------------------

def _mix(site: dict[str, Any]) -> list[dict[str, Any]]:
    """The cycle of requests, each checked once here before wrk sends it thousands of times.

    Conditional requests go only to representations never asked for unconditionally (their own
    feeds, the gzip variant of all.atom, the oldest archive page), so a 200 carrying one of their
    ETags can only be a conditional request that was not answered 304.
    """
    storage: Storage = site["storage"]
    port = site["port"]
    counts = storage.topic_counts()
    topics = sorted((t for t in counts if counts[t] > 0), key=lambda t: (-counts[t], t))
    assert len(topics) >= 8, counts
    total = storage.count_releases()
    pages_all = archive_count(total)
    assert pages_all >= 2, total
    newest = storage.list_releases(limit=5)
    middle = storage.list_releases(limit=3, offset=total // 2)
    oldest = storage.list_releases(limit=3, offset=total - 3)
    releases = [r.id for r in (*newest, *middle, *oldest)]
    t_big, t_mid = topics[0], topics[len(topics) // 2]
    topic_pages = -(-counts[t_big] // 30)

    def plain(kind: str, path: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        return {"kind": kind, "path": path, "headers": headers or {}, "cond": False}

    mix = [
        plain("feed", "/feeds/all.atom"),
        plain("page", "/"),
        plain("feed", f"/feeds/{topics[0]}.atom"),
        plain("page", f"/releases/{releases[0]}"),
        plain("feed", "/feeds/all.atom"),
        plain("feed", f"/feeds/{topics[1]}.atom"),
        plain("page", f"/topics/{t_big}"),
        plain("feed", "/feeds/all.rss"),
        plain("page", f"/releases/{releases[1]}"),
        plain("feed", f"/feeds/{topics[2]}.atom", {"Accept-Encoding": "gzip"}),
        plain("feed", f"/feeds/{topics[1]}.rss"),
        plain("page", f"/topics/{t_mid}"),
        plain("feed", "/feeds.opml"),
        plain("page", f"/releases/{releases[6]}"),
        plain("archive", f"/feeds/archive/all/{pages_all}.atom"),
        plain("page", f"/topics/{t_big}?page={max(1, topic_pages // 2)}"),
        plain("health", "/healthz"),
        plain("page", f"/releases/{releases[-1]}"),
        plain("feed", "/feeds/all.atom"),
        plain("page", "/"),
        plain("archive", f"/feeds/archive/{t_mid}/1.atom"),
        plain("page", f"/releases/{releases[3]}"),
    ]
    cond_targets = [
        ("/feeds/all.atom", {"Accept-Encoding": "gzip"}, "etag"),  # the gzip representation's own ETag
        (f"/feeds/{topics[3]}.atom", {}, "etag"),
        (f"/feeds/{topics[4]}.atom", {}, "etag"),
        (f"/feeds/{topics[2]}.rss", {}, "etag"),
        (f"/feeds/{topics[5]}.atom", {}, "last-modified"),  # If-Modified-Since alone
        ("/feeds/archive/all/1.atom", {}, "etag"),  # built by Flask, made conditional by werkzeug
    ]
    cond = []
    for path, headers, validator in cond_targets:
        status, got, body = servers.get(port, path, headers)
        assert status == 200 and body and validator in got, (path, status, got)
        h = dict(headers)
        h["If-None-Match" if validator == "etag" else "If-Modified-Since"] = got[validator]
        cond.append({"kind": "304", "path": path, "headers": h, "cond": True, "etag": got["etag"]})
    # Spread the 304s through the cycle (about one request in five, as polling readers make).
    for i, c in enumerate(cond):
        mix.insert(1 + i * 5, c)

    cond_etags = {c["etag"] for c in cond}
    for m in mix:
        status, got, body = servers.get(port, m["path"], m["headers"])
        expected = 304 if m["cond"] else 200
        assert status == expected, (m, status, body[:300])
        if m["cond"]:
            assert body == b"", m
        else:
            assert got.get("etag") not in cond_etags, (m, got.get("etag"))
    return mix


LUA = r"""
-- written by tests/perf/test_soak.py
local mix = __MIX__
local cond_etags = __ETAGS__

local threads = {}
local counter = 1

function setup(thread)
   thread:set("start", counter * 7)
   counter = counter + 1
   table.insert(threads, thread)
end

function init(args)
   reqs = {}
   for i, m in ipairs(mix) do
      reqs[i] = {wrk.format("GET", m.path, m.headers), m.kind, m.cond}
   end
   n = #reqs
   i = start % n
   status = {}
   sent = {}
   cond_sent = 0
   cond_200 = 0       -- a 200 carrying an ETag that only conditional requests ask about
   body_304 = 0       -- a 304 with a body
end

function request()
   i = i % n + 1
   local r = reqs[i]
   sent[r[2]] = (sent[r[2]] or 0) + 1
   if r[3] then cond_sent = cond_sent + 1 end
   return r[1]
end

function response(st, headers, body)
   status[st] = (status[st] or 0) + 1
   if st == 200 then
      local etag = headers["ETag"] or headers["etag"] or headers["Etag"]
      if etag and cond_etags[etag] then cond_200 = cond_200 + 1 end
   elseif st == 304 and body and #body > 0 then
      body_304 = body_304 + 1
   end
end

function done(summary, latency, requests)
   local st, se = {}, {}
   local cs, c200, b304 = 0, 0, 0
   for _, t in ipairs(threads) do
      for k, v in pairs(t:get("status")) do st[k] = (st[k] or 0) + v end
      for k, v in pairs(t:get("sent")) do se[k] = (se[k] or 0) + v end
      cs = cs + t:get("cond_sent")
      c200 = c200 + t:get("cond_200")
      b304 = b304 + t:get("body_304")
   end
   for k, v in pairs(st) do io.write(string.format("SOAK status %s %d\n", tostring(k), v)) end
   for k, v in pairs(se) do io.write(string.format("SOAK sent %s %d\n", k, v)) end
   io.write(string.format("SOAK cond sent %d cond_200 %d body_304 %d\n", cs, c200, b304))
   io.write(string.format("SOAK latency_us p50 %d p90 %d p99 %d p999 %d max %d mean %.0f\n",
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
      latency.max, latency.mean))
   local e = summary.errors
   io.write(string.format("SOAK errors connect %d read %d write %d status %d timeout %d\n",
      e.connect, e.read, e.write, e.status, e.timeout))
   io.write(string.format("SOAK summary requests %d duration_us %d bytes %d\n",
      summary.requests, summary.duration, summary.bytes))
end
"""


def _lua_string(s: str) -> str:
    return json.dumps(s)  # a JSON string literal is a valid Lua string literal for this ASCII content


def lua_script(mix: list[dict[str, Any]], path: Path) -> Path:
    entries = []
    for m in mix:
        headers = ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in m["headers"].items())
        entries.append(f"  {{path = {_lua_string(m['path'])}, kind = {_lua_string(m['kind'])}, "
                       f"cond = {'true' if m['cond'] else 'false'}, headers = {{{headers}}}}}")
    etags = ", ".join(f"[{_lua_string(m['etag'])}] = true" for m in mix if m["cond"])
    path.write_text(LUA.replace("__MIX__", "{\n" + ",\n".join(entries) + "\n}")
                    .replace("__ETAGS__", "{" + etags + "}"))
    return path


def parse_soak(raw: str) -> dict[str, Any]:
    out: dict[str, Any] = {"status": {}, "sent": {}}
    for line in raw.splitlines():
        if not line.startswith("SOAK "):
            continue
        words = line.split()[1:]
        if words[0] in ("status", "sent"):
            out[words[0]][words[1]] = int(words[2])
        else:
            pairs = words[1:]
            out[words[0]] = {pairs[j]: float(pairs[j + 1]) for j in range(0, len(pairs) - 1, 2)}
    return out


# -- the test -------------------------------------------------------------------------------

class RssSampler(threading.Thread):
    """Samples the workers' VmRSS every few seconds while wrk runs."""

    def __init__(self, pids: list[int], every: float = 5.0) -> None:
        super().__init__(daemon=True)
        self.pids, self.every = pids, every
        self.samples: list[dict[int, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.every):
            try:
                self.samples.append({p: servers.rss_mb(p) for p in self.pids})
            except OSError:
                return


def test_soak(site: dict[str, Any], tmp_path: Path) -> None:
    _need("wrk")
    port = site["port"]
    storage: Storage = site["storage"]
    cmd = procfile_web(port)
    log = tmp_path / "gunicorn.log"
    print(f"\n\nsoak: {storage.count_releases():,} live releases ingested into PostgreSQL in "
          f"{site['ingest_seconds']:.1f}s; {' '.join(shlex.quote(c) for c in cmd)} (WEB_CONCURRENCY={WORKERS}); "
          f"{os.cpu_count()} CPUs; {_load()} at the start")
    with servers.running(cmd, port=port, probe="/healthz", env=site["env"], log=log, timeout=60) as proc:
        workers = servers.children(proc.pid)
        deadline = time.monotonic() + 30
        while len(workers) < WORKERS and time.monotonic() < deadline:
            time.sleep(0.2)
            workers = servers.children(proc.pid)
        assert len(workers) == WORKERS, workers
        mix = _mix(site)
        script = lua_script(mix, tmp_path / "soak.lua")
        kinds: dict[str, int] = {}
        for m in mix:
            kinds[m["kind"]] = kinds.get(m["kind"], 0) + 1
        print(f"  mix of {len(mix)} requests per cycle: "
              + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))

        rss_start = {p: servers.rss_mb(p) for p in workers}
        warm = servers.wrk(port, "/", duration=WARMUP, threads=THREADS, connections=CONNECTIONS, script=script)
        warm_soak = parse_soak(warm["raw"])
        rss_before = {p: servers.rss_mb(p) for p in workers}
        load_before = _load()

        cpu_before = [servers.cpu_seconds(w) for w in workers]
        sampler = RssSampler(workers, every=max(1.0, SECONDS / 12))
        sampler.start()
        try:
            r = servers.wrk(port, "/", duration=SECONDS, threads=THREADS, connections=CONNECTIONS, script=script)
        finally:
            sampler.stop.set()
            sampler.join()
        rss_after = {p: servers.rss_mb(p) for p in workers}
        cpu = [servers.cpu_seconds(w) - b for w, b in zip(workers, cpu_before, strict=False)]
        load_after = _load()
        workers_after = servers.children(proc.pid)
        master_rss = servers.rss_mb(proc.pid)
        log_text = log.read_text(errors="replace")  # before the shutdown adds its own lines

    soak = parse_soak(r["raw"])
    status = soak["status"]
    lat = soak.get("latency_us", {})
    errors = soak.get("errors", {})
    cond = soak.get("cond", {})
    total = int(sum(status.values()))
    print(f"\n  warm-up: wrk -t{THREADS} -c{CONNECTIONS} -d{WARMUP}s: {warm['rps']:,.0f} req/s, "
          f"statuses {dict(sorted(warm_soak['status'].items()))}")
    print(f"  run: wrk -t{THREADS} -c{CONNECTIONS} -d{SECONDS}s --latency  ({load_before} before, "
          f"{load_after} after)")
    print(f"    {r['requests']:,} requests, {r['rps']:,.0f} req/s; workers used {sum(cpu):.1f} CPU s "
          f"({sum(cpu) / max(1, r['requests']) * 1e6:.0f} µs per request), split "
          + "/".join(f"{c / max(sum(cpu), 1e-9):.0%}" for c in cpu))
    print(f"    latency p50 {lat.get('p50', 0) / 1000:.2f} ms  p90 {lat.get('p90', 0) / 1000:.2f} ms  "
          f"p99 {lat.get('p99', 0) / 1000:.2f} ms  p99.9 {lat.get('p999', 0) / 1000:.2f} ms  "
          f"max {lat.get('max', 0) / 1000:.1f} ms  (wrk --latency: "
          + "  ".join(f"p{k} {v:.2f} ms" for k, v in sorted(r["lat_pct_ms"].items())) + ")")
    print("    statuses: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(status.items())))
    print("    sent by kind: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(soak["sent"].items())))
    print(f"    conditional requests sent {int(cond.get('sent', 0)):,}; answered 200 instead of 304: "
          f"{int(cond.get('cond_200', 0))}; 304 with a body: {int(cond.get('body_304', 0))}")
    print("    socket errors: " + ", ".join(f"{k} {int(v)}" for k, v in errors.items())
          + f"; wrk's Non-2xx or 3xx: {r['non2xx3xx']}")
    print("  worker VmRSS (MB): after start → after warm-up → samples during the run → after the run")
    growth = {}
    for p in workers:
        growth[p] = (rss_after[p] - rss_before[p]) / rss_before[p] * 100
        samples = " ".join(f"{s[p]:.0f}" for s in sampler.samples if p in s)
        verdict = "ok" if growth[p] < RSS_TARGET else "OVER TARGET"
        print(f"    worker {p}: {rss_start[p]:.1f} → {rss_before[p]:.1f} → [{samples}] → {rss_after[p]:.1f}: "
              f"{growth[p]:+.1f}% over the run (target < {RSS_TARGET:.0f}%) {verdict}")
    print(f"    master {proc.pid}: {master_rss:.1f} MB")
    boots = log_text.count("Booting worker")
    bad_log = [entry for entry in log_text.splitlines()
               if re.search(r"Traceback|\bERROR\b|CRITICAL|WORKER TIMEOUT|Worker exiting", entry)]
    if boots != WORKERS:
        bad_log.append(f"{boots} workers booted ({WORKERS} expected)")
    if bad_log:
        print("  gunicorn log:\n    " + "\n    ".join(bad_log[-20:]))

    # What the issue requires, on the run proper.
    assert r["requests"] > 0 and total > 0, r["raw"]
    assert workers_after == workers, f"a worker was replaced during the run: {workers} → {workers_after}"
    assert not any(int(k) >= 400 for k in status), f"error responses: {status}"
    assert r["non2xx3xx"] == 0, r["raw"]
    assert set(status) <= {"200", "304"}, f"unexpected statuses: {status}"
    assert int(errors.get("connect", 0)) == 0 and int(errors.get("read", 0)) == 0 \
        and int(errors.get("write", 0)) == 0, f"socket errors: {errors}"
    assert int(errors.get("timeout", 0)) <= MAX_TIMEOUTS, f"timeouts: {errors}"
    assert int(cond.get("cond_200", 0)) == 0, "conditional requests answered 200 instead of 304"
    assert int(cond.get("body_304", 0)) == 0, "304 responses with a body"
    sent_cond = int(cond.get("sent", 0))
    # A request still in flight when wrk stops is sent but never answered: one per connection at most.
    assert sent_cond - CONNECTIONS - int(errors.get("timeout", 0)) <= status.get("304", 0) <= sent_cond, \
        (sent_cond, status)
    assert not [e for e in bad_log if "Traceback" in e or "WORKER TIMEOUT" in e], bad_log
