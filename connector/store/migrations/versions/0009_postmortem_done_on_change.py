"""The change keeps its post-mortem's done time, and the SLA job's partial index holds only the open
changes whose post-mortem is done and whose PR or documentation link is missing: its "post-mortem done,
change still open" query no longer probes the post-mortem of every open change.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_UNDOCUMENTED = "stage IN ('deployed', 'postmortem') AND (pr_url IS NULL OR docs_url IS NULL)"
DONE_UNDOCUMENTED = (
    "stage IN ('deployed', 'postmortem') AND postmortem_done_at IS NOT NULL"
    " AND (pr_url IS NULL OR docs_url IS NULL)"
)


def upgrade() -> None:
    with op.batch_alter_table("changes") as batch:
        batch.add_column(sa.Column("postmortem_done_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE changes SET postmortem_done_at = "
        "(SELECT done_at FROM postmortems WHERE postmortems.change_id = changes.id) "
        "WHERE id IN (SELECT change_id FROM postmortems WHERE done_at IS NOT NULL)"
    )
    op.drop_index("ix_changes_open_undocumented", table_name="changes")
    op.create_index(
        "ix_changes_done_undocumented",
        "changes",
        ["tool", "id"],
        postgresql_where=sa.text(DONE_UNDOCUMENTED),
        sqlite_where=sa.text(DONE_UNDOCUMENTED),
    )


def downgrade() -> None:
    op.drop_index("ix_changes_done_undocumented", table_name="changes")
    op.create_index(
        "ix_changes_open_undocumented",
        "changes",
        ["tool", "id"],
        postgresql_where=sa.text(OPEN_UNDOCUMENTED),
        sqlite_where=sa.text(OPEN_UNDOCUMENTED),
    )
    with op.batch_alter_table("changes") as batch:
        batch.drop_column("postmortem_done_at")
