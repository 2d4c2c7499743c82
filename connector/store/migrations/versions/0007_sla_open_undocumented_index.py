"""A partial index for the SLA job's second query (post-mortem done, change still open and missing a
retroactive item): only the open-after-deploy changes that lack a PR or documentation link, so the
query no longer walks every open change through `ix_changes_stage` and reads each from the table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_UNDOCUMENTED = "stage IN ('deployed', 'postmortem') AND (pr_url IS NULL OR docs_url IS NULL)"


def upgrade() -> None:
    op.create_index(
        "ix_changes_open_undocumented",
        "changes",
        ["tool", "id"],
        postgresql_where=sa.text(OPEN_UNDOCUMENTED),
        sqlite_where=sa.text(OPEN_UNDOCUMENTED),
    )


def downgrade() -> None:
    op.drop_index("ix_changes_open_undocumented", table_name="changes")
