"""Helpers of the feed-serving benchmark: servers started and always stopped, wrk, worker memory.

Also `bare_app`, the smallest WSGI callable serving precomputed documents (a feed, pages): the
Python limit that the service is compared with under the same gunicorn settings. It reads what to
serve from a JSON file named by BARE_FEED_SPEC: {"path", "body_file", "etag", "headers": [[name,
value], ...]}, or {"pages": [that, ...]} for several paths.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
NGINX = "/usr/sbin/nginx"


# -- the bare WSGI callable (imported by gunicorn as tests.perf.servers:bare_app) ------------

Doc = tuple[bytes, str, list[tuple[str, str]], list[tuple[str, str]]]  # body, etag, 304's headers, 200's


def _load_bare() -> dict[str, Doc]:
    spec = json.loads(Path(os.environ["BARE_FEED_SPEC"]).read_text())
    docs = {}
    for doc in spec.get("pages", [spec]):
        body = Path(doc["body_file"]).read_bytes()
        headers = [(str(k), str(v)) for k, v in doc["headers"]]
        docs[doc["path"]] = (body, doc["etag"], headers, [*headers, ("Content-Length", str(len(body)))])
    return docs


_BARE = _load_bare() if os.environ.get("BARE_FEED_SPEC") else None


def bare_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    assert _BARE is not None, "BARE_FEED_SPEC is not set"
    doc = _BARE.get(environ.get("PATH_INFO", ""))
    if doc is None:
        start_response("404 Not Found", [("Content-Length", "0")])
        return []
    body, etag, headers, headers_200 = doc
    if environ.get("HTTP_IF_NONE_MATCH") == etag:
        start_response("304 Not Modified", headers)
        return []
    start_response("200 OK", headers_200)
    return [body]


# -- processes ------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(port: int, path: str, headers: dict[str, str] | None = None,
        timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """End the process group this benchmark started (never anything else)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers of the group (workers) too
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


@contextlib.contextmanager
def running(cmd: Sequence[str], *, port: int, probe: str, log: Path, env: dict[str, str] | None = None,
            cwd: Path = ROOT, timeout: float = 30.0) -> Iterator[subprocess.Popen[bytes]]:
    """Start `cmd` in its own process group, wait until GET `probe` answers, stop it afterwards."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(list(cmd), env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[0]} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                status, _, _ = get(port, probe, timeout=2)
                if status < 500:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{cmd[0]} did not answer on port {port} in {timeout}s:\n"
                                   f"{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield proc
    finally:
        _stop(proc)


def gunicorn_cmd(app: str, port: int, worker_class: str, *, workers: int = 2, threads: int = 8) -> list[str]:
    cmd = [str(GUNICORN), app, "-w", str(workers), "-k", worker_class, "-b", f"127.0.0.1:{port}",
           "--log-level", "warning"]
    if worker_class == "gthread":
        cmd += ["--threads", str(threads)]
    return cmd


def nginx_conf(tmp: Path, port: int, root: Path) -> Path:
    conf = tmp / "nginx.conf"
    # As root the workers would run as nobody and could not read pytest's private temp dirs.
    user = "user root;" if os.geteuid() == 0 else ""
    conf.write_text(f"""
daemon off;
{user}
worker_processes 2;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    open_file_cache max=100;
    keepalive_requests 1000000;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    types {{ application/atom+xml atom; }}
    charset utf-8;
    charset_types application/atom+xml;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
""")
    return conf


# -- wrk --------------------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")


def wrk(port: int, path: str, *, headers: Sequence[str] = (), duration: int = 10, threads: int = 2,
        connections: int = 32, script: Path | None = None) -> dict[str, Any]:
    """Run wrk against 127.0.0.1:`port`; `script`: a Lua script choosing the requests (its output is in "raw")."""
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    for h in headers:
        cmd += ["-H", h]
    if script is not None:
        cmd += ["-s", str(script)]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 30, check=True).stdout
    lat = re.search(r"^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s*99%\s+(\S+)", out, re.M)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    total = re.search(r"(\d+) requests in", out)
    return {
        "requests": int(total.group(1)) if total else 0,
        "rps": float(rps.group(1)) if rps else 0.0,
        "lat_avg_ms": _ms(lat.group(1)) if lat else float("nan"),
        "lat_max_ms": _ms(lat.group(3)) if lat else float("nan"),
        "lat_p99_ms": _ms(p99.group(1)) if p99 else float("nan"),
        "non2xx3xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
        # --latency's distribution: {50: ms, 75: ms, 90: ms, 99: ms}
        "lat_pct_ms": {int(m.group(1)): _ms(m.group(2))
                       for m in re.finditer(r"^\s*(50|75|90|99)%\s+(\S+)", out, re.M)},
        "raw": out,
    }


# -- memory -----------------------------------------------------------------------------------

def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # the command name is in parentheses and may hold spaces: split after the last ')'
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            found.append(int(entry))
    return sorted(found)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")
