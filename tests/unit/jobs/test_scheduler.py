"""The scheduler's job table, its run logging and metrics, and the SQLite leader lock."""

from __future__ import annotations

import logging
import threading
from types import SimpleNamespace

from jobs.leader import FileLeaderLock, lock_key
from jobs.scheduler import JOBS, JobMetrics, JobsConfig, build_scheduler, instrumented, run_forever


def sample(metrics: JobMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def test_job_table_runs_sla_every_minute_reconcile_every_n_minutes_drift_daily_checkpoints_often():
    config = JobsConfig(reconcile_minutes=7)
    intervals = {job.id: job.every(config).total_seconds() for job in JOBS}
    assert intervals == {"sla": 60, "reconcile": 420, "drift": 86400, "checkpoint": 5}


def test_every_scheduled_job_coalesces_missed_runs_and_never_overlaps_itself():
    scheduler = build_scheduler(SimpleNamespace(), JobsConfig(), JobMetrics())
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert sorted(jobs) == ["checkpoint", "drift", "reconcile", "sla"]
    assert all(job.coalesce and job.max_instances == 1 for job in jobs.values())
    assert all(job.next_run_time is not None for job in jobs.values())  # each also runs at start


def test_a_run_is_logged_once_with_outcome_and_duration_and_counted(caplog):
    metrics = JobMetrics()
    with caplog.at_level(logging.INFO, logger="jobs"):
        assert instrumented("sla", lambda: "checked=3", metrics) == "checked=3"
    [record] = [r for r in caplog.records if r.getMessage() == "job-run"]
    assert (record.job, record.outcome, record.summary) == ("sla", "ok", "checked=3")
    assert record.duration_ms >= 0
    assert sample(metrics, "ecm_job_runs_total", job="sla", outcome="ok") == 1
    assert sample(metrics, "ecm_job_seconds_count", job="sla") == 1


def test_a_failing_run_is_logged_with_its_traceback_counted_and_does_not_raise(caplog):
    metrics = JobMetrics()

    def broken() -> str:
        raise RuntimeError("database gone")

    with caplog.at_level(logging.INFO, logger="jobs"):
        assert instrumented("reconcile", broken, metrics) is None
    [record] = [r for r in caplog.records if r.getMessage() == "job-run"]
    assert record.outcome == "failed" and record.exc_info is not None
    assert sample(metrics, "ecm_job_runs_total", job="reconcile", outcome="failed") == 1


def test_idle_outbox_polls_are_counted_but_not_logged(caplog):
    metrics = JobMetrics()
    with caplog.at_level(logging.INFO, logger="jobs"):
        instrumented("outbox", lambda: "", metrics, quiet_idle=True)
    assert not [r for r in caplog.records if r.getMessage() == "job-run"]
    assert sample(metrics, "ecm_job_runs_total", job="outbox", outcome="idle") == 1


def test_only_one_process_holds_the_sqlite_data_dir_lock_until_it_lets_go(tmp_path):
    first, second = FileLeaderLock(tmp_path), FileLeaderLock(tmp_path)
    assert first.try_acquire() and first.still_held()
    assert not second.try_acquire()
    first.release()
    assert second.try_acquire()
    second.release()


def test_standby_keeps_retrying_without_running_jobs_until_stopped():
    class NeverLeader:
        attempts = 0

        def try_acquire(self) -> bool:
            self.attempts += 1
            return False

        def still_held(self) -> bool:
            return False

        def release(self) -> None:
            pass

    lock, stop, metrics = NeverLeader(), threading.Event(), JobMetrics()
    config = JobsConfig(standby_retry_seconds=0.01)
    thread = threading.Thread(target=run_forever, args=(SimpleNamespace(), lock, config, stop, metrics))
    thread.start()
    threading.Event().wait(0.1)
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive() and lock.attempts >= 2
    assert sample(metrics, "ecm_jobs_leader") == 0


def test_leader_lock_keys_differ_per_schema():
    assert lock_key("h:5432/test/a") != lock_key("h:5432/test/b")
