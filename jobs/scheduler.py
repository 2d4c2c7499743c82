"""The scheduler process: one job table, the outbox loop, the leader lock, metrics and logs.

    JOBS: sla every minute, reconcile every N minutes, drift daily, audit checkpoint every few seconds
          (each also once at start),
          all with coalesce=True and max_instances=1.
    outbox: a tight loop thread (poll every 100 ms, straight on while there is work).

Only the holder of the leader lock runs them; a standby retries the lock every few seconds. Every run is
logged as one `job-run` line (job, outcome, duration) and counted in `ecm_job_runs_total{job,outcome}`
and `ecm_job_seconds{job}`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from jobs import checkpoint, drift, outbox, reconcile, sla
from jobs.leader import LeaderLock
from jobs.runs import JobMetrics, instrumented

log = logging.getLogger("jobs")


@dataclass(frozen=True)
class JobsConfig:
    sla_seconds: float = 60
    reconcile_minutes: float = 5
    drift_hours: float = 24
    outbox_poll_seconds: float = 0.1
    outbox_workers: int = 1  # dispatcher threads (PostgreSQL claims rows with SKIP LOCKED; SQLite: 1)
    standby_retry_seconds: float = 3
    lease_check_seconds: float = 2
    checkpoint_poll_seconds: float = 5


@dataclass(frozen=True)
class Job:
    id: str
    function: Callable[[Any], str]  # (connector) -> a short summary for the log line
    every: Callable[[JobsConfig], timedelta]
    quiet_idle: bool = False  # a run that found nothing to do is counted but not logged


JOBS: tuple[Job, ...] = (
    Job("sla", sla.run, lambda cfg: timedelta(seconds=cfg.sla_seconds)),
    Job("reconcile", reconcile.run, lambda cfg: timedelta(minutes=cfg.reconcile_minutes)),
    Job("drift", drift.run, lambda cfg: timedelta(hours=cfg.drift_hours)),
    Job("checkpoint", checkpoint.run, lambda cfg: timedelta(seconds=cfg.checkpoint_poll_seconds), True),
)


def build_scheduler(connector: Any, config: JobsConfig, metrics: JobMetrics) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=UTC)
    start = datetime.now(UTC)
    for job in JOBS:
        scheduler.add_job(
            instrumented,
            IntervalTrigger(seconds=job.every(config).total_seconds(), timezone=UTC),
            args=(job.id, lambda f=job.function: f(connector) or "", metrics),
            kwargs={"quiet_idle": job.quiet_idle},
            id=job.id,
            name=job.id,
            coalesce=True,
            max_instances=1,
            next_run_time=start,  # once at start, then every interval
        )
    return scheduler


def run_forever(
    connector: Any,
    lock: LeaderLock,
    config: JobsConfig,
    stop: threading.Event,
    metrics: JobMetrics | None = None,
) -> None:
    """Stand by until the leader lock is ours, lead until it is lost or `stop` is set, repeat."""
    metrics = metrics or JobMetrics()
    while not stop.is_set():
        if not lock.try_acquire():
            log.info("leader-standby", extra={"retry_seconds": config.standby_retry_seconds})
            stop.wait(config.standby_retry_seconds)
            continue
        log.info("leader-acquired", extra={"lock": repr(lock)})
        metrics.leader.set(1)
        try:
            _lead(connector, lock, config, stop, metrics)
        finally:
            metrics.leader.set(0)
            lock.release()
    log.info("jobs-stopped")


def _lead(
    connector: Any, lock: LeaderLock, config: JobsConfig, stop: threading.Event, metrics: JobMetrics
) -> None:
    scheduler = build_scheduler(connector, config, metrics)
    loop_stop = threading.Event()
    threads = [
        threading.Thread(
            target=outbox.OutboxLoop(connector, metrics, config.outbox_poll_seconds).run,
            args=(loop_stop,),
            name=f"outbox-{n}",
            daemon=True,
        )
        for n in range(config.outbox_workers)
    ]
    for thread in threads:
        thread.start()
    scheduler.start()
    try:
        while not stop.wait(config.lease_check_seconds):
            if not lock.still_held():
                log.error("leader-lost", extra={"lock": repr(lock)})
                return
    finally:
        loop_stop.set()
        scheduler.shutdown(wait=True)
        for thread in threads:
            thread.join(timeout=30)
