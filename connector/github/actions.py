"""Outbox actions performed on GitHub: the answer to a deployment protection rule. GitHub takes one answer
per rule and run; a repeat after a lost answer is refused by GitHub and recorded as done."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import TYPE_CHECKING, Any

from connector.errors import Rejected
from connector.github.gateway import GitHubGateway
from connector.outbox import Action, AnswerProtectionRule, Target

if TYPE_CHECKING:
    from connector.config import Settings

Result = dict[str, Any]


class GitHubActions:
    def __init__(self, gateway: GitHubGateway) -> None:
        self.gateway = gateway

    @singledispatchmethod
    def perform(self, action: Action, target: Target, idempotency_key: str) -> Result:
        raise TypeError(f"GitHub has no {type(action).__name__} action")

    @perform.register
    def answer_protection_rule(self, action: AnswerProtectionRule, target: Target, idem: str) -> Result:
        try:
            self.gateway.review_protection_rule(
                action.callback_url, action.installation_id, action.environment, action.state, action.comment
            )
        except Rejected as refused:
            if refused.status == 422:  # answered already (a retry after an answer whose reply was lost)
                return {"state": action.state, "skipped": str(refused)[:200]}
            raise
        return {"state": action.state, "environment": action.environment}


def actions_from_settings(settings: Settings) -> GitHubActions:
    from connector.github.gateway import gateway_from_settings

    return GitHubActions(gateway_from_settings(settings))
