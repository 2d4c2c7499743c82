"""`ecm audit`: verify the hash chain, export entries for auditors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import IO

import click

from connector.cli.db import open_database
from connector.store.audit import entries, entry_dict, verify

DAY = click.DateTime(formats=["%Y-%m-%d"])
OUTPUT = click.File("w", encoding="utf-8")


@click.group()
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("verify")
def verify_command() -> None:
    """Check every entry of the hash chain; exit 1 at the first one that was changed, inserted or removed."""
    database = open_database(require_current=True)
    try:
        with database.session() as session:
            result = verify(session)
    finally:
        database.dispose()
    if result.ok:
        click.echo(f"OK: {result.checked} entries verified")
        return
    click.echo(f"FAILED: {result.problem} ({result.checked} entries before it verified)")
    raise SystemExit(1)


@audit.command("export")
@click.option("--from", "start", type=DAY, required=True, help="First day (UTC), YYYY-MM-DD.")
@click.option("--to", "end", type=DAY, required=True, help="Last day (UTC), YYYY-MM-DD, included.")
@click.option("--change", "change_key", default=None, help="Only this change's entries (issue key).")
@click.option("--out", type=OUTPUT, default="-", help="Output file (default: stdout).")
def export_command(start: datetime, end: datetime, change_key: str | None, out: IO[str]) -> None:
    """Write the entries of a period as JSON lines, each with its seq, prev_hash and hash."""
    if end < start:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    database = open_database(require_current=True)
    count = 0
    try:
        with database.session() as session:
            period = entries(
                session,
                change_key=change_key,
                start=start.replace(tzinfo=UTC),
                end=end.replace(tzinfo=UTC) + timedelta(days=1),
            )
            for row in period:
                out.write(json.dumps(entry_dict(row), ensure_ascii=False, sort_keys=True) + "\n")
                count += 1
    finally:
        database.dispose()
    if out.name != "<stdout>":
        click.echo(f"Exported {count} entries to {out.name}", err=True)


@audit.command("retention")
@click.option("--years", type=int, default=None, help="Years to check (default: ECM_AUDIT_RETENTION_YEARS).")
@click.option("--allow-short-retention", is_flag=True, help="Accept a period below 6 years.")
def retention_command(years: int | None, allow_short_retention: bool) -> None:
    """Check the audit retention period (at least 6 years) and report entries past it; deletes nothing."""
    from connector.config import load_settings
    from connector.evidence.retention import RetentionTooShort, checked_years, retention_report

    try:
        wanted = years or load_settings().audit_retention_years
        years = checked_years(wanted, allow_short=allow_short_retention)
    except RetentionTooShort as exc:
        raise click.UsageError(str(exc)) from None
    database = open_database(require_current=True)
    try:
        with database.session() as session:
            report = retention_report(session, years, datetime.now(UTC))
    finally:
        database.dispose()
    oldest = report.oldest.date().isoformat() if report.oldest else "none"
    click.echo(f"Retention {report.years} years: entries since {report.horizon.date()} are kept.")
    click.echo(f"{report.total} entries, oldest {oldest}; {report.past_horizon} past the retention period.")
    if report.past_horizon:
        click.echo("Export them with `ecm audit export` and archive them; the connector deletes none.")


COMMANDS = [audit]
