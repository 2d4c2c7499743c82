"""Give the once-only markers that are not deliveries a table of their own.

A comment or changelog entry processed ("subject" rows) and a drift problem alerted today ("drift" rows)
were kept in `deliveries` under a made-up source; they move to `markers`, and `deliveries` holds only
what the tools delivered.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("subject", "drift")


def upgrade() -> None:
    op.create_table(
        "markers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issue_key", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_markers")),
        sa.UniqueConstraint("kind", "key", name="uq_markers_kind_key"),
    )
    op.execute(
        "INSERT INTO markers (kind, key, at, issue_key, detail) "
        "SELECT source, delivery_id, received_at, issue_key, detail FROM deliveries "
        "WHERE source IN ('subject', 'drift') ORDER BY id"
    )
    op.execute("DELETE FROM deliveries WHERE source IN ('subject', 'drift')")


def downgrade() -> None:
    op.execute(
        "INSERT INTO deliveries (source, delivery_id, received_at, event_type, issue_key, outcome, detail) "
        "SELECT kind, key, at, CASE WHEN kind = 'drift' THEN 'drift' END, issue_key, "
        "CASE WHEN kind = 'drift' THEN 'handled' ELSE 'received' END, detail FROM markers ORDER BY id"
    )
    op.drop_table("markers")
