"""Feed-serving benchmark. Prints figures and ratios; asserts no time.

1. /feeds/all.atom (50 entries), 200 and 304, with wrk -t2 -c32 -d10s against
   the service under gunicorn -w 2 (sync, and gthread --threads 8),
   a bare WSGI callable serving the same bytes under the same gunicorn settings (the Python limit),
   nginx serving the same bytes as a static file (the machine's limit).
2. Building a feed (Publisher.current_atom, rebuild) with 100 vs 100,000 releases stored, SQLite and
   PostgreSQL (the database of FEEDSVC_TEST_DATABASE_URL, which this EMPTIES).
3. A web worker's resident memory with 100,000 releases stored, after several hundred requests.

Run: FEEDSVC_TEST_DATABASE_URL=postgresql://… .venv/bin/python -m pytest -m perf tests/perf/test_feed_perf.py -s
FEEDSVC_PERF_BIG=0 skips parts 2 and 3 (the 100,000-release database); FEEDSVC_PERF_RELEASES sets its size;
FEEDSVC_PERF_SECONDS the wrk duration (10); FEEDSVC_PERF_ROUNDS=n keeps the best of n wrk runs (1).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import http.client
import json
import os
import shutil
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from feedsvc import parsing
from feedsvc.config import Settings, load_settings
from feedsvc.ingest import Ingester
from feedsvc.publish import ALL, PAGE_SIZE, Publisher, archive_count
from feedsvc.storage import Storage
from feedsvc.storage.schema import RELEASES
from feedsvc.topics import classify, load_taxonomy
from tests.conftest import PG_URL, TOPICS
from tests.perf import bulk, servers
from tests.perf.corpus import write_corpus

pytestmark = pytest.mark.perf

BIG = os.environ.get("FEEDSVC_PERF_BIG", "1") != "0"
BIG_N = int(os.environ.get("FEEDSVC_PERF_RELEASES", "100000"))
DURATION = int(os.environ.get("FEEDSVC_PERF_SECONDS", "10"))
ROUNDS = int(os.environ.get("FEEDSVC_PERF_ROUNDS", "1"))  # >1: best of several, on a busy machine
SMALL_FILES = 10  # × 10 releases: 100 stored, more than the feed's 50
FEED = "/feeds/all.atom"
BASE_URL = "http://localhost:8000"


def _need(tool: str) -> None:
    if not shutil.which(tool) and not Path(tool).exists():
        pytest.skip(f"{tool} is not installed (apt-get install -y wrk nginx-light)")


# -- a site: a database with releases ingested, and the environment the service reads ---------

@dataclasses.dataclass
class Site:
    kind: str
    url: str
    root: Path
    env: dict[str, str]
    settings: Settings
    storage: Storage

    def close(self) -> None:
        self.storage.close()


def _env(url: str, root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FEEDSVC_") and k not in ("DATABASE_URL", "SECRET_KEY", "LOG_LEVEL", "PORT")}
    env.update(DATABASE_URL=url, SECRET_KEY="perf-benchmark-not-secret-padded-to-32-characters-or-more", FEEDSVC_BASE_URL=BASE_URL,
               FEEDSVC_CONTENT_DIR=str(root / "releases"), FEEDSVC_INSTANCE_DIR=str(root / "instance"),
               FEEDSVC_TOPICS=str(TOPICS), LOG_LEVEL="WARNING")
    return env


def make_site(kind: str, root: Path) -> Site:
    """A fresh database holding 100 releases, ingested and published the way `feedsvc ingest` does."""
    root.mkdir(parents=True, exist_ok=True)
    if kind == "sqlite":
        url = f"sqlite:///{root / 'feedsvc.sqlite3'}"
    else:
        if not PG_URL:
            pytest.skip("set FEEDSVC_TEST_DATABASE_URL to benchmark PostgreSQL (the database is emptied)")
        url = PG_URL
    env = _env(url, root)
    settings = load_settings(env)
    storage = Storage(settings.database_url)
    if kind != "sqlite":
        storage.drop_everything()
    storage.upgrade()
    write_corpus(settings.content_dir, SMALL_FILES)
    publisher = Publisher(storage, settings)
    ingester = Ingester(storage, settings.content_dir, settings.topics_file,
                        tag_authority=settings.tag_authority, on_feeds_changed=publisher.after_scan)
    result = ingester.scan()
    assert result.summary.releases_new == SMALL_FILES * 10, result.lines()
    assert storage.get_feed_document("all.atom") is not None
    return Site(kind, url, root, env, settings, storage)


def grow(site: Site, total: int) -> float:
    """Store releases (older than every stored one) until `total` live ones are stored; return seconds.

    Bulk-stored (tests/perf/bulk.py): parsed from a generated corpus, classified with the real
    taxonomy, given distinct ids, keys, seq and instants; one in 50 more is withdrawn.
    """
    t0 = time.perf_counter()
    storage, settings = site.storage, site.settings
    taxonomy = load_taxonomy(settings.topics_file)
    folder = site.root / "templates"
    write_corpus(folder, 200, seed=11)
    templates = [(r, classify(r, taxonomy)) for path in sorted(folder.rglob("*.txt"))
                 for r in parsing.parse_bytes(path.read_bytes(), path.name)]
    with storage.read("sizing") as conn:
        seq0 = conn.execute(sa.select(sa.func.max(RELEASES.c.seq))).scalar() or 0
        oldest = conn.execute(sa.select(sa.func.min(RELEASES.c.first_seen))).scalar()
    if isinstance(oldest, str):  # SQLite aggregates lose the column type
        oldest = dt.datetime.fromisoformat(oldest)
    oldest = (oldest if oldest.tzinfo else oldest.replace(tzinfo=dt.UTC)).replace(microsecond=0)

    def rows() -> Iterator[tuple[bulk.Row, list[bulk.Row]]]:
        live, i = storage.count_releases(), 0
        while live < total:
            r, topics = templates[i % len(templates)]
            rid = f"bulk{i:012d}"
            when = oldest - dt.timedelta(minutes=17 * (i + 1))  # distinct, spread over ~3 years
            withdrawn = i % 50 == 49
            yield bulk.release_rows(
                rid, seq0 + 1 + i, when, atom_id=f"tag:{settings.tag_authority},{when.date().isoformat()}:release/{rid}",
                title=f"{r.title} ({i})", paragraphs=r.paragraphs, topics=topics, location=r.location, date=r.date,
                author=r.author, section=r.section, title_inferred=r.title_inferred, declared_topics=r.topics,
                content_hash=r.content_hash, withdrawn=withdrawn)
            live += not withdrawn
            i += 1

    bulk.store(storage, rows())
    return time.perf_counter() - t0


# -- 1. serving -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    site = make_site("sqlite", tmp_path_factory.mktemp("small"))
    yield site
    site.close()


def _fmt(r: dict[str, Any]) -> str:
    extra = ""
    if r["non2xx3xx"]:
        extra += f"  non-2xx/3xx {r['non2xx3xx']}"
    if r["socket_errors"]:
        extra += f"  socket errors: {r['socket_errors']}"
    split = "/".join(f"{c / max(sum(r['cpu']), 1e-9):.0%}" for c in r["cpu"])
    return (f"{r['rps']:>9,.0f} req/s  avg {r['lat_avg_ms']:6.2f} ms  p99 {r['lat_p99_ms']:6.2f} ms"
            f"  max {r['lat_max_ms']:6.1f} ms  {r['cpu_us']:4.0f} µs CPU/req  workers {split}{extra}")


def _wsgi_cost_us(app: Callable[..., Any], headers: dict[str, str], n: int = 20000) -> float:
    """Microseconds one call of a WSGI callable takes in this process (no server, no socket)."""
    import io

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        pass

    base = {"REQUEST_METHOD": "GET", "PATH_INFO": FEED, "SCRIPT_NAME": "", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:8000", "wsgi.url_scheme": "http",
            "wsgi.errors": io.StringIO(), **headers}
    environs = [dict(base, **{"wsgi.input": io.BytesIO()}) for _ in range(n)]
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for environ in environs[: n // 3]:
            app(environ, start_response)
        best = min(best, (time.perf_counter() - t) / (n // 3) * 1e6)
    return best


def test_feed_serving(small_site: Site, tmp_path: Path) -> None:
    """Every server stays up for the whole test and runs alternate (service, then the bare callable
    under the same worker class, then nginx), so a load change on the machine hits all alike.

    Each line also shows the CPU the workers used per request and how it split between them:
    gthread keeps a keep-alive connection in the worker that accepted it, and wrk opens its 32 at
    once, so one worker sometimes takes them all (throughput then halves: one process, one GIL).
    gunicorn's sync workers close the connection after every response instead."""
    _need("wrk")
    _need(servers.NGINX)
    site = small_site
    doc = site.storage.get_feed_document("all.atom")
    assert doc is not None
    (tmp_path / "www" / "feeds").mkdir(parents=True)
    (tmp_path / "www" / "feeds" / "all.atom").write_bytes(doc.body)
    ports: dict[str, int] = {}
    etags: dict[str, str] = {}
    bare_env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSVC_")}
    bare_env["BARE_FEED_SPEC"] = str(tmp_path / "bare.json")

    procs: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        for worker in ("sync", "gthread"):
            name = f"service {worker}"
            ports[name] = port = servers.free_port()
            procs[name] = stack.enter_context(servers.running(
                servers.gunicorn_cmd("feedsvc:create_app()", port, worker), port=port, probe=FEED,
                env=site.env, log=tmp_path / f"service-{worker}.log"))
        # The bare callable sends the very headers the service sends (Date/Server are gunicorn's).
        conn = http.client.HTTPConnection("127.0.0.1", ports["service sync"], timeout=10)
        conn.request("GET", FEED)
        resp = conn.getresponse()
        resp.read()
        conn.close()
        same = [(k, v) for k, v in resp.getheaders()
                if k.lower() not in ("date", "server", "connection", "content-length", "transfer-encoding")]
        (tmp_path / "bare.json").write_text(json.dumps({
            "path": FEED, "body_file": str(tmp_path / "www" / "feeds" / "all.atom"), "etag": doc.etag,
            "headers": same}))
        for worker in ("sync", "gthread"):
            name = f"bare WSGI {worker}"
            ports[name] = port = servers.free_port()
            procs[name] = stack.enter_context(servers.running(
                servers.gunicorn_cmd("tests.perf.servers:bare_app", port, worker), port=port, probe=FEED,
                env=bare_env, log=tmp_path / f"bare-{worker}.log"))
        ports["nginx static"] = port = servers.free_port()
        conf = servers.nginx_conf(tmp_path, port, tmp_path / "www")
        procs["nginx static"] = stack.enter_context(servers.running(
            [servers.NGINX, "-c", str(conf), "-p", str(tmp_path)], port=port, probe=FEED,
            log=tmp_path / "nginx.log"))

        for name, port in ports.items():
            status, headers, body = servers.get(port, FEED)
            assert status == 200 and body == doc.body, name
            # nginx makes its own ETag (mtime-size): same bytes, same If-None-Match logic.
            etags[name] = headers["etag"]
            assert name.startswith("nginx") or etags[name] == doc.etag
            assert servers.get(port, FEED, {"If-None-Match": etags[name]})[0] == 304, name
            servers.wrk(port, FEED, duration=1)  # warm-up, not counted

        order = ["service sync", "bare WSGI sync", "service gthread", "bare WSGI gthread", "nginx static"]
        results: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in order}
        for _ in range(ROUNDS):
            for path in ("200", "304"):
                for name in order:
                    port = ports[name]
                    headers = [f"If-None-Match: {etags[name]}"] if path == "304" else []
                    workers = servers.children(procs[name].pid)
                    before = [servers.cpu_seconds(w) for w in workers]
                    r = servers.wrk(port, FEED, headers=headers, duration=DURATION)
                    # CPU the server's workers used, in all and per request: how evenly the two
                    # workers shared the load, and a cost per request that a busy machine blurs less.
                    r["cpu"] = [servers.cpu_seconds(w) - b for w, b in zip(workers, before, strict=False)]
                    r["cpu_us"] = sum(r["cpu"]) / max(1, r["requests"]) * 1e6
                    if path not in results[name] or r["rps"] > results[name][path]["rps"]:
                        results[name][path] = r

    # The same two callables in this process, no server: what the service adds per request.
    from feedsvc import create_app

    app = create_app(site.env)
    os.environ["BARE_FEED_SPEC"] = str(tmp_path / "bare.json")
    try:
        servers._BARE = servers._load_bare()
        cost = {(who, path): _wsgi_cost_us(fn, hdr)
                for who, fn in (("service", app), ("bare", servers.bare_app))
                for path, hdr in (("200", {}), ("304", {"HTTP_IF_NONE_MATCH": doc.etag}))}
    finally:
        del os.environ["BARE_FEED_SPEC"]
        servers._BARE = None
        app.extensions["feedsvc"].storage.close()

    print(f"\n\nGET {FEED}: {len(doc.body):,} bytes, {PAGE_SIZE} entries, identity (wrk sends no "
          f"Accept-Encoding); wrk -t2 -c32 -d{DURATION}s; gunicorn -w 2 (gthread: --threads 8); "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end"
          + (f"; best of {ROUNDS} runs" if ROUNDS > 1 else ""))
    for path in ("200", "304"):
        print(f"\n  {path}{' (If-None-Match)' if path == '304' else ''}")
        for name, r in results.items():
            print(f"    {name:<18} {_fmt(r[path])}")
    print("\n  ratios                                 req/s: 200     304    CPU/req: 200     304")
    for worker in ("sync", "gthread"):
        svc = results[f"service {worker}"]
        for against in (f"bare WSGI {worker}", "nginx static"):
            ratios = [svc[p]["rps"] / results[against][p]["rps"] for p in ("200", "304")]
            line = f"    service {worker:<7} / {against:<17} {ratios[0]:8.2f}×  {ratios[1]:5.2f}×"
            if against.startswith("bare"):
                cpu = [svc[p]["cpu_us"] / results[against][p]["cpu_us"] for p in ("200", "304")]
                line += f"           {cpu[0]:5.2f}×  {cpu[1]:5.2f}×"
            print(line)
    print("\n  in-process cost of one call, no server (µs)   200     304")
    for who in ("service", "bare"):
        print(f"    {who:<42} {cost[(who, '200')]:6.2f}  {cost[(who, '304')]:6.2f}")
    best = max(("sync", "gthread"), key=lambda w: results[f"service {w}"]["200"]["rps"]
               + results[f"service {w}"]["304"]["rps"])
    print(f"\n  best worker class for the service: {best}  (target: service ≥ 0.8× bare WSGI, same settings)")
    for worker in ("sync", "gthread"):
        for p in ("200", "304"):
            r = results[f"service {worker}"][p]["rps"] / results[f"bare WSGI {worker}"][p]["rps"]
            if r < 0.8:
                gap = cost[("service", p)] - cost[("bare", p)]
                print(f"  UNDER TARGET: service {worker} {p} is {r:.2f}× bare WSGI; the app itself adds "
                      f"{gap:.1f} µs per request in process; compare the CPU per request and the workers' "
                      f"split above (gthread pins each keep-alive connection to the worker that accepted it)")
    for name, r in results.items():
        for p in ("200", "304"):
            assert r[p]["rps"] > 0, f"{name} {p}: wrk measured nothing:\n{r[p]['raw']}"


# -- 2. build time against the number of releases stored -----------------------------------

class Sites:
    """The big databases, built once per run and shared by the tests below."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self.factory = factory
        self.big: dict[str, Site] = {}

    def small(self, kind: str) -> Site:
        old = self.big.pop(kind, None)
        if old:
            old.close()
        return make_site(kind, self.factory.mktemp(f"big-{kind}"))

    def get_big(self, kind: str) -> Site:
        if kind not in self.big:
            site = self.small(kind)
            grow(site, BIG_N)
            self.big[kind] = site
        return self.big[kind]


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    s = Sites(tmp_path_factory)
    yield s
    for site in s.big.values():
        site.close()


def _median_ms(fn: Callable[[], Any], runs: int) -> tuple[float, float]:
    """(first call, median of `runs` calls after it), in milliseconds."""
    t = time.perf_counter()
    fn()
    first = (time.perf_counter() - t) * 1000
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return first, statistics.median(times)


def _topics(storage: Storage) -> tuple[str, str]:
    """(the biggest topic, a topic of median size)."""
    counts = storage.topic_counts()
    ranked = sorted(counts, key=lambda t: (-counts[t], t))
    return ranked[0], ranked[len(ranked) // 2]


def _build_figures(site: Site, slugs: tuple[str, ...]) -> dict[str, tuple[float, float]]:
    storage = site.storage
    publisher = Publisher(storage, site.settings)
    taxonomy = publisher.taxonomy()
    out = {}
    for feed in (ALL, *slugs):
        info = publisher.feed_info(feed, taxonomy)
        assert info is not None
        topic = None if feed == ALL else feed
        out[f"current_atom {feed}"] = _median_ms(lambda info=info: publisher.current_atom(info, taxonomy), 11)
        out[f"  list_releases {feed}"] = _median_ms(lambda topic=topic: storage.list_releases(topic, limit=PAGE_SIZE), 11)
        out[f"  count_releases {feed}"] = _median_ms(lambda topic=topic: storage.count_releases(topic), 11)
    out[f"rebuild [all, {slugs[0]}]"] = _median_ms(lambda: publisher.rebuild([ALL, slugs[0]]), 5)
    return out


@pytest.mark.skipif(not BIG, reason="FEEDSVC_PERF_BIG=0")
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_build_time_scaling(kind: str, sites: Sites) -> None:
    site = sites.small(kind)
    slugs = _topics(site.storage)  # the generated corpus has the same topic mix at any size
    n_small = site.storage.count_releases()
    small = _build_figures(site, slugs)
    took = grow(site, BIG_N)
    sites.big[kind] = site
    big = _build_figures(site, slugs)
    n_big = site.storage.count_releases()
    counts = site.storage.topic_counts()
    print(f"\n\n{kind}: building feeds with {n_small:,} vs {n_big:,} live releases stored (bulk insert "
          f"took {took:.1f}s; {', '.join(f'{t} holds {counts[t]:,}' for t in slugs)}; "
          f"{archive_count(n_big):,} archive pages of all)")
    print(f"    {'ms: median (first call)':<42} {n_small:>15} {n_big:>17,}   ratio")
    for name in small:
        s_first, s_med = small[name]
        b_first, b_med = big[name]
        print(f"    {name:<42} {s_med:7.2f} ({s_first:6.2f}) {b_med:8.2f} ({b_first:7.2f})   "
              f"{b_med / s_med:6.2f}×")
    for feed in (ALL, *slugs):
        r = big[f"current_atom {feed}"][1] / small[f"current_atom {feed}"][1]
        verdict = "ok" if r <= 3 else "OVER TARGET"
        print(f"  current_atom({feed}): {r:.2f}× (target ≤ 3×) {verdict}")


# -- 3. a web worker's memory with the big database ------------------------------------------

@pytest.mark.skipif(not BIG, reason="FEEDSVC_PERF_BIG=0")
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_worker_memory(kind: str, sites: Sites, tmp_path: Path) -> None:
    site = sites.get_big(kind)
    storage = site.storage
    _, slug = _topics(storage)
    newest_archive = archive_count(storage.count_releases())
    # The newest archive page is the one a reader walking back from the feed asks for first.
    urls = ["/", f"/topics/{slug}", FEED, f"/feeds/{slug}.atom", f"/feeds/archive/all/{newest_archive}.atom",
            "/feeds/archive/all/1.atom"]
    rounds, per_round = 3, 40
    port = servers.free_port()
    cmd = servers.gunicorn_cmd("feedsvc:create_app()", port, "gthread")
    with servers.running(cmd, port=port, probe="/healthz", env=site.env,
                         log=tmp_path / "service.log") as proc:
        workers = servers.children(proc.pid)
        assert len(workers) == 2, workers
        rss = [{pid: servers.rss_mb(pid) for pid in workers}]

        def hit(url: str) -> tuple[str, int, float]:
            t = time.perf_counter()
            status, _, _ = servers.get(port, url, timeout=120)
            return url, status, (time.perf_counter() - t) * 1000

        alone = {}
        for url in urls:  # one at a time: what a request costs without queueing
            alone[url] = min(hit(url)[2] for _ in range(3))
        t0 = time.perf_counter()
        loaded: dict[str, list[float]] = {}
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            for _ in range(rounds):
                for url, status, ms in pool.map(hit, [u for _ in range(per_round) for u in urls]):
                    assert status == 200, (url, status)
                    loaded.setdefault(url, []).append(ms)
                rss.append({pid: servers.rss_mb(pid) for pid in workers})
        took = time.perf_counter() - t0
        master = servers.rss_mb(proc.pid)

    n = rounds * per_round
    print(f"\n\n{kind}, {storage.count_releases():,} live releases stored; gunicorn -w 2 -k gthread "
          f"--threads 8; {n} requests to each of {len(urls)} URLs ({n * len(urls)}) in {took:.1f}s "
          f"from 4 client threads")
    print(f"    {'URL':<40} {'alone':>9} {'median under load':>18}")
    for url in urls:
        print(f"    {url:<40} {alone[url]:6.1f} ms {statistics.median(loaded[url]):12.1f} ms")
    for pid in workers:
        steps = " → ".join(f"{r[pid]:.0f}" for r in rss)
        verdict = "ok" if rss[-1][pid] < 150 else "OVER TARGET"
        print(f"  worker {pid}: VmRSS {steps} MB (after start, then after each round of "
              f"{per_round * len(urls)} requests; target < 150 MB) {verdict}")
    print(f"  master {proc.pid}: VmRSS {master:.0f} MB")
