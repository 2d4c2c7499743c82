"""`POST /issue/{key}/notify`: resolve the recipients and record the mail Jira would send."""

from __future__ import annotations

from typing import Any

from sandbox.jira.errors import bad_request
from sandbox.jira.seed import User
from sandbox.jira.state import Issue, JiraState


def _recipients(state: JiraState, issue: Issue, to: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for role in ("reporter", "assignee"):
        if to.get(role) and issue.fields.get(role):
            names.add(issue.fields[role])
    if to.get("watchers"):
        names |= issue.watchers
    for ref in to.get("users") or []:
        user = state.user_from_ref(ref)
        if user is None:
            raise bad_request(f"User '{ref}' does not exist.")
        names.add(user.name)
    groups = [g.get("name") or g.get("groupId") for g in to.get("groups") or []] + list(
        to.get("groupIds") or []
    )
    for ident in groups:
        group = state.group_by_any(ident)
        if group is None:
            raise bad_request(f"Group '{ident}' does not exist.")
        names |= {u.name for u in state.members(group.name)}
    return names


def send_notification(state: JiraState, sender: User, issue: Issue, body: dict[str, Any]) -> dict[str, Any]:
    names = _recipients(state, issue, body.get("to") or {})
    restrict_groups = [
        g.get("name") or g.get("groupId") for g in (body.get("restrict") or {}).get("groups") or []
    ]
    if restrict_groups:
        allowed = {
            u.name
            for ident in restrict_groups
            if (g := state.group_by_any(ident))
            for u in state.members(g.name)
        }
        names &= allowed
    if not names:
        raise bad_request("No recipients were defined for notification.")
    mail = {
        "issue": issue.key,
        "sender": sender.name,
        "subject": body.get("subject") or f"[JIRA] ({issue.key}) {issue.fields.get('summary')}",
        "textBody": body.get("textBody") or "",
        "htmlBody": body.get("htmlBody") or "",
        "recipients": sorted(names),
        "emails": sorted(state.users[n].email for n in names),
        "sent": state.now_text(),
    }
    state.mails.append(mail)
    return mail
