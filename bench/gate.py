"""Pipeline gate benchmark: `GET /api/changes/{key}/gate?to=deployed` against `ecm serve` at a fixed rate,
compared in the same run, on the same server, with its bare `/healthz`.

    .venv/bin/python bench/gate.py [--rate 200] [--seconds 15] [--connections 4] [--workers 2] [--threads 4]

The load comes from `wrk` (installed with apt-get install -y wrk when missing). wrk 4 has no fixed-rate
mode (wrk2's `-R`), so a Lua script paces the connections: each wrk thread plans its n-th request at
start + n × threads / rate on a monotonic clock (LuaJIT's ffi `clock_gettime`), and `delay()` waits until
then. Latency is wrk's (send to last byte); a request that falls behind its plan is sent at once, so the
achieved rate is printed beside the target.
The SQLite database holds one reviewed change with both approvals and both reviews (the gate reads it, its
approvals and reviews, and judges R1-R6 every time). Loopback only; the run is bounded by --seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load import ensure_wrk  # noqa: E402
from connector.config import Settings  # noqa: E402
from connector.store.db import Database  # noqa: E402
from connector.store.tables import ApprovalRow, ChangeRow, ReviewRow  # noqa: E402

KEY = "EMG-1"
PACER = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local spec = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, spec)  -- CLOCK_MONOTONIC
  return tonumber(spec.tv_sec) * 1000 + tonumber(spec.tv_nsec) / 1e6
end

local interval_ms, token, path = 0, "", "/"
local started, sent = nil, 0

function init(args)  -- once per wrk thread; its connections share one schedule
  interval_ms, token, path = tonumber(args[1]), args[2], args[3]
  started = now_ms()
end

function request()
  sent = sent + 1
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end

function delay()
  local wait = started + sent * interval_ms - now_ms()
  if wait < 0 then return 0 end
  return math.floor(wait)
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    'BENCH {"requests": %d, "seconds": %.3f, "errors": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration / 1e6, errors,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def seed(data_dir: Path) -> None:
    """One reviewed change, ready to deploy, in the SQLite file `ecm serve` will open."""
    data_dir.mkdir(parents=True, exist_ok=True)
    database = Database.from_settings(Settings(data_dir=data_dir))
    database.upgrade()
    at = datetime(2026, 12, 1, 10, tzinfo=UTC)
    with database.session() as session:
        change = ChangeRow(
            tool="jira",
            key=KEY,
            engineer="eng.emma",
            stage="reviewed",
            category="Service outage",
            impact="Nobody can pay",
            created_at=at,
            stage_changed_at=at,
            notified_at=at,
            updated_at=at,
        )
        change.approvals = [
            ApprovalRow(
                approver=who, role=role, method="written", granted_at=at, recorded_by=who, evidence=f"c:{who}"
            )
            for who, role in (("lead.liam", "lead"), ("sec.sara", "security"))
        ]
        change.reviews = [
            ReviewRow(reviewer=who, kind=kind, at=at, evidence=f"c:{kind}")
            for who, kind in (("peer.pete", "peer"), ("sec.sara", "security"))
        ]
        session.add(change)
        session.commit()
    database.dispose()


def start(env: dict[str, str], port: int, args: argparse.Namespace, log: Path) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).with_name("ecm")),
        "serve",
        "--port",
        str(port),
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
    ]
    process = subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"ecm serve exited early, see {log}:\n{log.read_text()[-2000:]}")
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process
        except (requests.ConnectionError, requests.Timeout):  # not listening yet
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"ecm serve did not start in time, see {log}")


def wrk(url: str, path: str, token: str, args: argparse.Namespace, script: Path) -> dict:
    threads = min(2, args.connections)
    interval_ms = 1000.0 * threads / args.rate  # between two requests of one thread
    command = [
        args.wrk,
        "--latency",
        "-t",
        str(threads),
        "-c",
        str(args.connections),
        "-d",
        f"{args.seconds}s",
        "--timeout",
        "5s",
        "-s",
        str(script),
        url,
        "--",
        f"{interval_ms:.3f}",
        token,
        path,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=args.seconds + 60, check=False)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("BENCH "))
    return json.loads(line.removeprefix("BENCH "))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second, in total")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    args.wrk = ensure_wrk()
    token = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="ecm-bench-gate-") as tmp:
        workdir = Path(tmp)
        seed(workdir / "data")
        env = {**os.environ, "ECM_DATA_DIR": str(workdir / "data"), "ECM_GATE_TOKEN": token}
        env.update(ECM_LOG_FORMAT="json", ECM_LOG_LEVEL="WARNING")
        for name in ("ECM_DATABASE_URL", "ECM_MAPPINGS", "PROMETHEUS_MULTIPROC_DIR", "ECM_ADMIN_TOKEN"):
            env.pop(name, None)
        script = workdir / "pace.lua"
        script.write_text(PACER)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start(env, port, args, workdir / "ecm.log")
        try:
            gate_path = f"/api/changes/{KEY}/gate?to=deployed"
            answer = requests.get(url + gate_path, headers={"Authorization": f"Bearer {token}"}, timeout=5)
            assert answer.status_code == 200 and answer.json()["allowed"] is True, answer.text
            for path in ("/healthz", gate_path):  # warm-up: every worker's lazy set-up
                for _ in range(50):
                    requests.get(url + path, headers={"Authorization": f"Bearer {token}"}, timeout=5)
            rows = [
                ("bare /healthz", wrk(url, "/healthz", token, args, script)),
                ("gate ?to=deployed", wrk(url, gate_path, token, args, script)),
            ]
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
    load = os.getloadavg()
    print(
        f"ecm serve {args.workers} workers x {args.threads} threads, SQLite; "
        f"wrk {args.connections} connections"
    )
    print(
        f"target {args.rate:.0f} req/s for {args.seconds} s each; load average before the end {load[0]:.2f}"
    )
    print(
        f"{'endpoint':<20} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7}"
    )
    for name, r in rows:
        rate = r["requests"] / r["seconds"]
        print(
            f"{name:<20} {rate:>8.1f} {r['p50_us'] / 1000:>8.2f} {r['p90_us'] / 1000:>8.2f} "
            f"{r['p99_us'] / 1000:>8.2f} {r['max_us'] / 1000:>8.2f} {r['errors']:>7}"
        )
    gate = rows[1][1]
    verdict = "met" if gate["p99_us"] < 10_000 and gate["errors"] == 0 else "NOT met"
    print(f"target p99 < 10 ms at {args.rate:.0f} req/s: {verdict}")


if __name__ == "__main__":
    main()
