"""Webhook ingest benchmark: signed Jira deliveries against `ecm serve`, compared in the same run with a
bare Flask endpoint answering 204 on the same gunicorn set-up, on SQLite and on PostgreSQL.

    .venv/bin/python bench/ingest.py [--workers 2] [--threads 4] [--rate 200] [--seconds 10]
                                     [--clients 16] [--closed-seconds 5] [--backends sqlite,postgres]

Open loop: requests are sent at a fixed rate whatever the answers (latency counted from the planned send
time, so a stall is not hidden). Closed loop: N clients send back to back for a few seconds (max
throughput). Loopback only; every loop is bounded in count and time. After each `ecm serve` run, every
accepted delivery must be in the deliveries table. PostgreSQL runs in a schema of its own, dropped after.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests
from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parents[1]
BODY = (ROOT / "tests/fixtures/jira/webhooks/webhook-issue-updated-resolved.json").read_bytes()
SECRET = "bench-webhook-secret"
POSTGRES_URL = os.environ.get("ECM_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MAX_REQUESTS = 100_000  # hard bound on any one loop


@dataclass
class Result:
    sent: int = 0
    ok: int = 0
    seconds: float = 0.0
    latencies: list[float] | None = None

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        values = sorted(self.latencies or [0.0])
        return values[min(len(values) - 1, int(q * len(values)))] * 1000


class Client:
    """Signed deliveries with unique ids, one keep-alive session per thread."""

    def __init__(self, url: str, run_id: str) -> None:
        self.url, self.run_id = url, run_id
        self.local = threading.local()
        self.counter = 0
        self.lock = threading.Lock()
        self.signature = "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()

    def send(self) -> bool:
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
        with self.lock:
            self.counter += 1
            number = self.counter
        headers = {
            "X-Hub-Signature": self.signature,
            "X-Atlassian-Webhook-Identifier": f"{self.run_id}-{number}",
            "Content-Type": "application/json",
        }
        try:
            response = session.post(f"{self.url}/webhooks/jira", data=BODY, headers=headers, timeout=10)
        except requests.RequestException:
            return False
        return response.status_code < 300


def open_loop(client: Client, rate: float, seconds: float) -> Result:
    total = min(int(rate * seconds), MAX_REQUESTS)
    latencies: list[float] = []
    ok = 0
    lock = threading.Lock()

    def one(planned: float) -> None:
        nonlocal ok
        success = client.send()
        with lock:
            latencies.append(time.perf_counter() - planned)
            ok += success

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=64) as pool:
        for i in range(total):
            planned = start + i / rate
            delay = planned - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, planned)
    return Result(sent=total, ok=ok, seconds=time.perf_counter() - start, latencies=latencies)


def closed_loop(client: Client, clients: int, seconds: float) -> Result:
    deadline = time.perf_counter() + seconds
    counts = [0] * clients
    sent = [0] * clients

    def loop(index: int) -> None:
        while time.perf_counter() < deadline and sent[index] < MAX_REQUESTS // clients:
            sent[index] += 1
            counts[index] += client.send()

    start = time.perf_counter()
    threads = [threading.Thread(target=loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Result(sent=sum(sent), ok=sum(counts), seconds=time.perf_counter() - start)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(command: list[str], env: dict[str, str], log: Path, port: int) -> subprocess.Popen:
    process = subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited early, see {log}:\n{log.read_text()[-2000:]}")
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still starting
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"server did not start in time, see {log}")


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def measure(url: str, run_id: str, args: argparse.Namespace) -> tuple[Result, Result]:
    client = Client(url, run_id)
    for _ in range(20):  # warm up connections and the workers' lazy set-up
        client.send()
    steady = open_loop(client, args.rate, args.seconds)
    peak = closed_loop(client, args.clients, args.closed_seconds)
    return steady, peak


def bench_backend(backend: str, args: argparse.Namespace, workdir: Path) -> list[tuple[str, Result, Result]]:
    common = {**os.environ, "ECM_LOG_LEVEL": "INFO", "ECM_LOG_FORMAT": "json"}
    common.pop("PROMETHEUS_MULTIPROC_DIR", None)
    schema = f"bench_{secrets.token_hex(4)}"
    env = {**common, "ECM_DATA_DIR": str(workdir / backend), "ECM_JIRA_WEBHOOK_SECRET": SECRET}
    env.pop("ECM_MAPPINGS", None)
    if backend == "postgres":
        env.update(ECM_DATABASE_URL=POSTGRES_URL, ECM_DATABASE_SCHEMA=schema)
    else:
        env.pop("ECM_DATABASE_URL", None)
    sizing = ["--workers", str(args.workers), "--threads", str(args.threads)]
    rows = []
    port = free_port()
    bare = start(
        [sys.executable, __file__, "--bare-server", str(port), *sizing], common, workdir / "bare.log", port
    )
    try:
        rows.append((f"bare Flask 204 ({backend} run)", *measure(f"http://127.0.0.1:{port}", "bare", args)))
    finally:
        stop(bare)
    port = free_port()
    ecm = [str(Path(sys.executable).with_name("ecm")), "serve", "--port", str(port), *sizing]
    server = start(ecm, env, workdir / f"ecm-{backend}.log", port)
    run_id = f"bench-{secrets.token_hex(4)}"
    try:
        steady, peak = measure(f"http://127.0.0.1:{port}", run_id, args)
    finally:
        stop(server)
    rows.append((f"ecm serve, {backend}", steady, peak))
    url = env.get("ECM_DATABASE_URL") or f"sqlite:///{workdir / backend / 'ecm.sqlite3'}"
    verify_recorded(url, schema if backend == "postgres" else None, run_id, 20 + steady.ok + peak.ok)
    return rows


def verify_recorded(url: str, schema: str | None, run_id: str, accepted: int) -> None:
    from connector.store.tables import DeliveryRow

    args = {"connect_args": {"options": f"-csearch_path={schema}"}} if schema else {}
    engine = create_engine(url, **args)
    try:
        with engine.connect() as connection:
            query = (
                select(func.count())
                .select_from(DeliveryRow)
                .where(DeliveryRow.delivery_id.like(f"{run_id}-%"))
            )
            stored = connection.scalar(query)
        if schema:
            with engine.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        engine.dispose()
    status = "ok" if stored == accepted else "MISSING DELIVERIES"
    print(f"  verify: {accepted} deliveries accepted (2xx), {stored} in the deliveries table: {status}")
    if stored != accepted:
        raise SystemExit(1)


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
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--closed-seconds", type=float, default=5.0)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--bare-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server:
        serve_bare(args.bare_server, args.workers, args.threads)
        return
    print(
        f"workers={args.workers} threads={args.threads} "
        f"open loop {args.rate:.0f}/s for {args.seconds:.0f} s, "
        f"closed loop {args.clients} clients for {args.closed_seconds:.0f} s"
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="ecm-bench-") as tmp:
        for backend in args.backends.split(","):
            rows += bench_backend(backend.strip(), args, Path(tmp))
    header = (
        f"{'server':<28} {'open-loop req/s':>15} {'p50 ms':>8} {'p99 ms':>8} {'max req/s':>10} {'errors':>7}"
    )
    print(header)
    print("-" * len(header))
    for name, steady, peak in rows:
        errors = steady.sent - steady.ok + peak.sent - peak.ok
        print(
            f"{name:<28} {steady.rate:>15.1f} {steady.percentile(0.5):>8.1f} {steady.percentile(0.99):>8.1f} "
            f"{peak.rate:>10.1f} {errors:>7}"
        )
    bare = {name.split("(")[1].split()[0]: peak.rate for name, _, peak in rows if name.startswith("bare")}
    for name, _, peak in rows:
        if name.startswith("ecm"):
            backend = name.split(", ")[1]
            print(f"{name}: {peak.rate / bare[backend]:.2f}x the bare endpoint's max throughput")


if __name__ == "__main__":
    main()
