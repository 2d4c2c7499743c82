"""The scheduler's checkpoint job signs the audit chain for the connector `ecm jobs` builds."""

from __future__ import annotations

from connector.bootstrap import bootstrap
from connector.config import load_settings
from connector.store.uow import UnitOfWork
from jobs import checkpoint


def test_the_checkpoint_job_signs_a_due_checkpoint_of_the_connector_bootstrap_builds(database, tmp_path):
    settings = load_settings({"ECM_DATA_DIR": str(tmp_path), "ECM_AUDIT_CHECKPOINT_ENTRIES": "1"})
    connector = bootstrap(settings, database=database, upgrade=False)
    with UnitOfWork(database) as uow:
        uow.audit.append(
            actor="someone", action="test", change_key=None, tool="jira", data={}, at=connector.clock()
        )
        uow.commit()

    summary = checkpoint.run(connector)

    assert summary.startswith("checkpoint seq="), summary
    assert checkpoint.checkpointer(connector) is checkpoint.checkpointer(connector)  # one per connector
