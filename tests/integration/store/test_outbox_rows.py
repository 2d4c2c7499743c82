"""Outbox rows are typed actions kept as JSON: rows written before the actions were typed (and by older
versions still) are performed after an upgrade, new rows keep the same JSON and idempotency keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from connector.dispatch import Dispatcher
from connector.outbox import (
    Action,
    AddLabel,
    Comment,
    CreatePostMortem,
    Notify,
    RaiseEvent,
    RecordEvidence,
    RequestApprovals,
    Revert,
    Target,
    UpdateFields,
)
from connector.store.db import Database
from connector.store.outbox import decode, encode
from connector.store.tables import OutboxRow
from connector.store.uow import UnitOfWork
from tests.fakes import DispatchedConnector, DispatchedTool, RecordingActions

from .store_rows import T0, a_change, rows_as_written

DUE = datetime(2025, 3, 6, 23, 59, 59, tzinfo=UTC)


# (action column, payload as an earlier version wrote it, the action it is performed as)
EARLIER_ROWS = [
    ("revert", {"key": "ECM-1", "to_status": "Awaiting Approval"}, Revert("Awaiting Approval")),
    (
        "notify",
        {"key": "ECM-1", "subject": "EMG-1 raised", "body": "…"},
        Notify("notify", "EMG-1 raised", "…"),
    ),
    (
        "create_postmortem",
        {"key": "ECM-1", "summary": "Post-mortem", "description": "What happened", "due_at": DUE.isoformat()},
        CreatePostMortem("Post-mortem", "What happened", DUE),
    ),
    ("comment", {"key": "ECM-1", "body": "noted"}, Comment("noted")),
    ("record_evidence", {"key": "ECM-1", "remote_id": "10001"}, RecordEvidence()),
]


def test_rows_written_in_an_earlier_shape_are_performed_as_typed_actions(database: Database) -> None:
    rows_as_written(database, "servicenow", [(action, payload) for action, payload, _typed in EARLIER_ROWS])
    actions = RecordingActions()
    connector = DispatchedConnector(database, {"servicenow": DispatchedTool(actions)})
    # record_evidence is sealed from the audit log when performed; this test reads only what the row held
    dispatcher = Dispatcher(connector, clock=lambda: T0, sleep=lambda _s: None)
    dispatcher.run(limit=len(EARLIER_ROWS) - 1)

    performed = [(target, action) for target, action, _idem in actions.calls]
    assert performed == [(Target("ECM-1"), typed) for _a, _p, typed in EARLIER_ROWS[:-1]]
    assert decode(*EARLIER_ROWS[-1][:2]) == (Target("ECM-1", "10001"), RecordEvidence())
    with UnitOfWork(database) as uow:
        statuses = list(uow.session.scalars(select(OutboxRow.status).order_by(OutboxRow.id)))
    assert statuses == ["done"] * 4 + ["pending"]


def test_a_row_whose_action_this_version_does_not_know_is_marked_dead_not_lost(database: Database) -> None:
    rows_as_written(database, "jira", [("fax", {"key": "ECM-1"})])
    actions = RecordingActions()
    report = Dispatcher(
        DispatchedConnector(database, {"jira": DispatchedTool(actions)}), clock=lambda: T0
    ).run()
    with UnitOfWork(database) as uow:
        row = uow.session.scalar(select(OutboxRow))
        assert (report.dead, row.status, row.payload) == (1, "dead", {"key": "ECM-1"})
        assert "unknown outbox action 'fax'" in row.last_error
    assert actions.calls == []


ABOUT = Target("ECM-1", "10001")


@pytest.mark.parametrize(
    ("action", "payload"),
    [
        (
            Revert("Approved", "Deployed", "R5"),
            {"to_status": "Approved", "from_status": "Deployed", "comment": "R5"},
        ),
        (Comment("noted"), {"body": "noted"}),
        (
            Notify("breach", "late", "…", ("eng.emma",), ("leads",)),
            {"kind": "breach", "subject": "late", "body": "…", "users": ["eng.emma"], "groups": ["leads"]},
        ),
        (
            CreatePostMortem("PM", "what", DUE, "eng.emma", ("lead.liam",)),
            {
                "summary": "PM",
                "description": "what",
                "due_at": DUE.isoformat(),
                "assignee": "eng.emma",
                "participants": ["lead.liam"],
            },
        ),
        (UpdateFields({"pr_url": "https://git/pr/1"}), {"fields": {"pr_url": "https://git/pr/1"}}),
        (AddLabel("sla-breached"), {"label": "sla-breached"}),
        (
            RaiseEvent("ecm.breach", "u1", "g1", "late", "…"),
            {"name": "ecm.breach", "parm1": "u1", "parm2": "g1", "subject": "late", "body": "…"},
        ),
        (RequestApprovals(("leads", "security")), {"groups": ["leads", "security"]}),
        (RecordEvidence(), {}),
    ],
)
def test_each_action_keeps_the_json_an_outbox_row_has_always_held(action: Action, payload: dict) -> None:
    assert encode(ABOUT, action) == {"key": "ECM-1", "remote_id": "10001", **payload}
    assert decode(action.ACTION, encode(ABOUT, action)) == (ABOUT, action)


def test_an_alert_keeps_when_it_was_raised_and_a_row_without_it_reads_as_unknown() -> None:
    raised = Notify("breach", "late", "…", ("eng.emma",), ("leads",), at=DUE)
    assert encode(ABOUT, raised)["at"] == DUE.isoformat()
    assert decode("notify", encode(ABOUT, raised)) == (ABOUT, raised)
    event = RaiseEvent("ecm.breach", "u1", "g1", at=DUE)
    assert decode("event", encode(ABOUT, event)) == (ABOUT, event)
    older = {"key": "ECM-1", "kind": "breach", "subject": "late", "body": "…"}
    assert decode("notify", older)[1].at is None


def test_an_event_about_no_change_keeps_the_key_null_and_no_remote_id() -> None:
    drift = RaiseEvent("ecm.drift", "business rule", "inactive | fix: ecm install")
    assert encode(Target(None), drift) == {
        "key": None,
        "name": "ecm.drift",
        "parm1": "business rule",
        "parm2": "inactive | fix: ecm install",
    }


def test_enqueue_keeps_the_idempotency_keys_of_the_rows_already_queued(database: Database) -> None:
    with UnitOfWork(database) as uow:
        change = uow.changes.add(a_change("ECM-1", remote_id="10001"))
        uow.session.flush()
        assert uow.outbox.enqueue("jira", change, Comment("late"), "sla:breach", now=T0)
        assert not uow.outbox.enqueue("jira", change, Comment("late again"), "sla:breach", now=T0)
        assert uow.outbox.enqueue(
            "servicenow", None, RaiseEvent("ecm.drift"), "drift:servicenow:x:2025-03-03", now=T0
        )
        uow.commit()
        keys = list(uow.session.scalars(select(OutboxRow.idempotency_key).order_by(OutboxRow.id)))
    assert keys == ["jira:ECM-1:comment:sla:breach", "servicenow:drift:servicenow:x:2025-03-03"]
