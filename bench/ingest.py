"""Webhook ingest benchmark: signed Jira deliveries driven by `wrk` against `ecm serve`, compared in the
same run with a bare Flask endpoint answering 204 on the same gunicorn set-up, on SQLite and PostgreSQL.

    .venv/bin/python bench/ingest.py [--workers 2] [--threads 8] [--rounds 3] [--seconds 6]
                                     [--wrk-threads 1] [--connections 8] [--rate 200]
                                     [--backends sqlite,postgres] [--before DIR]
    .venv/bin/python bench/ingest.py --scale [--rounds 3] [--seconds 6] [--connections 8]

Per database: both servers are started, then `wrk` runs against the bare endpoint and `ecm serve` in turn,
`--rounds` times (A/B alternated in one run, so the machine's load falls on both alike). Then a second
`wrk` shape (two threads, twice the connections) against the bare endpoint shows whether its figure is the
server's limit or the load generator's, and a paced run at `--rate` requests/s reports the latency at a
fixed load. CPU seconds of `wrk` and of the server's processes are printed beside each run, with the two
busiest processes' share: gunicorn's workers accept from one shared socket, and now and then one worker
takes all of `wrk`'s keep-alive connections, so a round measures one worker of that server. The summary
gives the ratio of the medians over all rounds and again over the rounds where both workers served.
`--before DIR` adds a third server in the alternation: `ecm serve` run from another source tree (e.g.
`git archive main | tar -x -C DIR`), so a change is measured against what it replaces in the same run.

The deliveries are the real signed body of `webhook-issue-updated-resolved.json`. Jira's signature
(`X-Hub-Signature`, connector/inbound/signatures.py) covers the body alone and the delivery id travels in
the `X-Atlassian-Webhook-Identifier` header, so the Lua script sends the one signed body with a fresh id
per request (`<run>-<wrk thread>-<counter>`: none repeats). Every id answered 2xx is collected from the
response body by the script; after the `ecm serve` runs each of them must be in the deliveries table, or
the script fails. PostgreSQL runs in a schema of its own, dropped after. `wrk` comes from the Debian
package (installed with apt-get when missing).

`--scale` (PostgreSQL, in a database of its own so its statistics are the run's alone): two `ecm serve`,
separate gunicorn masters on ports of their own, and two `ecm jobs` (one takes the leader lock, the other
stands by) on the one database. Each round runs one server alone (`--connections`, then twice as many),
then both at once, each behind its own `wrk` (wrk cannot spread one run over two hosts), their req/s
summed. Beside each run: PostgreSQL's commits per second (`pg_stat_database`), the CPU of the server
processes serving the database (their pids from `pg_stat_activity`, CPU from `/proc`) and its
connections (sampled every 0.25 s, how many are active).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from sqlalchemy import create_engine, make_url, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load import ensure_wrk  # noqa: E402

BODY_FILE = ROOT / "tests/fixtures/jira/webhooks/webhook-issue-updated-resolved.json"
SECRET = "bench-webhook-secret"
POSTGRES_URL = os.environ.get("ECM_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

LUA = r"""
-- Signed Jira deliveries with a fresh delivery id each; 2xx ids collected for the durability check.
local threads = {}
local next_thread = 1

function setup(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  wrk.body = file:read("*a")
  file:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-Hub-Signature"] = args[2]
  run_id = args[3]
  interval = tonumber(args[4]) or 0
  counter = 0
  ok = 0
  accepted = {}
  next_slot = nil
end

function request()
  counter = counter + 1
  wrk.headers["X-Atlassian-Webhook-Identifier"] = run_id .. "-" .. thread_id .. "-" .. counter
  return wrk.format(nil, "/webhooks/jira")
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
    local id = body and body:match('"delivery_id"%s*:%s*"([^"]+)"')
    if id then accepted[#accepted + 1] = id end
  end
end
__DELAY__
function done(summary, latency, requests)
  local ok_total = 0
  local out = assert(io.open(os.getenv("ECM_BENCH_IDS"), "w"))
  for _, thread in ipairs(threads) do
    ok_total = ok_total + thread:get("ok")
    for _, id in ipairs(thread:get("accepted")) do out:write(id, "\n") end
  end
  out:close()
  local e = summary.errors
  io.write(string.format(
    'ECM_BENCH {"requests": %d, "ok": %d, "seconds": %.6f, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, ok_total, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""

# Paced mode: every connection, before each request, takes the next send slot of one schedule (one slot
# every `interval` ms), so the thread's connections together send at the rate asked for.
LUA_DELAY = r"""
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_nsec; } ecm_timespec;
           int clock_gettime(int clock, ecm_timespec *tp); ]]
local now = ffi.new("ecm_timespec")

function delay()
  ffi.C.clock_gettime(1, now)  -- CLOCK_MONOTONIC
  local ms = tonumber(now.tv_sec) * 1000 + tonumber(now.tv_nsec) / 1e6
  if next_slot == nil then next_slot = ms end
  local slot = next_slot
  next_slot = next_slot + interval
  return math.max(0, math.floor(slot - ms))
end
"""


@dataclass
class Run:
    server: str
    label: str
    requests: int
    ok: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    wrk_cpu: float
    server_cpu: float
    busiest: list[float]  # CPU seconds of the server's two busiest processes (the workers)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def both_workers_served(self) -> bool:
        """The less busy of the two workers used at least a quarter of the busier one's CPU."""
        return len(self.busiest) == 2 and self.busiest[1] >= 0.25 * self.busiest[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def process_tree_cpu(root: int) -> dict[int, float]:
    """CPU seconds (user + system) used so far by `root` and by each process below it, by pid."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    found, stack = {}, [root]
    while stack:
        pid = stack.pop()
        found[pid] = times.get(pid, 0.0)
        stack.extend(child for child, parent in parents.items() if parent == pid)
    return found


class Server:
    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path, port: int) -> None:
        self.name, self.port, self.log, self.env = name, port, log, env
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{name} exited early, see {log}:\n{log.read_text()[-2000:]}")
            try:
                requests.get(f"{self.url}/healthz", timeout=1)
                return
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still starting
                time.sleep(0.2)
        self.process.kill()
        raise SystemExit(f"{name} did not start in time, see {log}")

    def cpu(self) -> dict[int, float]:
        return process_tree_cpu(self.process.pid)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Wrk:
    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary, self.workdir = binary, workdir
        body = BODY_FILE.read_bytes()
        self.signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        self.closed = workdir / "ingest.lua"
        self.closed.write_text(LUA.replace("__DELAY__", ""))
        self.paced = workdir / "ingest-paced.lua"
        self.paced.write_text(LUA.replace("__DELAY__", LUA_DELAY))
        self.accepted: dict[str, set[str]] = {}  # server URL -> delivery ids it answered 2xx

    def run(
        self,
        server: Server,
        run_id: str,
        label: str,
        *,
        threads: int,
        connections: int,
        seconds: float,
        rate: float = 0.0,
    ) -> Run:
        shape = {"threads": threads, "connections": connections, "seconds": seconds, "rate": rate}
        return self.run_together([(server, run_id, label)], **shape)[0]

    def run_together(
        self,
        targets: list[tuple[Server, str, str]],
        *,
        threads: int,
        connections: int,
        seconds: float,
        rate: float = 0.0,
    ) -> list[Run]:
        """One `wrk` per (server, run id, label), all at once; their figures in that order. The CPU of the
        `wrk` processes is their sum, given on each run."""
        script = self.paced if rate else self.closed
        interval = f"{1000.0 / rate:.6f}" if rate else "0"
        servers_before = [server.cpu() for server, _, _ in targets]
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = []
        for server, run_id, _ in targets:
            ids_file = self.workdir / f"{run_id}.ids"
            command = [
                self.binary,
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds:g}s",
                "--latency",
                "--timeout",
                "10s",
                "-s",
                str(script),
                server.url,
                "--",
                str(BODY_FILE),
                self.signature,
                run_id,
                interval,
            ]
            env = {**os.environ, "ECM_BENCH_IDS": str(ids_file)}
            process = subprocess.Popen(
                command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            started.append((process, ids_file))
        outputs = [(process, *process.communicate(), ids_file) for process, ids_file in started]
        children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        wrk_cpu = (children_after.ru_utime - children_before.ru_utime) + (
            children_after.ru_stime - children_before.ru_stime
        )
        runs = []
        for (server, _, label), before, (process, stdout, stderr, ids_file) in zip(
            targets, servers_before, outputs, strict=True
        ):
            after = server.cpu()
            by_process = sorted((after[pid] - before.get(pid, 0.0) for pid in after), reverse=True)
            if process.returncode != 0 or "ECM_BENCH " not in stdout:
                raise SystemExit(f"wrk failed ({process.returncode}):\n{stdout}\n{stderr}")
            figures = json.loads(stdout.split("ECM_BENCH ", 1)[1].splitlines()[0])
            self.accepted.setdefault(server.url, set()).update(ids_file.read_text().split())
            runs.append(
                Run(
                    server=server.name,
                    label=label,
                    requests=figures["requests"],
                    ok=figures["ok"],
                    seconds=figures["seconds"],
                    p50_ms=figures["p50_us"] / 1000,
                    p99_ms=figures["p99_us"] / 1000,
                    errors=figures["requests"] - figures["ok"] + sum(figures["errors"].values()),
                    wrk_cpu=wrk_cpu,
                    server_cpu=sum(by_process),
                    busiest=by_process[:2],
                )
            )
        return runs


def bench_backend(backend: str, args: argparse.Namespace, workdir: Path, wrk: Wrk) -> list[Run]:
    common = {**os.environ}
    common.pop("PROMETHEUS_MULTIPROC_DIR", None)
    schema = f"bench_{secrets.token_hex(4)}"
    env = {**common, "ECM_DATA_DIR": str(workdir / backend), "ECM_JIRA_WEBHOOK_SECRET": SECRET}
    for name in ("ECM_MAPPINGS", "ECM_LOG_LEVEL", "ECM_LOG_FORMAT"):  # `ecm serve` as it comes
        env.pop(name, None)
    if backend == "postgres":
        env.update(ECM_DATABASE_URL=POSTGRES_URL, ECM_DATABASE_SCHEMA=schema)
    else:
        env.pop("ECM_DATABASE_URL", None)
        env.pop("ECM_DATABASE_SCHEMA", None)
    sizing = ["--workers", str(args.workers), "--threads", str(args.threads)]
    bare_port, ecm_port = free_port(), free_port()
    bare_command = [sys.executable, __file__, "--bare-server", str(bare_port), *sizing]
    ecm_command = [str(Path(sys.executable).with_name("ecm")), "serve", "--port", str(ecm_port), *sizing]
    run_prefix = f"bench-{secrets.token_hex(4)}"
    shape = {"threads": args.wrk_threads, "connections": args.connections}
    runs: list[Run] = []
    bare = Server("bare", bare_command, common, workdir / f"bare-{backend}.log", bare_port)
    servers = [bare]
    try:
        if args.before:
            before_port = free_port()
            before_command = [*ecm_command[:3], str(before_port), *ecm_command[4:]]
            before_env = {
                **env,
                "PYTHONPATH": str(Path(args.before).resolve()),
                "ECM_DATA_DIR": str(workdir / f"{backend}-before"),
            }
            if backend == "postgres":  # a schema of its own: the other tree may migrate differently
                before_env["ECM_DATABASE_SCHEMA"] = f"{schema}_before"
            servers.append(
                Server("before", before_command, before_env, workdir / f"before-{backend}.log", before_port)
            )
        ecm = Server("ecm", ecm_command, env, workdir / f"ecm-{backend}.log", ecm_port)
        servers.append(ecm)
        try:
            for server in servers:  # warm up: connections, lazy set-up, the database's first pages
                wrk.run(server, f"{run_prefix}-{server.name}-warm", "warm-up", **shape, seconds=1)
            print(f"  load average before the runs: {load_average()}")
            for round_number in range(1, args.rounds + 1):
                for server in servers:
                    run_id = f"{run_prefix}-{server.name}-r{round_number}"
                    runs.append(
                        wrk.run(server, run_id, f"round {round_number}", **shape, seconds=args.seconds)
                    )
                    print_run(backend, runs[-1])
            wide = {"threads": 2 * args.wrk_threads, "connections": 4 * args.connections}
            label = f"wrk -t{wide['threads']} -c{wide['connections']}"
            for server in servers:
                runs.append(
                    wrk.run(server, f"{run_prefix}-{server.name}-wide", label, **wide, seconds=args.seconds)
                )
                print_run(backend, runs[-1])
            paced = {"threads": 1, "connections": args.paced_connections, "rate": args.rate}
            for server in servers:
                label = f"paced {args.rate:g}/s"
                run_id = f"{run_prefix}-{server.name}-paced"
                runs.append(wrk.run(server, run_id, label, **paced, seconds=args.paced_seconds))
                print_run(backend, runs[-1])
        finally:
            for server in servers[1:]:
                server.stop()
    finally:
        bare.stop()
    print(f"  load average after the runs: {load_average()}")
    for server in servers[1:]:
        data_dir = Path(server.env["ECM_DATA_DIR"])
        url = server.env.get("ECM_DATABASE_URL") or f"sqlite:///{data_dir / 'ecm.sqlite3'}"
        accepted = wrk.accepted.get(server.url, set())
        verify_recorded(server.name, url, server.env.get("ECM_DATABASE_SCHEMA"), run_prefix, accepted)
    for server in servers[1:]:
        if server.env.get("ECM_DATABASE_SCHEMA"):
            drop_schema(POSTGRES_URL, server.env["ECM_DATABASE_SCHEMA"])
    return runs


class PostgresWatch:
    """What PostgreSQL does for one database during a run: its commits (`pg_stat_database.xact_commit`),
    the CPU seconds of the server processes that serve it (found in `pg_stat_activity`, read from
    `/proc`), and its client connections, sampled every 0.25 s (how many, how many active)."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, isolation_level="AUTOCOMMIT")
        self.stop = threading.Event()

    def backends(self) -> dict[int, float]:
        with self.engine.connect() as connection:
            pids = connection.scalars(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            ).all()
        cpu = {}
        for pid in pids:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:  # gone, or the server is on another machine
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            cpu[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        return cpu

    def commits(self) -> int:
        query = "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        with self.engine.connect() as connection:
            return int(connection.scalar(text(query)))

    def __enter__(self) -> PostgresWatch:
        self.samples: list[tuple[int, int]] = []
        self.cpu_before, self.commits_before = self.backends(), self.commits()
        self.started = time.monotonic()
        self.stop.clear()
        self.sampler = threading.Thread(target=self._sample, daemon=True)
        self.sampler.start()
        return self

    def _sample(self) -> None:
        query = (
            "SELECT count(*), count(*) FILTER (WHERE state = 'active') FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        while not self.stop.wait(0.25):
            with self.engine.connect() as connection:
                total, active = connection.execute(text(query)).one()
            self.samples.append((total, active))

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.sampler.join()
        self.seconds = time.monotonic() - self.started
        after = self.backends()
        self.cpu = sum(after[pid] - self.cpu_before.get(pid, 0.0) for pid in after)
        self.commit_rate = (self.commits() - self.commits_before) / self.seconds

    def line(self) -> str:
        connections = max((total for total, _ in self.samples), default=0)
        active = statistics.median(a for _, a in self.samples) if self.samples else 0
        return (
            f"PostgreSQL: {self.commit_rate:,.0f} commits/s, its backends {self.cpu:.2f} CPU s "
            f"({self.cpu / self.seconds:.2f} of a core), {connections} connections, median "
            f"{active:g} active"
        )


def bench_scale(args: argparse.Namespace, workdir: Path, wrk: Wrk) -> list[Run]:
    """PostgreSQL, a database of its own: one `ecm serve` against two (separate gunicorn masters, each on
    its own port and data directory, each driven by its own `wrk`, both at once), beside an `ecm jobs`
    leader and its standby on the same database."""
    database = f"ecm_bench_{secrets.token_hex(4)}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    url = str(make_url(POSTGRES_URL).set(database=database).render_as_string(hide_password=False))
    common = {**os.environ, "ECM_DATABASE_URL": url, "ECM_JIRA_WEBHOOK_SECRET": SECRET}
    for name in ("PROMETHEUS_MULTIPROC_DIR", "ECM_MAPPINGS", "ECM_LOG_LEVEL", "ECM_LOG_FORMAT"):
        common.pop(name, None)
    common.pop("ECM_DATABASE_SCHEMA", None)
    ecm = str(Path(sys.executable).with_name("ecm"))
    sizing = ["--workers", str(args.workers), "--threads", str(args.threads)]
    run_prefix = f"bench-{secrets.token_hex(4)}"
    shape = {"threads": args.wrk_threads, "connections": args.connections, "seconds": args.seconds}
    runs: list[Run] = []
    servers: list[Server] = []
    jobs: list[subprocess.Popen] = []
    watch = PostgresWatch(url)
    try:
        for name in ("a", "b"):
            port = free_port()
            env = {**common, "ECM_DATA_DIR": str(workdir / f"scale-{name}")}
            command = [ecm, "serve", "--port", str(port), *sizing]
            servers.append(Server(f"web-{name}", command, env, workdir / f"scale-{name}.log", port))
        for name in ("1", "2"):
            env = {**common, "ECM_DATA_DIR": str(workdir / f"jobs-{name}")}
            log = (workdir / f"jobs-{name}.log").open("w")
            jobs.append(subprocess.Popen([ecm, "jobs"], env=env, stdout=log, stderr=subprocess.STDOUT))
        print(f"  scale: {leaders(workdir)}")
        first, second = servers
        for server in servers:
            wrk.run(
                server, f"{run_prefix}-{server.name}-warm", "warm-up", threads=1, connections=8, seconds=1
            )
        print(f"  load average before the runs: {load_average()}")
        for round_number in range(1, args.rounds + 1):
            label = f"round {round_number}"
            with watch:
                runs.append(
                    wrk.run(first, f"{run_prefix}-{first.name}-r{round_number}", f"one, {label}", **shape)
                )
            print_run("scale", runs[-1])
            print(f"           {watch.line()}")
            wide = {**shape, "connections": 2 * args.connections}
            with watch:
                run_id = f"{run_prefix}-{first.name}-r{round_number}w"
                runs.append(wrk.run(first, run_id, f"one 2x conns, {label}", **wide))
            print_run("scale", runs[-1])
            print(f"           {watch.line()}")
            targets = [(s, f"{run_prefix}-{s.name}-r{round_number}t", f"two, {label}") for s in servers]
            with watch:
                pair = wrk.run_together(targets, **shape)
            runs.extend(pair)
            for run in pair:
                print_run("scale", run)
            total = sum(run.rate for run in pair)
            print(f"           together {total:,.1f} req/s; {watch.line()}")
        print(f"  load average after the runs: {load_average()}")
        print(f"  scale: {leaders(workdir)}")
    finally:
        for server in servers:
            server.stop()
        for process in jobs:
            process.send_signal(signal.SIGTERM)
        for process in jobs:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    for server in servers:
        verify_recorded(server.name, url, None, run_prefix, wrk.accepted.get(server.url, set()))
    watch.engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    admin.dispose()
    return runs


def leaders(workdir: Path) -> str:
    """Which `ecm jobs` holds the leader lock, read from their logs."""
    deadline = time.monotonic() + 30
    while True:
        states = []
        for name in ("1", "2"):
            text_ = (workdir / f"jobs-{name}.log").read_text()
            state = (
                "leader" if "leader-acquired" in text_ else "standby" if "leader-standby" in text_ else "?"
            )
            states.append(f"jobs {name} {state}")
        if "?" not in " ".join(states) or time.monotonic() > deadline:
            return ", ".join(states)
        time.sleep(0.5)


def scale_summary(runs: list[Run]) -> None:
    rounds = sorted({r.label.split(", ")[1] for r in runs})
    one = [next(r.rate for r in runs if r.label == f"one, {n}") for n in rounds]
    wide = [next(r.rate for r in runs if r.label == f"one 2x conns, {n}") for n in rounds]
    two = [sum(r.rate for r in runs if r.label == f"two, {n}") for n in rounds]
    print(
        f"scale: one ecm serve {statistics.median(one):,.0f} req/s ({statistics.median(wide):,.0f} with "
        f"twice the connections), two {statistics.median(two):,.0f} req/s together: "
        f"{statistics.median(two) / statistics.median(one):.2f}x (medians of {len(rounds)} rounds)"
    )


def verify_recorded(name: str, url: str, schema: str | None, run_prefix: str, accepted: set[str]) -> None:
    """Every delivery id that this `ecm serve` answered 2xx must be in the deliveries table."""
    from connector.store.tables import DeliveryRow

    args = {"connect_args": {"options": f"-csearch_path={schema}"}} if schema else {}
    engine = create_engine(url, **args)
    try:
        with engine.connect() as connection:
            query = select(DeliveryRow.delivery_id).where(
                DeliveryRow.delivery_id.like(f"{run_prefix}-{name}-%")
            )
            stored = set(connection.scalars(query))
    finally:
        engine.dispose()
    missing = accepted - stored
    status = "ok" if not missing and accepted else "MISSING DELIVERIES"
    print(
        f"  verify {name}: {len(accepted)} deliveries answered 2xx, {len(stored)} in the deliveries table, "
        f"{len(missing)} missing: {status}"
    )
    if missing or not accepted:
        raise SystemExit(1)


def drop_schema(url: str, schema: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        engine.dispose()


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def print_run(backend: str, run: Run) -> None:
    print(
        f"  {backend:<8} {run.server:<5} {run.label:<16} {run.rate:>8.1f} req/s  p50 {run.p50_ms:>6.1f} ms"
        f"  p99 {run.p99_ms:>7.1f} ms  errors {run.errors:>3}  CPU s: wrk {run.wrk_cpu:>5.2f}"
        f" server {run.server_cpu:>5.2f} ({' + '.join(f'{cpu:.2f}' for cpu in run.busiest)})",
        flush=True,
    )


def summary(backend: str, runs: list[Run]) -> None:
    names = list(dict.fromkeys(r.server for r in runs))
    rounds = {name: [r for r in runs if r.server == name and r.label.startswith("round")] for name in names}
    bare = statistics.median(r.rate for r in rounds["bare"])
    for name in names:
        rate = statistics.median(r.rate for r in rounds[name])
        p99 = statistics.median(r.p99_ms for r in rounds[name])
        per_round = ", ".join(
            f"{r.rate / b.rate:.2f}" for b, r in zip(rounds["bare"], rounds[name], strict=True)
        )
        cpu = statistics.median(1000 * r.server_cpu / r.ok for r in rounds[name] if r.ok)
        print(
            f"{backend}: {name:<6} median {rate:>7,.0f} req/s, p99 {p99:>6.1f} ms, {cpu:.2f} CPU ms/request: "
            f"{rate / bare:.2f}x the bare endpoint (rounds: {per_round})"
        )
    # gunicorn's workers accept from one shared socket, and at times one worker takes all of wrk's
    # keep-alive connections (CPU "5.5 + 0.0"): such a round measures one worker, whichever server it hits.
    # The same ratio over the rounds where both workers served, so the split does not decide it.
    shared = {name: [r for r in rounds[name] if r.both_workers_served] for name in names}
    if shared["bare"]:
        bare_shared = statistics.median(r.rate for r in shared["bare"])
        for name in names:
            if shared[name]:
                rate = statistics.median(r.rate for r in shared[name])
                print(
                    f"{backend}: {name:<6} rounds where both workers served ({len(shared[name])} of "
                    f"{len(rounds[name])}): median {rate:>7,.0f} req/s, {rate / bare_shared:.2f}x the bare "
                    f"endpoint's ({len(shared['bare'])} of {len(rounds['bare'])})"
                )
    for run in runs:
        if not run.label.startswith("round"):
            print(
                f"{backend}: {run.server:<6} {run.label}: {run.rate:,.0f} req/s, p50 {run.p50_ms:.1f} ms, "
                f"p99 {run.p99_ms:.1f} ms"
            )


def serve_bare(port: int, workers: int, threads: int) -> None:
    from flask import Flask, request

    from connector.cli.serve import ConnectorServer, gunicorn_options

    def factory() -> Flask:
        app = Flask("bare")

        @app.get("/healthz")
        def healthz() -> tuple[str, int]:
            return "", 204

        @app.post("/webhooks/jira")
        def jira() -> tuple[str, int]:
            request.get_data()
            return "", 204

        return app

    ConnectorServer(factory, gunicorn_options("127.0.0.1", port, workers, threads)).run()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="gunicorn workers, both servers (ecm's default)"
    )
    parser.add_argument(
        "--threads", type=int, default=8, help="threads per worker, both servers (ecm's default)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="A/B alternations per database")
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each wrk run")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rate", type=float, default=200.0, help="requests/s of the paced run")
    parser.add_argument("--paced-connections", type=int, default=16)
    parser.add_argument("--paced-seconds", type=float, default=10.0)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--before", metavar="DIR", help="also run `ecm serve` from this source tree")
    parser.add_argument(
        "--scale",
        action="store_true",
        help="PostgreSQL only: one `ecm serve` against two, with an `ecm jobs` leader and standby",
    )
    parser.add_argument("--bare-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server:
        serve_bare(args.bare_server, args.workers, args.threads)
        return
    binary = ensure_wrk()
    print(
        f"gunicorn {args.workers} workers x {args.threads} threads; wrk -t{args.wrk_threads} "
        f"-c{args.connections} {args.seconds:g} s x {args.rounds} rounds, alternated; "
        f"paced {args.rate:g}/s over {args.paced_connections} connections for {args.paced_seconds:g} s; "
        f"{os.cpu_count()} CPUs, load average {load_average()}"
    )
    results: dict[str, list[Run]] = {}
    with tempfile.TemporaryDirectory(prefix="ecm-bench-") as tmp:
        wrk = Wrk(binary, Path(tmp))
        if args.scale:
            scale_summary(bench_scale(args, Path(tmp), wrk))
            return
        for backend in args.backends.split(","):
            results[backend.strip()] = bench_backend(backend.strip(), args, Path(tmp), wrk)
    print()
    for backend, runs in results.items():
        summary(backend, runs)


if __name__ == "__main__":
    main()
