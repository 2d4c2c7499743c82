"""`ecm evidence`: the evidence packet of one change, or the population of a period, for auditors."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import IO, Any

import click
from sqlalchemy import func, select

from connector.cli.db import open_database
from connector.config import load_settings
from connector.evidence.facts import ChangeNotFound
from connector.evidence.packet import build_packet
from connector.evidence.population import population, write_csv, write_json
from connector.evidence.render_html import packet_page
from connector.evidence.rulebook import RuleBook
from connector.evidence.summary import summary
from connector.store.tables import ChangeRow

DAY = click.DateTime(formats=["%Y-%m-%d"])
OUTPUT = click.File("w", encoding="utf-8", lazy=True)
PACKET_FORMATS = ("json", "html")
POPULATION_FORMATS = ("csv", "json")
PROGRESS_FROM = 1000  # rows: below this no progress bar is drawn


@click.command("evidence")
@click.argument("key", required=False)
@click.option("--from", "start", type=DAY, help="Population: first day (UTC), YYYY-MM-DD.")
@click.option("--to", "end", type=DAY, help="Population: last day (UTC), YYYY-MM-DD, included.")
@click.option("--tool", default=None, help="Packet: the tool of KEY when two tools use the same key.")
@click.option(
    "--format", "fmt", type=click.Choice(["json", "html", "csv"]), default="json", show_default=True
)
@click.option("--out", type=OUTPUT, default="-", help="Output file (default: stdout).")
def evidence(
    key: str | None, start: datetime | None, end: datetime | None, tool: str | None, fmt: str, out: IO[str]
) -> None:
    """Evidence for auditors (SOC 2 CC8.1, HIPAA 45 CFR 164.312(b)).

    \b
    ecm evidence EMG-12 --format html --out EMG-12.html    one change's packet
    ecm evidence --from 2026-01-01 --to 2026-03-31 --format csv --out q1.csv    every change of a period
    """
    if key and (start or end):
        raise click.UsageError("give either a change KEY or --from/--to, not both")
    if key:
        _packet(key, tool, fmt, out)
    elif start and end:
        _population(start, end, fmt, out)
    else:
        raise click.UsageError("give a change KEY, or --from and --to for the population of a period")


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
            total = session.scalar(
                select(func.count())
                .select_from(ChangeRow)
                .where(ChangeRow.created_at >= first, ChangeRow.created_at < last)
            )
            rows = _with_progress(population(session, first, last, rulebook), total or 0)
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
