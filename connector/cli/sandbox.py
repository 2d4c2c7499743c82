"""`ecm sandbox jira|servicenow`: start a local simulator on loopback."""

from __future__ import annotations

import click


@click.group()
def sandbox() -> None:
    """Start a local Jira or ServiceNow sandbox (for the demo, tests and trying things out)."""


@sandbox.command("jira")
@click.option("--port", type=click.IntRange(0, 65535), default=8081, show_default=True)
@click.option("--flavor", type=click.Choice(["cloud", "datacenter"]), default="cloud", show_default=True)
@click.option("--webhook-url", default=None, help="Register an admin webhook to this URL at start.")
@click.option(
    "--server-version", default=None, help="Data Center version to behave as, e.g. 10.3.0 (default 9.12.0)."
)
def jira_command(port: int, flavor: str, webhook_url: str | None, server_version: str | None) -> None:
    """A stateful Jira (REST API v2/v3, webhooks, fault injection) seeded with project EMG."""
    from sandbox.jira.server import run

    run(port=port, flavor=flavor, webhook_url=webhook_url, version=server_version)


@sandbox.command("servicenow")
@click.option("--port", type=click.IntRange(0, 65535), default=8082, show_default=True)
def servicenow_command(port: int) -> None:
    """A stateful ServiceNow instance (Table API, business rules, events, fault injection)."""
    from sandbox.servicenow.server import run

    run(port=port)


COMMANDS = [sandbox]
