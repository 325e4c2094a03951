#!/usr/bin/env python3
"""`make soak`: a mixed load for a long while (10 minutes by default) against the release binary on SQLite,
then the verdict of ops.md: no error, RSS growth at most 10 % after warm-up, p99 stable.

The load, from 8 client threads (standard library only): reads of one project, list pages, keyed creates
(a fresh Idempotency-Key each), their replays and deletes (so the data set stays the same size),
conditional GETs answered 304, community and status pages, and logins. Every answer
is checked against the status it must have; anything else counts as an error. Figures per minute go to
stdout and, with --write-docs, into the "Soak" section of docs/reliability.md.

Run: make soak   (or: python3 bench/soak.py --binary target/release/neoforge --minutes 10)
"""

import argparse
import json
import re
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import PASSWORD, Server, call  # noqa: E402  (the bench's server and HTTP helpers)

ROOT = Path(__file__).resolve().parent.parent


def request(base, method, path, token=None, body=None, headers=None):
    """(status, headers, body bytes, seconds); network errors are status 0."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            raw = res.read()
            return res.status, res.headers, raw, time.perf_counter() - started
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read(), time.perf_counter() - started
    except OSError:
        return 0, {}, b"", time.perf_counter() - started


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = []
        self.requests = 0
        self.errors = []

    def add(self, name, expected, status, seconds):
        with self.lock:
            self.requests += 1
            self.latencies.append(seconds)
            if status not in expected:
                self.errors.append(f"{name}: {status}")

    def take(self):
        with self.lock:
            out = (self.requests, self.latencies, list(self.errors))
            self.requests, self.latencies = 0, []
            return out


def worker(base, token, project_id, etag, stop, tally, n):
    i = 0
    while not stop.is_set():
        i += 1
        kind = i % 10
        if kind in (0, 1, 2):
            s, _, _, t = request(base, "GET", f"/api/v1/projects/{project_id}", token)
            tally.add("get_project", {200}, s, t)
        elif kind in (3, 4):
            s, _, _, t = request(base, "GET", "/api/v1/projects?page_size=20", token)
            tally.add("list_projects", {200}, s, t)
        elif kind == 5:
            s, _, _, t = request(base, "GET", f"/api/v1/projects/{project_id}", token,
                                 headers={"If-None-Match": etag})
            tally.add("not_modified", {304}, s, t)
        elif kind in (6, 7):
            key = f"soak-{n}-{i}-{uuid.uuid4().hex}"
            body = {"name": f"soak {n}-{i}"}
            s, _, _, t = request(base, "POST", "/api/v1/projects", token, body, {"Idempotency-Key": key})
            tally.add("create_project", {201}, s, t)
            s, h, raw, t = request(base, "POST", "/api/v1/projects", token, body, {"Idempotency-Key": key})
            tally.add("replay_project", {200}, s, t)
            # Deleted again, so the data set stays the size it started at: a soak measures the server over
            # time, not a table growing without end.
            if s == 200:
                created = json.loads(raw)["id"]
                s, _, _, t = request(base, "DELETE", f"/api/v1/projects/{created}", token)
                tally.add("delete_project", {204}, s, t)
        elif kind == 8:
            s, _, _, t = request(base, "GET", "/api/v1/community/posts?cursor=&page_size=20")
            tally.add("community_list", {200}, s, t)
        elif i % 50 == 9:
            s, _, _, t = request(base, "POST", "/api/v1/auth/login", None,
                                 {"email": "soak@example.com", "password": PASSWORD})
            tally.add("login", {200}, s, t)
        else:
            s, _, _, t = request(base, "GET", "/api/v1/status")
            tally.add("status_page", {200}, s, t)


def p99(values):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * 0.99))] * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=str(ROOT / "target/release/neoforge"))
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--warmup-minutes", type=float, default=2.0)
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args()

    data = Path(tempfile.mkdtemp(prefix="neoforge-soak-"))
    server = Server(Path(args.binary), f"sqlite://{data}/soak.db", data)
    server.start()
    try:
        status, _, body = call(server.base, "POST", "/api/v1/auth/register",
                               {"email": "soak@example.com", "password": PASSWORD, "full_name": "Soak"})
        assert status == 201, (status, body)
        token = body["access_token"]
        status, headers, project = call(server.base, "POST", "/api/v1/projects", {"name": "soaked"}, token)
        assert status == 201, (status, project)
        etag = headers.get("ETag") or headers.get("etag")

        stop, tally = threading.Event(), Tally()
        threads = [threading.Thread(target=worker, args=(server.base, token, project["id"], etag, stop, tally, n))
                   for n in range(args.threads)]
        for t in threads:
            t.start()
        minutes = []
        total_seconds = args.minutes * 60
        interval = min(60.0, total_seconds / 5)
        started = time.time()
        while time.time() - started < total_seconds:
            # RSS is sampled every second: a sign-in holds a 19 MiB Argon2 block for a few milliseconds, so a
            # single sample swings by that much. The interval's minimum is the resident baseline that growth
            # (a leak) would raise; the maximum shows the transient peaks.
            samples, until = [], time.time() + interval
            while time.time() < until:
                time.sleep(1)
                samples.append(server.memory_mb("VmRSS"))
            requests, latencies, errors = tally.take()
            row = {"minute": round((time.time() - started) / 60, 1), "requests": requests,
                   "rps": round(requests / interval), "p99_ms": round(p99(latencies), 1),
                   "rss_mb": round(min(samples), 1), "rss_max_mb": round(max(samples), 1), "errors": len(errors)}
            minutes.append(row)
            print("soak:", json.dumps(row), flush=True)
        stop.set()
        for t in threads:
            t.join()
        _, _, errors = tally.take()
    finally:
        server.stop()

    # Warm-up: the first intervals, while SQLite's page caches (4 MiB per connection) and the allocator's
    # pools fill; growth is measured from the first interval after it.
    warmup = max(1, min(len(minutes) - 1, round(len(minutes) * args.warmup_minutes / args.minutes)))
    warm = minutes[warmup - 1] if len(minutes) > 1 else minutes[0]
    growth = (minutes[-1]["rss_mb"] - warm["rss_mb"]) / warm["rss_mb"] * 100
    p99s = [m["p99_ms"] for m in minutes[warmup:]] or [warm["p99_ms"]]
    stable = max(p99s) <= 2 * statistics.median(p99s) + 1
    verdict = {
        "requests": sum(m["requests"] for m in minutes),
        "errors": len(errors),
        "warmup_minutes": warm["minute"],
        "rss_after_warmup_mb": warm["rss_mb"],
        "rss_end_mb": minutes[-1]["rss_mb"],
        "rss_growth_pct": round(growth, 1),
        "p99_ms_per_interval": p99s,
        "p99_stable": stable,
    }
    print("soak: verdict", json.dumps(verdict), flush=True)
    if errors:
        print("soak: first errors:", errors[:10], flush=True)
    if args.write_docs:
        write_docs(args, minutes, verdict)
    ok = not errors and growth <= 10 and stable
    print(f"soak: {'passed' if ok else 'FAILED'}", flush=True)
    return 0 if ok else 1


def commit():
    import subprocess
    out = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def write_docs(args, minutes, verdict):
    path = ROOT / "docs/reliability.md"
    text = path.read_text()
    table = "\n".join(
        f"| {m['minute']} | {m['requests']} | {m['rps']} | {m['p99_ms']} | {m['rss_mb']} | {m['rss_max_mb']} | {m['errors']} |"
        for m in minutes)
    section = (
        "## Soak (last run)\n"
        f"`make soak` ({args.minutes:g} min, {args.threads} client threads, release binary at `{commit()}`, SQLite, "
        f"{time.strftime('%Y-%m-%d', time.gmtime())}): {verdict['requests']} requests, "
        f"{verdict['errors']} errors; resident memory (the minimum of 1 s samples per interval) "
        f"{verdict['rss_after_warmup_mb']} MiB after {verdict['warmup_minutes']} min of warm-up → "
        f"{verdict['rss_end_mb']} MiB at the end ({verdict['rss_growth_pct']:+} %, target ≤ 10 %); p99 stable "
        f"(no interval over twice the median): {'yes' if verdict['p99_stable'] else 'no'}. Peaks include the "
        "19 MiB Argon2 block of a sign-in in progress.\n\n"
        "| minute | requests | req/s | p99 ms | RSS min MiB | RSS max MiB | errors |\n|---|---|---|---|---|---|---|\n"
        f"{table}\n")
    pattern = re.compile(r"## Soak \(last run\)\n.*?(?=\n## |\Z)", re.S)
    text = pattern.sub(section.rstrip("\n") + "\n", text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
