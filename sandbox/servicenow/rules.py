"""What the platform itself enforces before a write: state models, data policies, approval ACLs.

The business rules an admin installs (`sys_script`) are not here: they run as JavaScript (`engine.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sandbox.servicenow.schema import CHOICE_LABELS

CAB = "Change Advisory Board"

NEW, ASSESS, AUTHORIZE, SCHEDULED, IMPLEMENT, REVIEW, CLOSED, CANCELED = (
    "-5",
    "-4",
    "-3",
    "-2",
    "-1",
    "0",
    "3",
    "4",
)
OPEN_STATES = {NEW, ASSESS, AUTHORIZE, SCHEDULED, IMPLEMENT}

# Change models: state → states reachable from it (Canceled from every open state but Review).
_FLOWS = {
    "emergency": (NEW, AUTHORIZE, SCHEDULED, IMPLEMENT, REVIEW, CLOSED),
    "normal": (NEW, ASSESS, AUTHORIZE, SCHEDULED, IMPLEMENT, REVIEW, CLOSED),
    "standard": (NEW, SCHEDULED, IMPLEMENT, REVIEW, CLOSED),
}
_BACK_TO_NEW = {"emergency": {AUTHORIZE}, "normal": {ASSESS, AUTHORIZE}, "standard": set()}


def _model(flow: tuple[str, ...], back: set[str]) -> dict[str, set[str]]:
    moves: dict[str, set[str]] = {state: set() for state in (*flow, CANCELED)}
    for here, there in zip(flow, flow[1:], strict=False):
        moves[here].add(there)
    for state in flow:
        if state in OPEN_STATES:
            moves[state].add(CANCELED)
    for state in back:
        moves[state].add(NEW)
    return moves


STATE_MODELS = {kind: _model(flow, _BACK_TO_NEW[kind]) for kind, flow in _FLOWS.items()}


class Refusal(Exception):
    """A request the instance refuses, with the status and error body ServiceNow gives."""

    def __init__(self, status: int, message: str, detail: str | None = None) -> None:
        super().__init__(f"{status} {message}: {detail}")
        self.status, self.message, self.detail = status, message, detail


@dataclass(frozen=True)
class Write:
    """One insert or update being checked: the record before, the merged result, and who writes."""

    table: str
    operation: str
    before: dict[str, str]
    after: dict[str, str]
    actor: dict[str, str]

    def changed(self, name: str) -> bool:
        return self.before.get(name, "") != self.after.get(name, "")

    @property
    def actor_is_admin(self) -> bool:
        return "admin" in self.actor.get("roles", "").split(",")


def _label(state: str) -> str:
    return CHOICE_LABELS[("change_request", "state")].get(state, state)


def check_state_model(write: Write) -> None:
    """The change model's transitions hold for every account, admins included: the state model is
    enforced on the server, so an integration user cannot move Implement back to Scheduled either
    (reference/servicenow/c_ChangeStateModel.md, normal-standard-emergency-states.md: only Authorize →
    New is a way back, "Revert to New")."""
    if write.operation != "update" or not write.changed("state"):
        return
    kind = write.after.get("type") or "normal"
    old, new = write.before.get("state", ""), write.after.get("state", "")
    if new not in STATE_MODELS.get(kind, STATE_MODELS["normal"]).get(old, set()):
        raise Refusal(
            400,
            "Invalid state transition",
            f"State change from {_label(old)} to {_label(new)} is not allowed for a {kind} change",
        )


def check_close_fields(write: Write) -> None:
    if write.after.get("state") != CLOSED or not write.changed("state"):
        return
    missing = [
        label
        for name, label in (("close_code", "Close code"), ("close_notes", "Close notes"))
        if not write.after.get(name)
    ]
    if missing:
        raise Refusal(
            403,
            "Operation Failed",
            "Data Policy Exception: The following fields are mandatory: " + ", ".join(missing),
        )


def check_approver_is_actor(write: Write) -> None:
    if (
        write.operation == "update"
        and write.changed("state")
        and write.after.get("state") in ("approved", "rejected")
        and write.after.get("approver") != write.actor.get("sys_id")
    ):
        raise Refusal(403, "Operation Failed", "ACL Exception Update Failed due to security constraints")


BEFORE_RULES: dict[str, tuple[Callable[[Write], None], ...]] = {
    "change_request": (check_state_model, check_close_fields),
    "sysapproval_approver": (check_approver_is_actor,),
}


def run_before_rules(write: Write) -> None:
    for rule in BEFORE_RULES.get(write.table, ()):
        rule(write)
