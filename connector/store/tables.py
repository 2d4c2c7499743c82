"""SQLAlchemy 2 tables. One schema for SQLite and PostgreSQL; Alembic owns its history."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from sqlalchemy.engine.interfaces import Dialect

# BIGINT on PostgreSQL, INTEGER on SQLite (so that it stays an auto-incrementing rowid).
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes in, timezone-aware UTC datetimes out, on both databases."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware datetime")
        from datetime import UTC

        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        from datetime import UTC

        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Named constraints, so that later migrations can alter them on SQLite too (batch mode needs names).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


# Open after deploy (connector/store/sla.py OPEN_AFTER_DEPLOY), its post-mortem done, and missing a
# retroactive link: the SLA job's R8 candidates, few however many post-mortems are still open.
DONE_UNDOCUMENTED = (
    "stage IN ('deployed', 'postmortem') AND postmortem_done_at IS NOT NULL"
    " AND (pr_url IS NULL OR docs_url IS NULL)"
)


class ChangeRow(Base):
    __tablename__ = "changes"
    __table_args__ = (
        UniqueConstraint("tool", "key", name="uq_changes_tool_key"),
        Index("ix_changes_stage", "stage"),
        Index("ix_changes_created_at", "created_at"),
        # The SLA job's "post-mortem done, change still open" candidates (migration 0009).
        Index(
            "ix_changes_done_undocumented",
            "tool",
            "id",
            postgresql_where=text(DONE_UNDOCUMENTED),
            sqlite_where=text(DONE_UNDOCUMENTED),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tool: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(64))
    remote_id: Mapped[str | None] = mapped_column(String(64))  # Jira issue id / ServiceNow sys_id
    url: Mapped[str | None] = mapped_column(String(500))
    project: Mapped[str] = mapped_column(String(64), default="")
    team: Mapped[str | None] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(500), default="")
    engineer: Mapped[str] = mapped_column(String(128))
    stage: Mapped[str] = mapped_column(String(32))
    remote_status: Mapped[str | None] = mapped_column(String(64))  # status name / state value last seen
    stage_changed_at: Mapped[
        datetime | None
    ]  # tool time of the event that set `stage` (late events are older)
    category: Mapped[str | None] = mapped_column(String(128))
    impact: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    notified_at: Mapped[datetime | None]
    deployed_at: Mapped[datetime | None]
    pr_url: Mapped[str | None] = mapped_column(String(500))
    docs_url: Mapped[str | None] = mapped_column(String(500))
    close_code: Mapped[str | None] = mapped_column(String(128))
    closed_at: Mapped[datetime | None]
    # The post-mortem's done_at, kept here by PostMortemRow so that one partial index finds the changes
    # whose post-mortem is done but whose retroactive links are missing (ix_changes_done_undocumented).
    postmortem_done_at: Mapped[datetime | None]
    # Rejection (R2): who rejected, with what role, why, and where it was said.
    rejected_by: Mapped[str | None] = mapped_column(String(128))
    rejected_role: Mapped[str | None] = mapped_column(String(16))
    rejected_at: Mapped[datetime | None]
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    rejection_evidence: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)

    approvals: Mapped[list[ApprovalRow]] = relationship(
        back_populates="change", order_by="ApprovalRow.id", cascade="all, delete-orphan"
    )
    reviews: Mapped[list[ReviewRow]] = relationship(
        back_populates="change", order_by="ReviewRow.id", cascade="all, delete-orphan"
    )
    postmortem: Mapped[PostMortemRow | None] = relationship(
        back_populates="change", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}


class ApprovalRow(Base):
    __tablename__ = "approvals"
    __table_args__ = (Index("ix_approvals_unconfirmed", "confirm_by", "confirmed_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id", ondelete="CASCADE"), index=True)
    approver: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(16))
    granted_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(128))
    evidence: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str | None] = mapped_column(String(128))
    confirm_by: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    confirmation_evidence: Mapped[str | None] = mapped_column(String(200))

    change: Mapped[ChangeRow] = relationship(back_populates="approvals")


class ReviewRow(Base):
    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id", ondelete="CASCADE"), index=True)
    reviewer: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    evidence: Mapped[str] = mapped_column(String(200))

    change: Mapped[ChangeRow] = relationship(back_populates="reviews")


class PostMortemRow(Base):
    __tablename__ = "postmortems"
    __table_args__ = (  # the open ones by their due time (migration 0010): the SLA job, overdue figures
        Index(
            "ix_postmortems_open_due",
            "due_at",
            postgresql_where=text("done_at IS NULL"),
            sqlite_where=text("done_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id", ondelete="CASCADE"), unique=True)
    key: Mapped[str | None] = mapped_column(String(64))  # None until the tool has created it
    created_at: Mapped[datetime | None]
    due_at: Mapped[datetime]
    assignee: Mapped[str | None] = mapped_column(String(128))
    participants: Mapped[list[Any]] = mapped_column(JSON, default=list)
    done_at: Mapped[datetime | None]
    report_url: Mapped[str | None] = mapped_column(String(500))

    change: Mapped[ChangeRow] = relationship(back_populates="postmortem")

    @validates("done_at", "change")
    def _copy_done_at_to_change(
        self, key: str, value: datetime | ChangeRow | None
    ) -> datetime | ChangeRow | None:
        change, done_at = (self.change, value) if key == "done_at" else (value, self.done_at)
        if change is not None:
            change.postmortem_done_at = done_at
        return value


class ViolationRow(Base):
    __tablename__ = "violations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(128))
    from_stage: Mapped[str | None] = mapped_column(String(32))
    to_stage: Mapped[str | None] = mapped_column(String(32))
    rules: Mapped[list[Any]] = mapped_column(JSON)
    details: Mapped[list[Any]] = mapped_column(JSON)  # [{rule, step, message, missing}]
    reverted: Mapped[bool] = mapped_column(default=False)
    # a step found in the tool's history after the change moved on past it: not reverted, it stood
    found_late: Mapped[bool] = mapped_column(default=False)


class AlertRow(Base):
    """Each notification the connector sent, once per (change, kind, threshold)."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("change_id", "kind", "threshold", name="uq_alerts_once"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(48))  # created, violation, reminder, breach, escalation, ...
    threshold: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    recipients: Mapped[list[Any]] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(String(300), default="")


class DeliveryRow(Base):
    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("source", "delivery_id", name="uq_deliveries_source_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # jira | servicenow
    delivery_id: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime]
    event_type: Mapped[str | None] = mapped_column(String(64))
    issue_key: Mapped[str | None] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16), default="received")  # handled|ignored|failed
    detail: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)


class DeployRow(Base):
    """A production deploy a pipeline reported, once per deploy (a GitHub deployment and all its statuses
    are one): the facts, the change it was recorded on, and what the connector made of it."""

    __tablename__ = "deploys"
    __table_args__ = (UniqueConstraint("source", "deploy_id", name="uq_deploys_source_deploy_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # github | pipeline
    deploy_id: Mapped[str] = mapped_column(String(200))
    environment: Mapped[str] = mapped_column(String(128))
    deployed_at: Mapped[datetime] = mapped_column(index=True)
    received_at: Mapped[datetime]
    repository: Mapped[str] = mapped_column(String(200))
    sha: Mapped[str | None] = mapped_column(String(64))
    ref: Mapped[str | None] = mapped_column(String(255))
    version: Mapped[str | None] = mapped_column(String(128))
    deployer: Mapped[str | None] = mapped_column(String(128))
    url: Mapped[str | None] = mapped_column(String(500))
    named_key: Mapped[str | None] = mapped_column(String(64))  # the change the deploy named, if any
    change_id: Mapped[int | None] = mapped_column(
        ForeignKey("changes.id", ondelete="SET NULL"), index=True
    )  # the change it is recorded on: the one named, or the bypass change once the tool created it
    outcome: Mapped[str] = mapped_column(String(16))  # recorded | violation | bypass
    bypass: Mapped[bool] = mapped_column(default=False)  # opened (or is opening) a bypass change
    bypass_change_id: Mapped[int | None] = mapped_column(ForeignKey("changes.id", ondelete="SET NULL"))
    detail: Mapped[str | None] = mapped_column(Text)


class MarkerRow(Base):
    """Something done once, that is not a delivery: a comment or changelog entry processed (kind "subject",
    key "<tool>:<subject id>"), a drift problem alerted today (kind "drift", key "<tool>:<check>:<day>")."""

    __tablename__ = "markers"
    __table_args__ = (UniqueConstraint("kind", "key", name="uq_markers_kind_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime]
    issue_key: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)


class OutboxRow(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    change_id: Mapped[int | None] = mapped_column(ForeignKey("changes.id", ondelete="SET NULL"), index=True)
    tool: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(48))  # revert, comment, create_postmortem, notify, ...
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|done|dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AuditRow(Base):
    """Append-only, hash-chained. `hash` covers the canonical JSON of the entry and `prev_hash`."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[datetime] = mapped_column(index=True)
    change_key: Mapped[str | None] = mapped_column(String(64), index=True)
    tool: Mapped[str | None] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class CheckpointRow(Base):
    """A signed statement that the audit chain ended at (`seq`, `hash`) at `at`; also in the anchor file."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    prev_seq: Mapped[int] = mapped_column(BigInteger)
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(128))


class PersonRow(Base):
    """Who an identity was when a fact about them was recorded: a new row whenever the name or e-mail
    the tool gives changes, so a packet names people as they were, even after a rename or a departure."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tool: Mapped[str] = mapped_column(String(16))
    identity: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str] = mapped_column(String(256))
    email: Mapped[str | None] = mapped_column(String(256))
    recorded_at: Mapped[datetime]

    __table_args__ = (Index("ix_people_tool_identity", "tool", "identity"),)


class SignInFailureRow(Base):
    """A refused dashboard sign-in, kept for the attempt limit's window (shared by every web worker)."""

    __tablename__ = "sign_in_failures"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client: Mapped[str] = mapped_column(String(200), index=True)  # who tried: account and address
    at: Mapped[datetime] = mapped_column(index=True)


class WatermarkRow(Base):
    __tablename__ = "watermarks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]
