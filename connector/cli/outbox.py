"""`ecm outbox list|retry`: see the outbound actions and put a dead one back in the queue."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from connector.cli.db import open_database
from connector.store.outbox import target
from connector.store.tables import OutboxRow
from connector.store.uow import UnitOfWork

STATUSES = ("pending", "dead", "done")
COLUMNS = ("id", "change", "action", "status", "attempts", "next attempt", "last error")


@click.group()
def outbox() -> None:
    """The outbox: every outbound call to Jira or ServiceNow, retried until done or dead."""


@outbox.command("list")
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only rows with this status.")
@click.option("--limit", type=click.IntRange(1, 10000), default=100, show_default=True)
def list_rows(status: str | None, limit: int) -> None:
    """Table of id, change, action, status, attempts, next attempt and last error (newest first)."""
    database = open_database(require_current=True)
    try:
        with UnitOfWork(database) as uow:
            rows = [_cells(row, key) for row, key in uow.outbox.newest(limit, status=status)]
    finally:
        database.dispose()
    click.echo(
        render_table(COLUMNS, rows)
        if rows
        else "No outbox rows" + (f" with status {status}." if status else ".")
    )


@outbox.command()
@click.argument("row_id", metavar="ID", type=int)
def retry(row_id: int) -> None:
    """Put a dead action back to pending, due now (its attempts start again)."""
    database = open_database(require_current=True)
    try:
        with UnitOfWork(database) as uow:
            row = uow.outbox.get(row_id, for_update=True)
            if row is None:
                raise click.ClickException(f"no outbox row {row_id}")
            if row.status != "dead":
                raise click.ClickException(f"outbox row {row_id} is {row.status}, only dead rows are retried")
            now = datetime.now(UTC)
            row.status, row.attempts, row.next_attempt_at = "pending", 0, now
            uow.audit.append(
                actor="ecm-admin",
                action="outbox-retry",
                change_key=target(row.payload).key,
                tool=row.tool,
                data={"outbox_id": row.id, "action": row.action, "last_error": row.last_error},
                at=now,
            )
            uow.commit()
    finally:
        database.dispose()
    click.echo(f"Outbox row {row_id} is pending again; the jobs process will dispatch it.")


def _cells(row: OutboxRow, key: str | None) -> tuple[str, ...]:
    next_attempt = row.next_attempt_at.strftime("%Y-%m-%d %H:%M:%S") if row.status == "pending" else "-"
    error = (row.last_error or "").replace("\n", " ")
    return (
        str(row.id),
        key or target(row.payload).key or "-",
        row.action,
        row.status,
        str(row.attempts),
        next_attempt,
        error[:80] + ("…" if len(error) > 80 else ""),
    )


def render_table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)


COMMANDS = [outbox]
