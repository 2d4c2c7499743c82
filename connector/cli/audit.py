"""`ecm audit`: verify the chain, its signed checkpoints and the anchor; print the public key; export."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import click

from connector.cli.db import open_database
from connector.config import load_settings
from connector.errors import ConfigError
from connector.store.audit import entries, entry_dict, verify
from connector.store.audit_verify import verify_log
from connector.store.checkpoints import Anchor, AnchorError, any_checkpoint
from connector.store.signing import SigningKeyError, load_public_key, public_pem

DAY = click.DateTime(formats=["%Y-%m-%d"])
OUTPUT = click.File("w", encoding="utf-8")


@click.group()
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("verify")
@click.option(
    "--public-key",
    "public_key_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The audit public key (PEM) to check the signatures with; default: the service's signing key.",
)
@click.option(
    "--anchor",
    "anchor_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The anchor file to compare with (default: ECM_AUDIT_ANCHOR).",
)
def verify_command(public_key_file: Path | None, anchor_file: Path | None) -> None:
    """Check the hash chain, every signed checkpoint and the anchor; exit 1 naming each thing that was
    changed, rewritten, truncated, deleted or forged."""
    settings = _settings()
    public_key = _public_key(public_key_file, settings)
    anchor = Anchor(anchor_file or settings.anchor_path)
    database = open_database(require_current=True)
    try:
        with database.session() as session:
            if public_key is None:
                _verify_unsigned(session, anchor)
                return
            report = verify_log(session, public_key, anchor)
    finally:
        database.dispose()
    if report.ok:
        click.echo(f"OK: {report.summary()}")
        return
    for problem in report.problems:
        click.echo(f"FAILED: {problem}")
    raise SystemExit(1)


def _verify_unsigned(session, anchor: Anchor) -> None:
    """No signing key exists yet: only a log that was never checkpointed can be verified."""
    if any_checkpoint(session) or anchor.exists():
        raise click.UsageError("the log has signed checkpoints: give the audit public key with --public-key")
    result = verify(session)
    if not result.ok:
        click.echo(f"FAILED: {result.problem} ({result.checked} entries before it verified)")
        raise SystemExit(1)
    click.echo(f"OK: {result.checked} entries verified (no checkpoint signed yet)")


@audit.command("public-key")
def public_key_command() -> None:
    """Print the audit public key (PEM), for auditors to verify the log and evidence packets with."""
    path = _settings().signing_key_path
    if not path.exists():
        click.echo(
            f"no audit signing key at {path} yet: `ecm jobs` or `ecm audit checkpoint` creates it", err=True
        )
        raise SystemExit(1)
    click.echo(public_pem(_public_key(path, None)), nl=False)


@audit.command("checkpoint")
def checkpoint_command() -> None:
    """Sign a checkpoint of the newest entry now (the jobs process does this every few seconds)."""
    from connector.bootstrap import system_clock
    from connector.store.checkpoints import checkpointer_from_settings

    settings = _settings()
    created = not settings.signing_key_path.exists()
    database = open_database(require_current=True)
    try:
        made = _signing(lambda: checkpointer_from_settings(settings, database, system_clock).sign(force=True))
    finally:
        database.dispose()
    if created:
        click.echo(
            f"WARNING: created the audit signing key {settings.signing_key_path}; production keeps it "
            "outside the data directory (ECM_AUDIT_SIGNING_KEY_FILE)",
            err=True,
        )
    click.echo(f"Signed checkpoint seq={made.seq}" if made else "Nothing new to sign.")


def _settings():
    try:
        return load_settings()
    except ConfigError as exc:
        click.echo(f"configuration error: {exc}", err=True)
        raise SystemExit(2) from None


def _public_key(path: Path | None, settings):
    """The public key from FILE, else from the service's signing key; None when there is neither."""
    if path is None and not settings.signing_key_path.exists():
        return None
    return _signing(lambda: load_public_key(path or settings.signing_key_path))


def _signing(action):
    try:
        return action()
    except (SigningKeyError, AnchorError) as exc:
        click.echo(f"FAILED: {exc}", err=True)
        raise SystemExit(1) from None


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
