"""The unit of work keeps all or nothing, and two writers of one change cannot both win."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from connector.procedure.model import Method, Role, Stage
from connector.store.db import Database
from connector.store.tables import ChangeRow
from connector.store.uow import UnitOfWork

from .store_rows import T0, a_change, a_deployed_change


def test_committed_work_is_kept(database: Database) -> None:
    with UnitOfWork(database) as uow:
        uow.changes.add(a_change("ECM-1"))
        uow.commit()
    with UnitOfWork(database) as uow:
        assert uow.changes.get("jira", "ECM-1") is not None


def test_leaving_without_commit_keeps_nothing(database: Database) -> None:
    with UnitOfWork(database) as uow:
        uow.changes.add(a_change("ECM-1"))
        uow.audit.append(actor="alice", action="created", change_key="ECM-1", tool="jira", data={}, at=T0)
    with pytest.raises(RuntimeError), UnitOfWork(database) as uow:
        uow.changes.add(a_change("ECM-2"))
        raise RuntimeError("boom")
    with UnitOfWork(database) as uow:
        assert uow.changes.get("jira", "ECM-1") is None
        assert uow.changes.get("jira", "ECM-2") is None
        assert list(uow.session.execute(text("SELECT * FROM audit_log"))) == []


def test_a_change_reads_back_as_the_domain_facts(database: Database) -> None:
    with UnitOfWork(database) as uow:
        change_id = uow.changes.add(a_deployed_change("ECM-2")).id
        uow.commit()
    with UnitOfWork(database) as uow:
        row = uow.session.get(ChangeRow, change_id)
        facts = uow.changes.to_facts(row)
    assert facts.key == "ECM-2" and facts.stage is Stage.POSTMORTEM
    lead, security = facts.approval_for(Role.LEAD), facts.approval_for(Role.SECURITY)
    assert lead.approver == "lena" and lead.confirmed
    assert security.method is Method.VERBAL and not security.confirmed and security.channel == "phone"
    assert security.confirm_by == T0 + timedelta(days=1)
    assert [r.reviewer for r in facts.reviews] == ["bob"]
    assert facts.postmortem.due_at == T0 + timedelta(days=3)
    assert facts.postmortem.participants == ("lena", "sam")
    assert facts.deployed_at.tzinfo is not None


def test_a_post_mortem_is_found_by_its_task_key_in_its_own_tool_only(database: Database) -> None:
    with UnitOfWork(database) as uow:
        row = a_deployed_change("ECM-2")
        row.postmortem.key = "ECM-9"
        uow.changes.add(row)
        uow.commit()
    with UnitOfWork(database) as uow:
        found = uow.changes.postmortem("jira", "ECM-9")
        assert found is not None and found.change.key == "ECM-2"
        assert uow.changes.postmortem("servicenow", "ECM-9") is None
        assert uow.changes.postmortem("jira", "ECM-2") is None


def test_a_rejected_change_carries_who_rejected_it_and_why(database: Database) -> None:
    with UnitOfWork(database) as uow:
        uow.changes.add(
            a_change(
                "ECM-3",
                stage="rejected",
                rejected_by="sam",
                rejected_role="security",
                rejected_at=T0,
                rejection_reason="no rollback plan",
                rejection_evidence="c:1",
            )
        )
        facts = uow.changes.to_facts(uow.changes.get("jira", "ECM-3"))
    assert facts.rejection.by == "sam" and facts.rejection.role is Role.SECURITY
    assert facts.rejection.reason == "no rollback plan"


def test_a_stale_update_of_a_change_fails_and_the_first_writer_wins(database: Database) -> None:
    with UnitOfWork(database) as uow:
        uow.changes.add(a_change("ECM-1"))
        uow.commit()
    late_writer = database.session()
    stale = late_writer.scalars(select(ChangeRow).where(ChangeRow.key == "ECM-1")).one()
    late_writer.commit()  # it read version 1 and keeps that copy
    with UnitOfWork(database) as uow:
        uow.changes.get("jira", "ECM-1", for_update=True).stage = "approved"
        uow.commit()
    stale.stage = "cancelled"
    with pytest.raises(StaleDataError, match="expected to update 1 row"):
        late_writer.commit()
    late_writer.close()
    with UnitOfWork(database) as uow:
        row = uow.changes.get("jira", "ECM-1")
        assert (row.stage, row.version) == ("approved", 2)


@pytest.mark.postgres
def test_a_change_read_for_update_is_locked_against_other_writers(database: Database) -> None:
    if database.dialect != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serialises whole transactions")
    with UnitOfWork(database) as uow:
        uow.changes.add(a_change("ECM-1"))
        uow.commit()
    with UnitOfWork(database) as holder, UnitOfWork(database) as other:
        holder.changes.get("jira", "ECM-1", for_update=True)
        other.session.execute(text("SET LOCAL lock_timeout = '200ms'"))
        with pytest.raises(OperationalError, match="lock timeout"):
            other.changes.get("jira", "ECM-1", for_update=True)


def test_a_webhook_delivery_is_recorded_once(database: Database) -> None:
    with UnitOfWork(database) as uow:
        uow.changes.add(a_change("ECM-1"))
        first = uow.deliveries.record(
            "jira",
            "d-1",
            event_type="jira:issue_updated",
            issue_key="ECM-1",
            body=b'{"a": 1}',
            received_at=T0,
        )
        again = uow.deliveries.record(
            "jira", "d-1", event_type="jira:issue_updated", issue_key="ECM-1", body=b"{}", received_at=T0
        )
        other_source = uow.deliveries.record(
            "servicenow", "d-1", event_type=None, issue_key=None, body=None, received_at=T0
        )
        uow.deliveries.mark(first, "handled", "moved to approved")
        uow.commit()
    assert first is not None and again is None and other_source is not None
    with UnitOfWork(database) as uow:
        assert uow.changes.get("jira", "ECM-1") is not None  # the duplicate did not undo the rest
        stored = uow.session.execute(text("SELECT outcome, detail, body FROM deliveries WHERE source='jira'"))
        assert stored.one() == ("handled", "moved to approved", '{"a": 1}')


def test_a_delivery_outcome_must_be_a_known_one(database: Database) -> None:
    with UnitOfWork(database) as uow:
        row = uow.deliveries.record("jira", "d-1", event_type=None, issue_key=None, body=None, received_at=T0)
        with pytest.raises(ValueError, match="handled"):
            uow.deliveries.mark(row, "done")


def test_two_workers_recording_the_same_delivery_at_once_record_it_once(database: Database) -> None:
    outcome: dict[str, object] = {}

    def second_worker() -> None:
        with UnitOfWork(database) as uow:
            outcome["row"] = uow.deliveries.record(
                "jira", "d-9", event_type=None, issue_key=None, body=None, received_at=T0
            )
            uow.commit()

    with UnitOfWork(database) as uow:
        assert (
            uow.deliveries.record("jira", "d-9", event_type=None, issue_key=None, body=None, received_at=T0)
            is not None
        )
        worker = threading.Thread(target=second_worker)
        worker.start()
        worker.join(0.3)  # the second worker now waits for this transaction
        uow.commit()
    worker.join(10)
    assert not worker.is_alive()
    assert outcome["row"] is None
