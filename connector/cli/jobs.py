"""`ecm jobs`: the scheduler process (SLA, outbox dispatch, reconciliation, drift), one active at a time."""

from __future__ import annotations

import logging
import signal
import threading

import click

from connector.errors import ConfigError, MappingError

log = logging.getLogger("jobs")


@click.command()
@click.option(
    "--reconcile-minutes",
    envvar="ECM_RECONCILE_MINUTES",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0.05),
    help="Reconciliation interval (env ECM_RECONCILE_MINUTES).",
)
@click.option(
    "--sla-seconds",
    envvar="ECM_SLA_SECONDS",
    default=60.0,
    type=click.FloatRange(min=0.1),
    hidden=True,
    help="SLA job interval (tests and demos; the procedure needs no less than the default minute).",
)
@click.option(
    "--outbox-workers",
    envvar="ECM_OUTBOX_WORKERS",
    default=4,
    show_default=True,
    type=click.IntRange(1, 32),
    help="Outbox dispatcher threads on PostgreSQL, each on another change; SQLite uses one "
    "(env ECM_OUTBOX_WORKERS).",
)
@click.option(
    "--metrics-port", type=click.IntRange(1, 65535), default=None, help="Serve /metrics on this port."
)
@click.option("--metrics-host", default="127.0.0.1", show_default=True)
@click.option(
    "--log-format", type=click.Choice(["json", "text"]), default=None, help="Default: ECM_LOG_FORMAT."
)
def jobs(
    reconcile_minutes: float,
    sla_seconds: float,
    outbox_workers: int,
    metrics_port: int | None,
    metrics_host: str,
    log_format: str | None,
) -> None:
    """Run the scheduler: SLA every minute, outbox dispatch, reconciliation, daily drift checks.

    Several may run (PostgreSQL): one holds the leader lock, the others stand by and take over when it
    dies. With SQLite only one process per data directory runs. Stops cleanly on SIGTERM or Ctrl-C.
    """
    from prometheus_client import start_http_server

    from connector.bootstrap import bootstrap, warm
    from connector.config import load_settings
    from connector.logs import configure_logging
    from jobs.leader import leader_lock
    from jobs.scheduler import JobMetrics, JobsConfig, run_forever

    try:
        settings = load_settings()
        configure_logging(log_format or settings.log_format.value, settings.log_level)
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # every run has its own job-run line
        connector = bootstrap(settings)
        warm(connector)
    except (ConfigError, MappingError, ValueError) as exc:
        raise click.ClickException(f"configuration error: {exc}") from None
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    metrics = JobMetrics()
    if metrics_port:
        start_http_server(metrics_port, addr=metrics_host, registry=metrics.registry)
    if connector.database.dialect != "postgresql":
        outbox_workers = 1  # one writer at a time, and no row locks to keep two workers apart
    config = JobsConfig(
        sla_seconds=sla_seconds,
        reconcile_minutes=reconcile_minutes,
        outbox_workers=outbox_workers,
        checkpoint_poll_seconds=min(5.0, settings.audit_checkpoint_seconds),
    )
    log.info(
        "jobs-starting",
        extra={
            "reconcile_minutes": reconcile_minutes,
            "outbox_workers": outbox_workers,
            "tools": sorted(connector.tools),
        },
    )
    try:
        run_forever(connector, leader_lock(connector.database, settings.data_dir), config, stop, metrics)
    finally:
        connector.database.dispose()


COMMANDS = [jobs]
