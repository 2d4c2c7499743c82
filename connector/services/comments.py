"""Comment commands into commands, the same for every tool: the per-tool translators
(`connector/jira/translate.py`, `connector/servicenow/translate.py`) hand each new comment here and
handle the rest of their events themselves."""

from __future__ import annotations

from connector import commands as c
from connector.inbound.events import CommentAdded, Ignored
from connector.procedure import comments as text
from connector.procedure.model import Method
from connector.tools import ToolContext


def comment_command(event: CommentAdded, key: str, origin: str, ctx: ToolContext) -> c.Command | Ignored:
    """The command a comment carries, an answer saying why it cannot be accepted, or Ignored."""
    if event.actor == ctx.connector_account:
        return Ignored("the connector's own comment", key)
    parsed = text.parse_comment(event.body, ctx.command_words)
    base = {"tool": ctx.tool, "key": key, "actor": event.actor, "at": event.at, "origin": origin}
    evidence = f"comment:{event.comment_id}"
    match parsed:
        case None:
            return Ignored("an ordinary comment", key)
        case text.CommandError(reason=reason):
            return c.AnswerCommand(**base, reason=reason)
        case text.ApproveText(role=role):
            return c.RecordApproval(**base, role=role, evidence=evidence)
        case text.VerbalApprovalText(approver=ref, role=role, channel=channel):
            approver = ctx.directory.resolve(ref)
            if approver is None:
                return c.AnswerCommand(**base, reason=f"no user '{ref}' is known to the connector")
            return c.RecordApproval(
                **base, role=role, method=Method.VERBAL, approver=approver, channel=channel, evidence=evidence
            )
        case text.ConfirmText():
            return c.ConfirmApproval(**base, evidence=evidence)
        case text.RejectText(reason=reason):
            return c.RecordRejection(**base, reason=reason, evidence=evidence)
        case text.ReviewedText(kind=kind):
            return c.RecordReview(**base, kind=kind, evidence=evidence)
        case text.StepText(stage=stage):
            if not ctx.performs_on_request:
                return c.AnswerCommand(
                    **base, reason=f"this tool offers the step itself: use its {stage.value} transition"
                )
            return c.RequestStep(**base, to_stage=stage)
        case text.LinkText(kind=kind, url=url):
            return c.RecordLink(**{**base, "origin": f"comment:{event.comment_id}"}, kind=kind, url=url)
    return Ignored("an ordinary comment", key)
