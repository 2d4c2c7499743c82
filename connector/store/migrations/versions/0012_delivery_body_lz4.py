"""On PostgreSQL, a delivery's body is compressed with LZ4 instead of the default pglz: every delivery
is written once and its body read rarely (a replay, an audit question), so the compression that costs
the least CPU on the write wins. A real Jira body of 9.3 KB (`webhook-issue-updated-resolved.json`)
stores as 2,734 bytes instead of 2,574, and its INSERT costs the server 167–183 µs of CPU instead of
230–257 µs (docs/BENCHMARKS.md). Rows written before keep their pglz values; PostgreSQL reads both.

A column's compression method is PostgreSQL 14's `ALTER TABLE … ALTER COLUMN … SET COMPRESSION`, and LZ4
is there only when the server was built with it, which `default_toast_compression`'s allowed values
tell (postgresql.org/docs/15/sql-altertable.html, runtime-config-client.html). Without it, and on
SQLite, this revision changes nothing.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if _server_has_lz4():
        op.execute("ALTER TABLE deliveries ALTER COLUMN body SET COMPRESSION lz4")


def downgrade() -> None:
    if _server_has_lz4():
        op.execute("ALTER TABLE deliveries ALTER COLUMN body SET COMPRESSION DEFAULT")


def _server_has_lz4() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or bind.dialect.server_version_info < (14,):
        return False
    allowed = bind.execute(
        sa.text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
    ).scalar()
    return "lz4" in (allowed or [])
