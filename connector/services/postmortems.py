"""Use cases of step 5: the post-mortem task created in the tool and its progress."""

from __future__ import annotations

import dataclasses

from connector import commands as c
from connector.services import notices
from connector.services.common import answer, audit, load_change
from connector.services.ports import UnitOfWork
from connector.tools import ToolContext


def record_postmortem_created(uow: UnitOfWork, cmd: c.RecordPostMortemCreated, ctx: ToolContext) -> str:
    row = load_change(uow, cmd)
    if row is None or row.postmortem is None:
        return "ignored: no post-mortem planned"
    if row.postmortem.key == cmd.postmortem_key:
        return "ignored: nothing new"
    row.postmortem.key, row.postmortem.created_at = cmd.postmortem_key, cmd.at
    audit(
        uow,
        cmd,
        "postmortem-created",
        postmortem=cmd.postmortem_key,
        due_at=row.postmortem.due_at.isoformat(),
    )
    return "handled"


def update_postmortem(uow: UnitOfWork, cmd: c.UpdatePostMortem, ctx: ToolContext) -> str:
    pm_row = uow.changes.postmortem(cmd.tool, cmd.key)
    row = pm_row.change if pm_row is not None else None
    if row is None or row.postmortem is None:
        return "ignored: not a post-mortem the connector created"
    pm, change_cmd = row.postmortem, dataclasses.replace(cmd, key=row.key)
    if cmd.report_url and cmd.report_url != pm.report_url:
        pm.report_url = cmd.report_url
        audit(uow, change_cmd, "postmortem-report", postmortem=cmd.key, url=cmd.report_url)
    if cmd.done and pm.done_at is None and pm.report_url:
        pm.done_at = cmd.at
        audit(uow, change_cmd, "postmortem-done", postmortem=cmd.key)
    elif cmd.done and not pm.report_url:
        return answer(uow, row, change_cmd, ctx, notices.report_missing(cmd.key))
    row.updated_at = cmd.at
    return "handled"
