"""`ecm plan`, `ecm install`, `ecm doctor`: install a mapping into Jira or ServiceNow and check it.

The mapping's tool picks the adapter (`connector.jira.ADAPTER`, `connector.servicenow.ADAPTER`), whose
installer and doctor are imported only when used. Connection settings come from the environment
(`ECM_JIRA_URL`, ...). Any error ends with one clear line and exit 1 (2 for a bad mapping or setting).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from connector.bootstrap import ADAPTERS
from connector.config import Settings, load_settings
from connector.errors import ApiError, ConfigError, MappingError
from connector.install_plan import Check, PlanItem
from connector.mapping import Mapping, load_mapping
from connector.tools import G, ToolAdapter

Work = Callable[
    [ToolAdapter[G], Mapping, G, Settings], int
]  # (adapter, mapping, its gateway, settings) -> exit
MAPPING = click.option(
    "--mapping",
    "mapping_file",
    required=True,
    type=click.Path(path_type=Path),
    help="The mapping file, e.g. mappings/jira-cloud.yaml.",
)


def _run(mapping_file: Path, work: Work[Any]) -> None:
    try:
        mapping = load_mapping(mapping_file)
        settings = load_settings()
        adapter = ADAPTERS[mapping.tool]
        status = work(adapter, mapping, adapter.gateway(settings), settings)
    except (MappingError, ConfigError) as e:
        click.echo(f"error: {e}", err=True)
        raise SystemExit(2) from None
    except ApiError as e:
        click.echo(f"error: {e}", err=True)
        raise SystemExit(1) from None
    raise SystemExit(status)


@click.command()
@MAPPING
def plan(mapping_file: Path) -> None:
    """Show what `ecm install` would create or change, one line per item."""

    def work(adapter: ToolAdapter[G], mapping: Mapping, gateway: G, settings: Settings) -> int:
        click.echo(adapter.plan(mapping, gateway, settings=settings).render())
        return 0

    _run(mapping_file, work)


@click.command()
@MAPPING
def install(mapping_file: Path) -> None:
    """Install the mapping: create what is missing (idempotent, never deletes)."""

    def progress(item: PlanItem) -> None:
        click.echo(item.render())

    def work(adapter: ToolAdapter[G], mapping: Mapping, gateway: G, settings: Settings) -> int:
        done = adapter.install(mapping, gateway, progress=progress, settings=settings)
        click.echo(
            f"installed: {done.count('create')} created, {done.count('update')} updated, "
            f"{done.count('unchanged')} unchanged, {done.count('manual')} manual"
        )
        for item in done.manual:
            click.echo(f"manual step: {item.kind} {item.name}: {item.detail}")
        return 0

    _run(mapping_file, work)


def _render(check: Check) -> str:
    mark = "✔" if check.ok else ("?" if check.transient else "✘")
    line = f"{mark} {check.name}" + (f": {check.detail}" if check.detail else "")
    if check.transient:
        return f"{line}\n    could not be checked: the tool did not answer; run ecm doctor again"
    return line if check.ok or not check.fix else f"{line}\n    fix: {check.fix}"


@click.command()
@MAPPING
def doctor(mapping_file: Path) -> None:
    """Check connectivity, permissions, groups, the webhook and the installed rules; exit 1 if one fails."""

    def work(adapter: ToolAdapter[G], mapping: Mapping, gateway: G, settings: Settings) -> int:
        checks = [*adapter.doctor(mapping, gateway, settings=settings), *pipeline_checks(mapping, settings)]
        for check in checks:
            click.echo(_render(check))
        return 0 if all(c.ok for c in checks) else 1

    _run(mapping_file, work)


def pipeline_checks(mapping: Mapping, settings: Settings) -> list[Check]:
    """What answering GitHub's deployment protection rules needs: with GitHub's webhook accepted and a
    deploys: section, the GitHub App that answers them (without it a rule is recorded, never answered)."""
    if not mapping.deploys or settings.github_webhook_secret is None:
        return []
    missing = settings.github_app_missing
    if not missing:
        return [Check("github app (deployment protection rules)", True, f"app {settings.github_app_id}")]
    return [
        Check(
            "github app (deployment protection rules)",
            False,
            "not configured: a deployment protection rule is recorded but never answered, and GitHub "
            "fails the waiting deployment after 30 days",
            f"set {' and '.join(missing)} (the GitHub App installed as the protection rule)",
        )
    ]


COMMANDS = [plan, install, doctor]
