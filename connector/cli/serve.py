"""`ecm serve`: migrate the database, then serve the webhooks, health and metrics.

Production: gunicorn (threaded workers, the app built in each worker after the fork). `--dev`: Flask's
development server in this process. Several workers share `/metrics` through prometheus_client's
multiprocess mode: `PROMETHEUS_MULTIPROC_DIR` (default `<data dir>/metrics` when --workers > 1) is emptied
at start and each dead worker is marked so its gauges drop out.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from gunicorn.app.base import BaseApplication

from connector.errors import ConfigError, MappingError

if TYPE_CHECKING:
    from gunicorn.arbiter import Arbiter
    from gunicorn.workers.base import Worker

    from connector.config import Settings

logger = logging.getLogger(__name__)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(1, 64),
    help="gunicorn workers. Default: 2 on SQLite (one writer at a time); on PostgreSQL one per CPU core, "
    "2 to 8.",
)
@click.option(
    "--threads",
    default=8,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Threads per worker; the deliveries that arrive together are committed together.",
)
@click.option("--dev", is_flag=True, help="Flask's development server instead of gunicorn (one process).")
@click.option(
    "--insecure-no-signature", is_flag=True, help="Accept unsigned deliveries where no webhook secret is set."
)
@click.option(
    "--log-format", type=click.Choice(["json", "text"]), default=None, help="Default: ECM_LOG_FORMAT."
)
def serve(
    host: str,
    port: int,
    workers: int | None,
    threads: int,
    dev: bool,
    insecure_no_signature: bool,
    log_format: str | None,
) -> None:
    """Serve the webhook endpoints, /healthz, /readyz and /metrics."""
    from connector.config import load_settings
    from connector.logs import configure_logging
    from connector.store.url import backend_of

    try:
        settings = load_settings()
    except ConfigError as exc:
        _fail(f"configuration error: {exc}")
    configure_logging(log_format or settings.log_format.value, settings.log_level)
    workers = workers or default_workers(backend_of(settings.effective_database_url))
    if not dev and workers > 1:
        _prepare_multiprocess_metrics(settings.data_dir / "metrics")
    _upgrade_and_check(settings)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # /readyz asks Alembic on every probe
    click.echo(f"service: http://{host}:{port}")
    factory = _app_factory(settings, insecure_no_signature)
    if dev:
        factory().run(host=host, port=port, debug=False, use_reloader=False)
        return
    ConnectorServer(factory, gunicorn_options(host, port, workers, threads)).run()


def gunicorn_options(host: str, port: int, workers: int, threads: int) -> dict[str, Any]:
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "keepalive": 5,
        "timeout": 30,
        "graceful_timeout": 10,
        "accesslog": None,
        "child_exit": _child_exit,
        "control_socket_disable": True,
    }


class ConnectorServer(BaseApplication):
    """gunicorn run programmatically; `load()` runs in each worker, so each builds its own app."""

    def __init__(self, factory: Callable[[], Any], options: dict[str, Any]) -> None:
        self.factory, self.options = factory, options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # e.g. control_socket_disable exists from gunicorn 25.1 on
                self.cfg.set(key, value)

    def load(self) -> Any:
        return self.factory()


def _app_factory(settings: Settings, insecure: bool) -> Callable[[], Any]:
    def build() -> Any:
        from connector.bootstrap import bootstrap, warm
        from connector.web.app import create_app

        connector = bootstrap(settings, upgrade=False)
        warm(connector)  # in each worker: what webhooks need from the tool, read before the first one
        return create_app(connector, insecure_no_signature=insecure)

    return build


def default_workers(dialect: str, cores: int | None = None) -> int:
    """Two on SQLite, whose writes take turns whatever the number of processes; on PostgreSQL one per
    core (a worker's Python runs on one core at a time), at least two and at most eight."""
    if dialect != "postgresql":
        return 2
    return max(2, min(8, cores or os.cpu_count() or 2))


def _upgrade_and_check(settings: Settings) -> None:
    """`ecm db upgrade`, then build the connector once so a bad mapping stops here, not in every worker."""
    from connector.bootstrap import bootstrap
    from connector.store.db import Database

    database = Database.from_settings(settings)
    try:
        database.upgrade()
        bootstrap(settings, database=database, upgrade=False)
    except (ConfigError, MappingError, ValueError) as exc:
        _fail(f"configuration error: {exc}")
    finally:
        database.dispose()


def _prepare_multiprocess_metrics(default: Path) -> None:
    if "prometheus_client" in sys.modules and not os.environ.get(MULTIPROC_ENV):
        logger.warning("metrics-per-worker", extra={"detail": f"set {MULTIPROC_ENV} before starting"})
        return
    directory = Path(os.environ.setdefault(MULTIPROC_ENV, str(default)))
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)


def _child_exit(_server: Arbiter, worker: Worker) -> None:
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def _fail(message: str) -> None:
    click.echo(message, err=True)
    raise SystemExit(2)


COMMANDS = [serve]
