"""Field updates (and next-step texts) of one change queued back to back reach the tool as one write,
in order."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from connector.dispatch import Dispatcher
from connector.errors import RateLimited
from connector.outbox import Action, Comment, ShowMissing, Target, UpdateFields
from connector.store.db import Database
from connector.store.tables import OutboxRow
from connector.store.uow import UnitOfWork

from .store_rows import T0, a_change


@dataclass
class RecordingActions:
    calls: list[tuple[str | None, Action]] = field(default_factory=list)  # (change key, action)
    failures: int = 0

    def perform(self, action: Action, target: Target, idem: str) -> dict[str, Any]:
        if self.failures:
            self.failures -= 1
            raise RateLimited("slow down", status=429, retry_after=60)
        self.calls.append((target.key, action))
        return {"ok": True}


@dataclass
class FakeTool:
    actions: RecordingActions
    ctx: Any = None


@dataclass
class FakeConnector:
    database: Database
    tools: dict[str, FakeTool]


def _queue(database: Database, rows: list[tuple[str, Action]]) -> None:
    """(change key, action) rows in this order."""
    with UnitOfWork(database) as uow:
        changes = {key: uow.changes.add(a_change(key)) for key in dict.fromkeys(k for k, _a in rows)}
        for number, (key, action) in enumerate(rows):
            uow.outbox.add(
                tool="jira",
                target=Target(key),
                action=action,
                idempotency_key=f"{key}:{action}:{number}",
                change_id=changes[key].id,
                now=T0,
            )
        uow.commit()


def _dispatcher(database: Database, actions: RecordingActions, at=T0) -> Dispatcher:
    connector = FakeConnector(database, {"jira": FakeTool(actions)})
    return Dispatcher(connector, clock=lambda: at, sleep=lambda _seconds: None)


def _statuses(database: Database) -> list[str]:
    with UnitOfWork(database) as uow:
        return list(uow.session.scalars(select(OutboxRow.status).order_by(OutboxRow.id)))


def test_back_to_back_field_updates_of_a_change_are_one_write_and_all_done(database: Database) -> None:
    _queue(
        database,
        [
            ("ECM-1", UpdateFields({"lead_approver": "lead.liam"})),
            ("ECM-1", UpdateFields({"security_approver": "sec.sara"})),
            ("ECM-1", UpdateFields({"lead_approver": "lead.lena"})),
            ("ECM-1", Comment("noted")),
            ("ECM-1", UpdateFields({"deployed_at": "2025-03-03T12:00:00+00:00"})),
        ],
    )
    actions = RecordingActions()
    report = _dispatcher(database, actions).run()
    assert actions.calls == [
        ("ECM-1", UpdateFields({"lead_approver": "lead.lena", "security_approver": "sec.sara"})),
        ("ECM-1", Comment("noted")),
        ("ECM-1", UpdateFields({"deployed_at": "2025-03-03T12:00:00+00:00"})),
    ]
    assert report.done == 5 and _statuses(database) == ["done"] * 5


def test_field_updates_of_another_change_are_written_apart(database: Database) -> None:
    _queue(
        database,
        [
            ("ECM-1", UpdateFields({"peer_reviewer": "peer.pete"})),
            ("ECM-2", UpdateFields({"peer_reviewer": "peer.pia"})),
        ],
    )
    actions = RecordingActions()
    _dispatcher(database, actions).run()
    assert [key for key, _action in actions.calls] == ["ECM-1", "ECM-2"]


def test_a_failed_merged_write_leaves_every_row_pending_and_is_merged_again_later(database: Database) -> None:
    _queue(
        database,
        [
            ("ECM-1", UpdateFields({"peer_reviewer": "peer.pete"})),
            ("ECM-1", UpdateFields({"security_reviewer": "sec.sara"})),
        ],
    )
    actions = RecordingActions(failures=1)
    report = _dispatcher(database, actions).run()
    assert (report.retried, actions.calls, _statuses(database)) == (1, [], ["pending", "pending"])
    _dispatcher(database, actions, at=T0 + timedelta(hours=1)).run()
    assert actions.calls == [
        ("ECM-1", UpdateFields({"peer_reviewer": "peer.pete", "security_reviewer": "sec.sara"}))
    ]
    assert _statuses(database) == ["done", "done"]


def test_next_step_texts_queued_back_to_back_are_one_edit_showing_the_latest(database: Database) -> None:
    _queue(
        database,
        [
            ("ECM-1", ShowMissing("Approval (step 2) still needs:\n- security approval")),
            ("ECM-1", ShowMissing("Deploy (step 4) still needs:\n- peer review")),
            ("ECM-1", ShowMissing("Deploy (step 4) still needs:\n- security review")),
            ("ECM-1", UpdateFields({"security_reviewer": "sec.sara"})),
            ("ECM-1", ShowMissing("Deploy (step 4): nothing is missing; available.")),
        ],
    )
    actions = RecordingActions()
    report = _dispatcher(database, actions).run()
    assert actions.calls == [
        ("ECM-1", ShowMissing("Deploy (step 4) still needs:\n- security review")),
        ("ECM-1", UpdateFields({"security_reviewer": "sec.sara"})),
        ("ECM-1", ShowMissing("Deploy (step 4): nothing is missing; available.")),
    ]
    assert report.done == 5 and _statuses(database) == ["done"] * 5
