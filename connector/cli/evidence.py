"""`ecm evidence`: the evidence packet of one change, or the population of a period, for auditors."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import click

from connector.cli.db import open_database
from connector.config import load_settings
from connector.evidence.integrity import verify_packet
from connector.evidence.packet import build_packet
from connector.evidence.population import population, write_csv, write_json
from connector.evidence.render_html import packet_page, read_packet
from connector.evidence.rulebook import RuleBook
from connector.evidence.summary import summary
from connector.store.evidence import ChangeNotFound
from connector.store.repositories import ChangeRepository
from connector.store.signing import SigningKeyError, load_public_key

DAY = click.DateTime(formats=["%Y-%m-%d"])
OUTPUT = click.File("w", encoding="utf-8", lazy=True)
PACKET_FORMATS = ("json", "html")
POPULATION_FORMATS = ("csv", "json")
PROGRESS_FROM = 1000  # rows: below this no progress bar is drawn


class KeyOrCommand(click.Group):
    """`ecm evidence KEY ...` is the packet of KEY; `ecm evidence verify FILE` is a command of its own."""

    def resolve_command(self, ctx: click.Context, args: list[str]):  # type: ignore[override]
        if args and args[0] not in self.commands:
            return "packet", packet_command, args
        return super().resolve_command(ctx, args)


@click.group("evidence", cls=KeyOrCommand, invoke_without_command=True)
@click.option("--from", "start", type=DAY, help="Population: first day (UTC), YYYY-MM-DD.")
@click.option("--to", "end", type=DAY, help="Population: last day (UTC), YYYY-MM-DD, included.")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@click.option("--out", type=OUTPUT, default="-", help="Output file (default: stdout).")
@click.pass_context
def evidence(
    ctx: click.Context, start: datetime | None, end: datetime | None, fmt: str, out: IO[str]
) -> None:
    """Evidence for auditors (SOC 2 CC8.1, HIPAA 45 CFR 164.312(b)).

    \b
    ecm evidence EMG-12 --format html --out EMG-12.html    one change's packet
    ecm evidence --from 2026-01-01 --to 2026-03-31 --format csv --out q1.csv    every change of a period
    ecm evidence verify EMG-12.json --public-key audit.pub    check a packet offline
    """
    if ctx.invoked_subcommand is not None:
        if start or end:
            raise click.UsageError("give either a change KEY or --from/--to, not both")
        return
    if not (start and end):
        raise click.UsageError("give a change KEY, or --from and --to for the population of a period")
    _population(start, end, fmt, out)


@click.command("packet", hidden=True)
@click.argument("key")
@click.option("--tool", default=None, help="The tool of KEY when two tools use the same key.")
@click.option(
    "--format", "fmt", type=click.Choice([*PACKET_FORMATS, "csv"]), default="json", show_default=True
)
@click.option("--out", type=OUTPUT, default="-", help="Output file (default: stdout).")
@click.option("--from", "start", type=DAY, hidden=True)
@click.option("--to", "end", type=DAY, hidden=True)
def packet_command(
    key: str, tool: str | None, fmt: str, out: IO[str], start: datetime | None, end: datetime | None
) -> None:
    """The evidence packet of change KEY."""
    if start or end:
        raise click.UsageError("give either a change KEY or --from/--to, not both")
    _packet(key, tool, fmt, out)


@evidence.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--public-key",
    "public_key_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="The audit public key (PEM), from `ecm audit public-key`.",
)
def verify_command(file: Path, public_key_file: Path) -> None:
    """Check a packet (JSON or HTML) alone: its hash, its signed checkpoint and the audit entries leading
    to it. Needs no database and no private key; exit 1 naming what does not hold."""
    try:
        public_key = load_public_key(public_key_file)
        packet = read_packet(file.read_text(encoding="utf-8"))
    except (SigningKeyError, ValueError, OSError) as exc:
        click.echo(f"FAILED: {exc}", err=True)
        raise SystemExit(1) from None
    problems = verify_packet(packet, public_key)
    if problems:
        for problem in problems:
            click.echo(f"FAILED: {problem}")
        raise SystemExit(1)
    checkpoint = packet["integrity"]["checkpoint"]
    click.echo(
        f"OK: packet {packet['change']['key']} sha256 {packet['integrity']['packet_hash']}, "
        f"covered by checkpoint seq={checkpoint['seq']} of {checkpoint['at']} "
        f"signed by key {checkpoint['key_id']}"
    )


def _rulebook() -> RuleBook:
    try:
        return RuleBook.from_settings(load_settings())
    except Exception as exc:  # noqa: BLE001 - a config or mapping problem is reported in one line
        click.echo(f"configuration error: {exc}", err=True)
        raise SystemExit(2) from None


def _packet(key: str, tool: str | None, fmt: str, out: IO[str]) -> None:
    if fmt not in PACKET_FORMATS:
        raise click.BadParameter(
            f"a packet is written as {' or '.join(PACKET_FORMATS)}", param_hint="--format"
        )
    rulebook, database = _rulebook(), open_database(require_current=True)
    try:
        with database.session() as session:
            packet = build_packet(session, key, rulebook, tool=tool)
    except ChangeNotFound as exc:
        click.echo(f"not found: {exc}", err=True)
        raise SystemExit(1) from None
    finally:
        database.dispose()
    out.write(
        packet_page(packet) if fmt == "html" else json.dumps(packet, indent=2, ensure_ascii=False) + "\n"
    )
    chain, audit = packet["audit"]["chain"], packet["audit"]
    if not (chain["ok"] and audit["entries_intact"]):
        problem = chain["problem"] or "an audit entry of this change does not match its hash"
        click.echo(f"WARNING: audit log tampered: {problem}", err=True)
        raise SystemExit(1)


def _population(start: datetime, end: datetime, fmt: str, out: IO[str]) -> None:
    if fmt not in POPULATION_FORMATS:
        raise click.BadParameter(
            f"a population is written as {' or '.join(POPULATION_FORMATS)}", param_hint="--format"
        )
    if end < start:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    first, last = start.replace(tzinfo=UTC), end.replace(tzinfo=UTC) + timedelta(days=1)
    rulebook, database = _rulebook(), open_database(require_current=True)
    try:
        with database.session() as session:  # one session: SQLite allows one transaction at a time
            header = {"summary": summary(session, first, last, rulebook.clock())} if fmt == "json" else {}
            total = ChangeRepository(session).created_between(first, last)
            rows = _with_progress(population(session, first, last, rulebook), total)
            count = write_csv(rows, out) if fmt == "csv" else write_json(rows, out, header)
    finally:
        database.dispose()
    if getattr(out, "name", "-") not in ("-", "<stdout>"):
        click.echo(f"Exported {count} changes to {out.name}", err=True)


def _with_progress(rows: Iterator[Any], total: int) -> Iterator[Any]:
    if total < PROGRESS_FROM or not sys.stderr.isatty():
        yield from rows
        return
    with click.progressbar(length=total, label="Exporting changes", file=sys.stderr) as bar:
        for row in rows:
            yield row
            bar.update(1)


COMMANDS = [evidence]
