"""Errors answered in Jira's shape: {"errorMessages": [...], "errors": {field: message}}."""

from __future__ import annotations

from dataclasses import dataclass, field

ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it."


@dataclass
class JiraApiError(Exception):
    status: int
    messages: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, object]:
        return {"errorMessages": self.messages, "errors": self.errors}


def bad_request(message: str = "", **errors: str) -> JiraApiError:
    return JiraApiError(400, [message] if message else [], errors)


def not_found(message: str) -> JiraApiError:
    return JiraApiError(404, [message])


def forbidden(message: str = "You do not have permission to perform this operation.") -> JiraApiError:
    return JiraApiError(403, [message])
