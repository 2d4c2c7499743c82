"""The open post-mortems' index holds only the open ones (`WHERE done_at IS NULL`), by their due time:
what the SLA job and the dashboard's overdue figures ask, a few thousand rows instead of every
post-mortem ever written (bench/sla_scan.py: 30 MB for 1,010,000 post-mortems), and a post-mortem
leaves it when it is done.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "done_at IS NULL"


def upgrade() -> None:
    op.drop_index("ix_postmortems_open_due", table_name="postmortems")
    op.create_index(
        "ix_postmortems_open_due",
        "postmortems",
        ["due_at"],
        postgresql_where=sa.text(OPEN),
        sqlite_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_postmortems_open_due", table_name="postmortems")
    op.create_index("ix_postmortems_open_due", "postmortems", ["done_at", "due_at"], unique=False)
