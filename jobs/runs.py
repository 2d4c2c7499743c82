"""One run of a job, however it is started (the scheduler's table, the outbox loop): one structured
`job-run` log line (job, outcome, duration) and the `ecm_job_runs_total{job,outcome}` and
`ecm_job_seconds{job}` figures, whatever happens."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

log = logging.getLogger("jobs")


class JobMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.runs = Counter(
            "ecm_job_runs", "Scheduled job runs by outcome", ["job", "outcome"], registry=self.registry
        )
        self.seconds = Histogram("ecm_job_seconds", "Job run duration", ["job"], registry=self.registry)
        self.leader = Gauge(
            "ecm_jobs_leader", "1 while this process holds the leader lock", registry=self.registry
        )


def instrumented(job: str, function: Callable[[], str], metrics: JobMetrics, *, quiet_idle: bool = False):
    """Run once: one structured log line and the metrics, whatever happens. Returns the summary or None."""
    started = time.perf_counter()
    try:
        summary = function()
    except Exception:  # noqa: BLE001 - a failing run must not stop the scheduler; it is logged and counted
        seconds = time.perf_counter() - started
        metrics.runs.labels(job, "failed").inc()
        metrics.seconds.labels(job).observe(seconds)
        log.exception(
            "job-run", extra={"job": job, "outcome": "failed", "duration_ms": round(seconds * 1000)}
        )
        return None
    seconds = time.perf_counter() - started
    outcome = "idle" if not summary else "ok"
    metrics.runs.labels(job, outcome).inc()
    metrics.seconds.labels(job).observe(seconds)
    if not (quiet_idle and outcome == "idle"):
        extra = {"job": job, "outcome": outcome, "duration_ms": round(seconds * 1000), "summary": summary}
        log.info("job-run", extra=extra)
    return summary
