#!/usr/bin/env python3
"""NeoForge benchmarks (`make bench`; spec: ../shared/spec/ops.md, "Benchmarks").

Starts the release binary on a fresh SQLite file and on a fresh PostgreSQL database, seeds the data each
scenario needs, and loads it with wrk (32 connections, after a warm-up). The same run measures the physical
reference on the same PostgreSQL at the same concurrency (`pgbench -S`, `pgbench -N`), and reports every API
figure beside its target. Results go to `bench/results/<timestamp>.json` and `docs/performance.md`.

Only the standard library; wrk and pgbench come from Debian (`scripts/ensure-bench-tools.sh`). Every request
goes to 127.0.0.1, every loop is bounded by `--duration`.
"""

import argparse
import datetime as dt
import json
import os
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_BASE = "postgres://postgres@127.0.0.1:5432"
PG_APP_DB = "neoforge_bench"
PG_REF_DB = "neoforge_bench_pgbench"
PASSWORD = "bench password 0123456789"


def log(msg):
    print(f"bench: {msg}", flush=True)


# ---------------------------------------------------------------- HTTP


def call(base, method, path, body=None, token=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            raw = res.read()
            return res.status, dict(res.headers), (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, dict(e.headers), (json.loads(raw) if raw else None)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- the server


class Server:
    def __init__(self, binary, database_url, data_dir):
        self.binary, self.database_url, self.data_dir = binary, database_url, data_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def env(self):
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
        env.update(
            DATABASE_URL=self.database_url,
            DATA_DIR=str(self.data_dir),
            PORT=str(self.port),
            ENVIRONMENT="development",
            # Production's logging: a JSON access line per request at `info` (stdout is discarded here).
            LOG_FORMAT="json",
            ADMIN_PASSWORD=PASSWORD,
            EMAIL_BACKEND="log",
            # The limiter stays on (its cost is part of every request); the load comes from one address
            # and few users, so the allowances are set beyond what a run can reach.
            RATE_LIMIT_USER="1000000000",
            RATE_LIMIT_ANON="1000000000",
            RATE_LIMIT_AUTH="1000000000",
            MAX_PROJECTS_PER_USER="1000000",
            DATABASE_MAX_CONNECTIONS="32",
        )
        return env

    def start_reference(self):
        """Starts `neoforge bench-reference` (bare axum routes) on the same database; returns its base URL."""
        port = free_port()
        env = self.env()
        env["PORT"] = str(port)
        proc = subprocess.Popen([str(self.binary), "bench-reference"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline:
            try:
                with urllib.request.urlopen(base + "/plain", timeout=1) as res:
                    if res.status == 200:
                        self.reference = proc
                        return base
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if proc.poll() is not None:
                raise SystemExit(f"bench: bench-reference exited with {proc.returncode}")
            time.sleep(0.01)
        proc.kill()
        raise SystemExit("bench: bench-reference did not answer in 30 s")

    def start(self):
        """Starts the server; returns milliseconds from spawn to the first 200 on /ready."""
        started = time.perf_counter()
        self.proc = subprocess.Popen([str(self.binary), "serve"], env=self.env(),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = started + 60
        while time.perf_counter() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/ready", timeout=1) as res:
                    if res.status == 200:
                        return (time.perf_counter() - started) * 1000
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if self.proc.poll() is not None:
                raise SystemExit(f"bench: the server exited with {self.proc.returncode}")
            time.sleep(0.002)
        raise SystemExit("bench: the server did not become ready in 60 s")

    def stop(self):
        ref = getattr(self, "reference", None)
        if ref and ref.poll() is None:
            ref.terminate()
            ref.wait(timeout=30)
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def memory_mb(self, field):
        """VmRSS (now) or VmHWM (peak) of the server process, in MiB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return None


# ---------------------------------------------------------------- seeding


def sqlite_ts(t):
    """A timestamp exactly as sqlx writes `DateTime<Utc>` to SQLite (RFC 3339, 0/3/6 fraction digits)."""
    us = t.microsecond
    frac = "" if us == 0 else (f".{us // 1000:03d}" if us % 1000 == 0 else f".{us:06d}")
    return t.strftime("%Y-%m-%dT%H:%M:%S") + frac + "+00:00"


class Seeder:
    """Bulk rows straight into the database (HTTP would spend minutes on 200,000 rows)."""

    def __init__(self, backend, target):
        self.backend, self.target = backend, target

    def run(self, statements):
        if self.backend == "sqlite":
            con = sqlite3.connect(self.target, timeout=30)
            con.execute("PRAGMA busy_timeout = 30000")
            for sql, rows in statements:
                con.executemany(sql, rows)
            con.commit()
            con.close()
        else:
            script = ";\n".join(sql for sql, _ in statements)
            subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", self.target, "-c", script], check=True)

    def projects(self, owner, n, start):
        if self.backend == "sqlite":
            rows = []
            for i in range(n):
                t = sqlite_ts(start - dt.timedelta(seconds=i, microseconds=i % 997))
                rows.append((uuid.uuid4().bytes, uuid.UUID(owner).bytes, f"project {i}", None, t, t))
            return ("INSERT INTO projects (id, owner_id, name, description, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)", rows)
        return (f"INSERT INTO projects (id, owner_id, name, description, created_at, updated_at) "
                f"SELECT gen_random_uuid(), '{owner}', 'project ' || g, NULL, "
                f"now() - g * interval '1 second', now() - g * interval '1 second' "
                f"FROM generate_series(1, {n}) g", None)

    def status(self, services, events, start):
        statuses = ["operational", "degraded", "operational", "maintenance"]
        if self.backend == "sqlite":
            rows, latest = [], {}
            for i in range(events):
                svc = f"service-{i % services:02d}"
                t = start - dt.timedelta(seconds=events - i)
                eid = uuid.uuid4().bytes
                rows.append((eid, svc, statuses[i % 4], None, sqlite_ts(t)))
                latest[svc] = (svc, eid, statuses[i % 4], None, sqlite_ts(t))
            return [
                ("INSERT INTO status_events (id, service_id, status, description, created_at) "
                 "VALUES (?, ?, ?, ?, ?)", rows),
                ("INSERT INTO status_services (service_id, event_id, status, description, updated_at) "
                 "VALUES (?, ?, ?, ?, ?)", list(latest.values())),
            ]
        return [
            (f"INSERT INTO status_events (id, service_id, status, description, created_at) "
             f"SELECT gen_random_uuid(), 'service-' || lpad((g % {services})::text, 2, '0'), "
             f"(ARRAY['operational','degraded','operational','maintenance'])[g % 4 + 1], NULL, "
             f"now() - ({events} - g) * interval '1 second' FROM generate_series(0, {events - 1}) g", None),
            ("INSERT INTO status_services (service_id, event_id, status, description, updated_at) "
             "SELECT DISTINCT ON (service_id) service_id, id, status, description, created_at "
             "FROM status_events ORDER BY service_id, created_at DESC, id DESC", None),
        ]

    def posts(self, author, n, start):
        if self.backend == "sqlite":
            rows = []
            for i in range(n):
                t = sqlite_ts(start - dt.timedelta(seconds=i))
                rows.append((uuid.uuid4().bytes, uuid.UUID(author).bytes, "Bench", f"post {i}",
                             "Some community text. " * 10, t, t))
            return ("INSERT INTO community_posts (id, author_id, author_name, title, content, created_at, "
                    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        return (f"INSERT INTO community_posts (id, author_id, author_name, title, content, created_at, updated_at) "
                f"SELECT gen_random_uuid(), '{author}', 'Bench', 'post ' || g, repeat('Some community text. ', 10), "
                f"now() - g * interval '1 second', now() - g * interval '1 second' "
                f"FROM generate_series(1, {n}) g", None)


# ---------------------------------------------------------------- load


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def parse_wrk(out):
    def latency(pct):
        m = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return round(float(m.group(1)) * UNITS[m.group(2)], 3) if m else None

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": round(float(rps.group(1)), 1) if rps else 0.0,
        "requests": int(total.group(1)) if total else 0,
        "p50_ms": latency(50),
        "p90_ms": latency(90),
        "p99_ms": latency(99),
        "errors": (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0),
    }


def lua_post(path, token, body_expr, key=None, unique_key=False):
    """A wrk script: POST JSON, optionally with an Idempotency-Key (fixed, or unique per request)."""
    headers = ['["Content-Type"] = "application/json"']
    if token:
        headers.append(f'["Authorization"] = "Bearer {token}"')
    if key:
        headers.append(f'["Idempotency-Key"] = "{key}"')
    return f"""
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
function init(args) nonce = args[1] or "0"; counter = 0 end
function request()
  counter = counter + 1
  local id = nonce .. "-" .. tostring(tid) .. "-" .. counter
  local headers = {{ {", ".join(headers)} }}
  {'headers["Idempotency-Key"] = id' if unique_key else ''}
  return wrk.format("POST", "{path}", headers, {body_expr})
end
"""


def lua_crowd_create(tokens):
    """A wrk script: creates with a unique key each, spread round-robin over many users' tokens."""
    listed = ", ".join(f'"{t}"' for t in tokens)
    return f"""
tokens = {{ {listed} }}
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
function init(args) nonce = args[1] or "0"; counter = 0 end
function request()
  counter = counter + 1
  local id = nonce .. "-" .. tostring(tid) .. "-" .. counter
  local headers = {{ ["Content-Type"] = "application/json", ["Idempotency-Key"] = id,
                     ["Authorization"] = "Bearer " .. tokens[(counter + tid) % #tokens + 1] }}
  return wrk.format("POST", "/api/v1/projects", headers, '{{"name":"crowd ' .. id .. '"}}')
end
"""


class Load:
    def __init__(self, connections, duration, warmup, scripts_dir):
        self.connections, self.duration, self.warmup = connections, duration, warmup
        self.scripts_dir = scripts_dir
        self.runs = 0

    def command(self, url, headers=(), script=None, connections=None, duration=None):
        self.runs += 1
        cmd = ["wrk", "-t2", f"-c{connections or self.connections}", f"-d{duration or self.duration}s",
               "--latency", "--timeout", "10s"]
        for h in headers:
            cmd += ["-H", h]
        if script:
            path = self.scripts_dir / f"s{self.runs}.lua"
            path.write_text(script)
            cmd += ["-s", str(path)]
        return cmd + [url, "--", f"{os.getpid()}x{self.runs}"]

    def run(self, url, headers=(), script=None):
        subprocess.run(self.command(url, headers, script, duration=self.warmup),
                       capture_output=True, text=True, check=True)
        out = subprocess.run(self.command(url, headers, script), capture_output=True, text=True, check=True)
        return parse_wrk(out.stdout)


# ---------------------------------------------------------------- reference


def pgbench(mode, connections, duration):
    subprocess.run(["psql", "-q", PG_BASE + "/postgres", "-c", f"DROP DATABASE IF EXISTS {PG_REF_DB}"], check=True)
    subprocess.run(["psql", "-q", PG_BASE + "/postgres", "-c", f"CREATE DATABASE {PG_REF_DB}"], check=True)
    subprocess.run(["pgbench", "-i", "-q", "-s", "10", PG_BASE + "/" + PG_REF_DB], check=True,
                   capture_output=True)
    out = subprocess.run(["pgbench", mode, "-c", str(connections), "-j", "2", "-T", str(duration),
                          PG_BASE + "/" + PG_REF_DB], check=True, capture_output=True, text=True).stdout
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    lat = re.search(r"latency average = ([\d.]+) ms", out)
    return {"tps": round(float(tps.group(1)), 1), "latency_avg_ms": float(lat.group(1)) if lat else None}


# ---------------------------------------------------------------- one backend


def bench_backend(backend, binary, load, restarts, quick=False):
    work = Path(tempfile.mkdtemp(prefix=f"neoforge-bench-{backend}-"))
    if backend == "sqlite":
        db_file = work / "bench.db"
        url, seeder = f"sqlite://{db_file}", Seeder("sqlite", str(db_file))
    else:
        subprocess.run(["psql", "-q", PG_BASE + "/postgres", "-c", f"DROP DATABASE IF EXISTS {PG_APP_DB}"], check=True)
        subprocess.run(["psql", "-q", PG_BASE + "/postgres", "-c", f"CREATE DATABASE {PG_APP_DB}"], check=True)
        url, seeder = f"{PG_BASE}/{PG_APP_DB}", Seeder("postgres", f"{PG_BASE}/{PG_APP_DB}")
    server = Server(binary, url, work)
    result = {"scenarios": {}}
    try:
        result["first_start_ms"] = round(server.start(), 1)
        # Start-up on a migrated database, as an instance restarts.
        times = []
        for _ in range(restarts):
            server.stop()
            times.append(server.start())
        result["startup_ms"] = round(statistics.median(times), 1)
        time.sleep(1)
        result["rss_idle_mb"] = round(server.memory_mb("VmRSS"), 1)
        base = server.base

        def user(name):
            st, _, body = call(base, "POST", "/api/v1/auth/register",
                               {"email": f"{name}@bench.example", "password": PASSWORD, "full_name": name})
            assert st == 201, (st, body)
            return body["user"]["id"], body["access_token"]

        writer_id, writer = user("writer")
        crowd = [user(f"crowd{i}")[1] for i in range(32)]
        st, _, body = call(base, "POST", "/api/v1/projects", {"name": "the one"}, token=writer)
        assert st == 201, (st, body)
        project_id = body["id"]
        reference = server.start_reference()
        auth = lambda token: [f"Authorization: Bearer {token}"]  # noqa: E731
        create = lua_post("/api/v1/projects", writer, "'{\"name\":\"bench ' .. id .. '\"}'", unique_key=True)
        scenarios = {
            "ref_bare_axum": (f"{reference}/plain", [], None),
            "ref_one_select": (f"{reference}/select/{project_id}", [], None),
            "stack_trivial": (f"{base}/api/v1/config", [], None),
            "health": (f"{base}/health", [], None),
            "get_project": (f"{base}/api/v1/projects/{project_id}", auth(writer), None),
        }
        if not quick:
            lister_id, lister = user("lister")
            deep_id, deep = user("deep")
            now = dt.datetime.now(dt.timezone.utc)
            log(f"{backend}: seeding 1,000 + 100,000 projects, 100,000 status events (20 services), 200 posts")
            statements = [seeder.projects(lister_id, 1000, now), seeder.projects(deep_id, 100_000, now),
                          seeder.posts(writer_id, 200, now)]
            statements += seeder.status(20, 100_000, now)
            seeder.run(statements)
            if backend == "postgres":
                subprocess.run(["psql", "-q", url, "-c", "ANALYZE"], check=True)
            # A cursor at depth 50,000: walk there with pages of 100 (page_size may change between pages).
            cursor, depth = "", 0
            while depth < 50_000:
                st, _, page = call(base, "GET", f"/api/v1/projects?page_size=100&cursor={cursor}", token=deep)
                assert st == 200, (st, page)
                cursor, depth = page["next_cursor"], depth + len(page["items"])
            _, headers, _ = call(base, "GET", "/api/v1/community/posts")
            etag = headers.get("ETag") or headers.get("etag")
            scenarios.update({
                "list_projects": (f"{base}/api/v1/projects?page_size=20", auth(lister), None),
                "list_projects_first_page": (f"{base}/api/v1/projects?page_size=20&cursor=", auth(deep), None),
                "list_projects_deep_cursor": (f"{base}/api/v1/projects?page_size=20&cursor={cursor}", auth(deep),
                                              None),
                "list_projects_deep_offset": (f"{base}/api/v1/projects?page_size=20&page=2501", auth(deep), None),
            })
        scenarios["create_project"] = (f"{base}/api/v1/projects", [], create)
        scenarios["create_project_many_users"] = (f"{base}/api/v1/projects", [], lua_crowd_create(crowd))
        if not quick:
            scenarios.update({
                "replay_project": (f"{base}/api/v1/projects", [],
                                   lua_post("/api/v1/projects", writer, "'{\"name\":\"replayed\"}'",
                                            key=f"replay-{os.getpid()}-{backend}")),
                "community_list_anon": (f"{base}/api/v1/community/posts", [], None),
                "community_list_anon_304": (f"{base}/api/v1/community/posts", [f"If-None-Match: {etag}"], None),
                "status_page": (f"{base}/api/v1/status", [], None),
            })
        for name, (target, headers, script) in scenarios.items():
            result["scenarios"][name] = load.run(target, headers, script)
            r = result["scenarios"][name]
            r["rss_after_mb"] = round(server.memory_mb("VmRSS"), 1)
            log(f"{backend} {name}: {r['rps']} req/s, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, "
                f"errors {r['errors']}, RSS {r.get('rss_after_mb')} MiB")
        if quick:
            result["rss_peak_mb"] = round(server.memory_mb("VmHWM"), 1)
            return result

        # Login saturates the hashing pool while a light probe load measures /health beside it.
        login = lua_post("/api/v1/auth/login", None,
                         f"'{{\"email\":\"writer@bench.example\",\"password\":\"{PASSWORD}\"}}'")
        login_cmd = load.command(f"{base}/api/v1/auth/login", script=login)
        health_cmd = load.command(f"{base}/health", connections=4, duration=max(1, load.duration - 2))
        subprocess.run(load.command(f"{base}/api/v1/auth/login", script=login, duration=load.warmup),
                       capture_output=True, check=True)
        login_proc = subprocess.Popen(login_cmd, stdout=subprocess.PIPE, text=True)
        time.sleep(1)
        health = subprocess.run(health_cmd, capture_output=True, text=True, check=True)
        login_out, _ = login_proc.communicate()
        result["scenarios"]["login"] = parse_wrk(login_out)
        result["scenarios"]["health_during_login"] = parse_wrk(health.stdout)
        result["scenarios"]["login"]["rss_after_mb"] = round(server.memory_mb("VmRSS"), 1)
        for name in ("login", "health_during_login"):
            r = result["scenarios"][name]
            log(f"{backend} {name}: {r['rps']} req/s, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, "
                f"errors {r['errors']}, RSS {r.get('rss_after_mb')} MiB")
        result["rss_peak_mb"] = round(server.memory_mb("VmHWM"), 1)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return result


# ---------------------------------------------------------------- report


WRITES = ("create_project", "create_project_many_users", "replay_project", "login")


def competes_with(name):
    """The reference a scenario is compared with: pgbench -N for writes, pgbench -S for everything else."""
    return "simple_writes" if name in WRITES else "select_only"


def stack_cost_us(s, cores):
    """CPU time the middleware stack adds to a trivial request, from the trivial route and the bare one
    (both saturate every core, so 1/throughput × cores is the CPU a request costs)."""
    return round((1 / s["stack_trivial"]["rps"] - 1 / s["ref_bare_axum"]["rps"]) * cores * 1e6, 1)


def targets(res):
    """(figure, measured, target text, passed) for every target of ops.md that the run measured."""
    ref, out = res["reference"], []
    cores = res["meta"]["cores"]
    for backend in res["backends"]:
        b = res["backends"][backend]
        s = b["scenarios"]
        label = "SQLite" if backend == "sqlite" else "PostgreSQL"
        get_ratio = s["get_project"]["rps"] / ref["select_only"]["tps"]
        get_target = 0.5 if backend == "postgres" else 0.9
        out.append((f"`get_project` on {label}", f"{get_ratio:.2f} × pgbench -S", f"≥ {get_target} ×",
                    get_ratio >= get_target))
        create_target = 0.5 if backend == "postgres" else 0.8
        for name, who in (("create_project", "one user"), ("create_project_many_users", "32 users")):
            ratio = s[name]["rps"] / ref["simple_writes"]["tps"]
            p99 = s[name]["p99_ms"]
            out.append((f"`create_project` on {label}, {who}", f"{ratio:.2f} × pgbench -N, p99 {p99} ms",
                        f"≥ {create_target} ×, p99 ≤ 50 ms", ratio >= create_target and p99 is not None and p99 <= 50))
        if "list_projects" in s:
            ratio = s["list_projects"]["rps"] / s["get_project"]["rps"]
            out.append((f"`list_projects` on {label}", f"{ratio:.2f} × get_project", "≥ 0.5 ×", ratio >= 0.5))
        ratio = s["stack_trivial"]["rps"] / s["ref_bare_axum"]["rps"]
        out.append((f"middleware stack ({label}): `/api/v1/config`", f"{ratio:.2f} × bare axum "
                    f"(+{stack_cost_us(s, cores)} µs CPU a request)", "≥ 0.5 ×", ratio >= 0.5))
        reads = [r for r in ("get_project", "list_projects", "list_projects_deep_cursor", "community_list_anon",
                             "community_list_anon_304", "status_page", "health") if r in s]
        worst = max(s[r]["p99_ms"] or 0 for r in reads)
        out.append((f"p99 of read scenarios ({label})", f"{worst} ms (worst)", "≤ 10 ms", worst <= 10))
        if "list_projects_deep_cursor" in s:
            deep = s["list_projects_deep_cursor"]["p50_ms"] / s["list_projects_first_page"]["p50_ms"]
            out.append((f"cursor page at depth 50,000 ({label})", f"{deep:.2f} × first page (p50)", "≤ 1.5 ×",
                        deep <= 1.5))
        if "status_page" in s:
            status = s["status_page"]["p50_ms"] / s["health"]["p50_ms"]
            out.append((f"`status_page`, 100,000 events ({label})", f"{status:.2f} × health (p50)", "≤ 2 ×",
                        status <= 2))
        if "health_during_login" in s:
            h = s["health_during_login"]["p99_ms"]
            out.append((f"`/health` p99 while `login` saturates ({label})", f"{h} ms", "≤ 5 ms",
                        h is not None and h <= 5))
        out.append((f"RSS idle / peak ({label})", f"{b['rss_idle_mb']} / {b['rss_peak_mb']} MiB", "≤ 30 / ≤ 120 MB",
                    b["rss_idle_mb"] <= 30 and b["rss_peak_mb"] <= 120))
        out.append((f"start-up to `/ready`, migrated ({label})", f"{b['startup_ms']} ms (median)", "≤ 300 ms",
                    b["startup_ms"] <= 300))
    return out


def markdown(res):
    m = res["meta"]
    lines = [
        "# Performance",
        "",
        "Written by `make bench` (`bench/run.py`); do not edit by hand. Raw figures: "
        f"`bench/results/{m['file']}`.",
        "",
        f"Run of {m['date']} at `{m['commit']}`: release binary ({m['binary_mb']} MiB), {m['cores']} cores shared "
        f"with the load generator (wrk, 2 threads), {m['connections']} connections, {m['warmup']} s warm-up then "
        f"{m['duration']} s per scenario. Reference on the same PostgreSQL at the same concurrency: "
        f"`pgbench -S` {res['reference']['select_only']['tps']} TPS, `pgbench -N` "
        f"{res['reference']['simple_writes']['tps']} TPS (scale 10).",
        "",
        "## Targets (spec/ops.md)",
        "| Figure | Measured | Target | |",
        "|---|---|---|---|",
    ]
    for figure, measured, target, ok in targets(res):
        lines.append(f"| {figure} | {measured} | {target} | {'pass' if ok else '**miss**'} |")
    for backend, b in res["backends"].items():
        label = "SQLite" if backend == "sqlite" else "PostgreSQL"
        ref = res["reference"]
        lines += ["", f"## {label}",
                  "| Scenario | req/s | × its pgbench | × one-SELECT route | p50 ms | p90 ms | p99 ms | errors "
                  "| RSS after, MiB |",
                  "|---|---|---|---|---|---|---|---|---|"]
        one_select = b["scenarios"]["ref_one_select"]["rps"]
        for name, s in b["scenarios"].items():
            kind = competes_with(name)
            ratio = f"{s['rps'] / ref[kind]['tps']:.2f} ({'-N' if kind == 'simple_writes' else '-S'})"
            lines.append(f"| `{name}` | {s['rps']} | {ratio} | {s['rps'] / one_select:.2f} | {s['p50_ms']} | "
                         f"{s['p90_ms']} | {s['p99_ms']} | {s['errors']} | {s.get('rss_after_mb', '')} |")
        lines.append(f"\nFirst start (migrating an empty database, creating the admin): {b['first_start_ms']} ms; "
                     f"start-up on the migrated database: {b['startup_ms']} ms (median of {m['restarts']}); RSS idle "
                     f"{b['rss_idle_mb']} MiB, peak {b['rss_peak_mb']} MiB.")
    lines += [
        "",
        "## Reading these figures",
        "- The references are served by the same binary (`neoforge bench-reference`): `ref_bare_axum` is an axum",
        "  route answering a small JSON with no middleware and no database (this machine's HTTP ceiling with wrk",
        "  beside it); `ref_one_select` is an axum route doing one primary-key `SELECT` of a project through the",
        "  same pool, also with no middleware. `stack_trivial` is `GET /api/v1/config` (no database) through",
        "  NeoForge's whole stack, so its distance from `ref_bare_axum` is the stack's cost.",
        "- The server runs as in production: a JSON access-log line per request at `info`, the rate limiter on",
        "  (its allowances raised beyond what one address can reach in a run).",
        "- `create_project` sends a unique `Idempotency-Key` each time (the claim, the insert, the quota counter,",
        "  the audit entry and the stored result, in one write transaction), all as one user, whose creates take",
        "  turns on PostgreSQL (the `MAX_PROJECTS_PER_USER` counter row of the user is held until commit);",
        "  `create_project_many_users` spreads the same requests over 32 users, which shows the write path",
        "  without that per-user queue. `replay_project` repeats one key (answered from the stored result).",
        "  `community_list_anon_304` sends the list's `If-None-Match`.",
        "- `list_projects_deep_offset` is offset mode at page 2,501 (depth 50,000): its cost grows with depth, which",
        "  is why cursor mode exists; the target applies to the cursor page.",
        "- `login` is bound by Argon2id (OWASP parameters) on the blocking pool; `health_during_login` is a 4-connection",
        "  probe load run beside it.",
        "- `errors` counts non-2xx/3xx answers and socket errors; any error makes `make bench` fail.",
        "",
    ]
    # The reviewed analysis (what bounds each scenario, what was tried) is kept by hand beside the script.
    analysis = ROOT / "bench/analysis.md"
    if analysis.exists():
        lines += [analysis.read_text().rstrip(), ""]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=str(ROOT / "target/release/neoforge"))
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    ap.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per scenario")
    ap.add_argument("--restarts", type=int, default=5, help="restarts for the start-up median")
    args = ap.parse_args()
    quick = os.environ.get("BENCH_QUICK") == "1"
    if quick:
        # A subset for iterating (one backend, its reads and writes, the references): under 2 minutes.
        args.backends, args.duration, args.warmup, args.restarts = "sqlite", 5, 1, 1
    binary = Path(args.binary)
    if not binary.exists():
        raise SystemExit(f"bench: no binary at {binary} (make release)")
    for tool in ("wrk", "pgbench", "psql"):
        if not shutil.which(tool):
            raise SystemExit(f"bench: {tool} is missing (scripts/ensure-bench-tools.sh installs it)")
    load = Load(args.connections, args.duration, args.warmup, Path(tempfile.mkdtemp(prefix="neoforge-wrk-")))
    started = time.time()
    log("reference: pgbench -S and -N on the same PostgreSQL")
    reference = {"select_only": pgbench("-S", args.connections, args.duration),
                 "simple_writes": pgbench("-N", args.connections, args.duration)}
    subprocess.run(["psql", "-q", PG_BASE + "/postgres", "-c", f"DROP DATABASE IF EXISTS {PG_REF_DB}"], check=True)
    log(f"reference: -S {reference['select_only']['tps']} TPS, -N {reference['simple_writes']['tps']} TPS")
    backends = {}
    for backend in args.backends.split(","):
        backends[backend] = bench_backend(backend, binary, load, args.restarts, quick)
    if "postgres" in backends:
        subprocess.run(["psql", "-q", PG_BASE + "/postgres", "-c", f"DROP DATABASE IF EXISTS {PG_APP_DB}"],
                       check=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    commit = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True,
                            text=True).stdout.strip() or "unknown"
    res = {
        "meta": {"quick": quick, "date": stamp, "file": f"{stamp}.json", "commit": commit, "cores": os.cpu_count(),
                 "connections": args.connections, "duration": args.duration, "warmup": args.warmup,
                 "restarts": args.restarts, "binary_mb": round(binary.stat().st_size / 2**20, 1),
                 "seconds": round(time.time() - started)},
        "reference": reference,
        "backends": backends,
    }
    out_dir = ROOT / "bench/results"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{stamp}.json").write_text(json.dumps(res, indent=2) + "\n")
    if set(backends) == {"sqlite", "postgres"} and not quick:
        (ROOT / "docs/performance.md").write_text(markdown(res))
        log("wrote docs/performance.md")
    for figure, measured, target, ok in targets(res):
        log(f"{'pass' if ok else 'MISS'}  {figure}: {measured} (target {target})")
    log(f"done in {res['meta']['seconds']} s; results in bench/results/{stamp}.json")
    # Every request of every scenario expects a 2xx or 3xx: anything else makes the run fail.
    failed = [f"{b} {n} ({s['errors']})" for b, r in backends.items() for n, s in r["scenarios"].items()
              if s["errors"]]
    if failed:
        log("FAILED: unexpected statuses or socket errors in " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
