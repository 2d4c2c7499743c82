"""Use cases. `handle(uow, command, ctx)` runs one command inside a unit of work: the state change,
its audit entry and its outbox rows are committed together by the caller. Receiving a delivery (record
it, drop duplicates, translate it into commands, `handle` each, commit) is `deliveries.receive`.

Every procedure decision is asked of `connector.procedure.rules`; this module only records facts,
turns decisions into outbox actions (revert, comment, notify, create post-mortem, update fields)
and writes the audit trail.
"""

from __future__ import annotations

from collections.abc import Callable

from connector import commands as c
from connector.services import gates, missing
from connector.services.approvals import confirm_approval, record_approval, record_rejection, record_review
from connector.services.changes import answer_command, record_link, record_transition, register_change
from connector.services.deploys import record_deploy, register_bypass
from connector.services.people import remember_people
from connector.services.ports import UnitOfWork
from connector.services.postmortems import record_postmortem_created, update_postmortem
from connector.services.steps import request_step
from connector.tools import ToolContext


def handle(uow: UnitOfWork, command: c.Command, ctx: ToolContext) -> str:
    """Apply one command; returns a short outcome ("handled", "ignored: …", "refused: …")."""
    remember_people(uow, command, ctx)  # who they are, as the tool names them now
    outcome = HANDLERS[type(command)](uow, command, ctx)
    if not isinstance(command, c.RestoreGate):
        gates.mirror(uow, command, ctx)  # the steps the tool may offer now, where it checks them itself
    missing.show(uow, command, ctx)  # the next step and what it still needs, kept current on the ticket
    return outcome


HANDLERS: dict[type, Callable[..., str]] = {
    c.RegisterChange: register_change,
    c.RecordTransition: record_transition,
    c.RecordApproval: record_approval,
    c.ConfirmApproval: confirm_approval,
    c.RecordRejection: record_rejection,
    c.RecordReview: record_review,
    c.RecordLink: record_link,
    c.RecordPostMortemCreated: record_postmortem_created,
    c.UpdatePostMortem: update_postmortem,
    c.AnswerCommand: answer_command,
    c.RestoreGate: gates.restore_gate,
    c.RequestStep: request_step,
    c.RecordDeploy: record_deploy,
    c.RegisterBypass: register_bypass,
}
