"""A catch-up belongs to the row it was made for: another change's action claimed first meanwhile is
performed as itself, not failed with that catch-up's error."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from connector.dispatch import Dispatcher
from connector.errors import Unavailable
from connector.outbox import Action, CatchUp, Target, UpdateFields
from connector.store.db import Database
from connector.store.tables import OutboxRow
from connector.store.uow import UnitOfWork
from tests.fakes import DispatchedConnector, DispatchedTool, RecordingActions

from .store_rows import T0, a_change


@dataclass
class Unreadable:
    """The tool's history of a change cannot be read (Jira answers 503); reading takes ten seconds."""

    clock: list

    def change_history(self, runtime: Any, key: str, now: Any) -> Any:
        self.clock[0] += timedelta(seconds=10)
        raise Unavailable(f"get issue {key}: HTTP 503")


def test_an_action_of_another_change_due_meanwhile_is_not_failed_with_a_catch_up_error(database):
    clock = [T0]
    with UnitOfWork(database) as uow:
        later, now = uow.changes.add(a_change("ECM-1")), uow.changes.add(a_change("ECM-2"))
        update = uow.outbox.add(
            tool="jira",
            target=Target("ECM-1"),
            action=UpdateFields({"peer_reviewer": "peer.pete"}),
            idempotency_key="jira:ECM-1:update",
            change_id=later.id,
            now=T0,
        )
        update.next_attempt_at = T0 + timedelta(seconds=5)  # a retry, due while the catch-up reads
        uow.outbox.add(
            tool="jira",
            target=Target("ECM-2"),
            action=CatchUp(),
            idempotency_key="jira:ECM-2:catch_up",
            change_id=now.id,
            now=T0,
        )
        uow.commit()
    actions = RecordingActions()
    tool = DispatchedTool(actions, adapter=Unreadable(clock))
    connector = DispatchedConnector(database, {"jira": tool}, lambda: clock[0])
    dispatcher = Dispatcher(connector, clock=lambda: clock[0], sleep=lambda _seconds: None)

    dispatcher.run(limit=3)

    assert [(target.key, action) for target, action, _key in actions.calls] == [
        ("ECM-1", UpdateFields({"peer_reviewer": "peer.pete"}))
    ]
    with UnitOfWork(database) as uow:
        rows = {r.idempotency_key: r for r in uow.session.scalars(select(OutboxRow))}
        assert rows["jira:ECM-1:update"].status == "done"
        assert rows["jira:ECM-1:update"].last_error is None
        assert rows["jira:ECM-2:catch_up"].status == "pending"  # retried later: its own error
        assert "HTTP 503" in (rows["jira:ECM-2:catch_up"].last_error or "")


@dataclass
class NoHistory:
    def change_history(self, runtime: Any, key: str, now: Any) -> Any:
        return iter(())


@dataclass
class ChainFree:
    """Performs an action after asking, from another connection, whether the audit chain's lock is free."""

    database: Database
    free: list[bool] = field(default_factory=list)

    def perform(self, action: Action, target: Target, idem: str) -> dict[str, Any]:
        from sqlalchemy import text

        from connector.store.audit import CHAIN_LOCK_KEY

        with self.database.session() as session:
            free = bool(session.execute(text(f"SELECT pg_try_advisory_xact_lock({CHAIN_LOCK_KEY})")).scalar())
            session.rollback()
        self.free.append(free)
        return {"reverted_to": "Awaiting Approval"}


def test_a_revert_still_due_is_performed_without_holding_the_audit_chains_lock(database):
    """Webhooks take the chain's lock first: a revert whose call to Jira holds it would hold every
    webhook's answer for as long as Jira takes (a held request: ten seconds)."""
    import pytest

    from connector.procedure.model import Stage
    from tests.fakes import ChangeSteps, handled, jira_context

    if database.dialect != "postgresql":
        pytest.skip("the chain's lock is PostgreSQL's advisory lock; SQLite has one writer at a time")
    ctx = jira_context()
    steps = ChangeSteps(T0)
    approve = steps.moved("eng.emma", 1, "d-1", Stage.APPROVED)
    [_, outcome] = handled(database, ctx, steps.raised(), approve)
    assert outcome.startswith("refused")  # no approval at all: reverted
    actions = ChainFree(database)
    tool = DispatchedTool(actions, ctx, NoHistory())
    connector = DispatchedConnector(database, {"jira": tool}, lambda: T0 + timedelta(minutes=2))
    dispatcher = Dispatcher(connector, clock=lambda: T0 + timedelta(minutes=2), sleep=lambda _seconds: None)

    dispatcher.run(limit=20)

    with UnitOfWork(database) as uow:
        revert = uow.session.scalars(select(OutboxRow).where(OutboxRow.action == "revert")).one()
        assert (revert.status, revert.result) == ("done", {"reverted_to": "Awaiting Approval"})
    assert actions.free and all(actions.free), actions.free
