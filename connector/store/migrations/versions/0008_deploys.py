"""Production deploys reported by pipelines (GitHub deployments, the generic deploy hook), once per deploy.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deploys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("deploy_id", sa.String(length=200), nullable=False),
        sa.Column("environment", sa.String(length=128), nullable=False),
        sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("repository", sa.String(length=200), nullable=False),
        sa.Column("sha", sa.String(length=64), nullable=True),
        sa.Column("ref", sa.String(length=255), nullable=True),
        sa.Column("version", sa.String(length=128), nullable=True),
        sa.Column("deployer", sa.String(length=128), nullable=True),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("named_key", sa.String(length=64), nullable=True),
        sa.Column("change_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("bypass", sa.Boolean(), nullable=False),
        sa.Column("bypass_change_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["change_id"], ["changes.id"], name=op.f("fk_deploys_change_id_changes"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["bypass_change_id"],
            ["changes.id"],
            name=op.f("fk_deploys_bypass_change_id_changes"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deploys")),
        sa.UniqueConstraint("source", "deploy_id", name="uq_deploys_source_deploy_id"),
    )
    op.create_index(op.f("ix_deploys_change_id"), "deploys", ["change_id"], unique=False)
    op.create_index(op.f("ix_deploys_deployed_at"), "deploys", ["deployed_at"], unique=False)


def downgrade() -> None:
    op.drop_table("deploys")
