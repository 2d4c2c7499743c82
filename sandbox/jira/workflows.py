"""Workflows as Jira's `workflows/create` describes them, and the rules a transition must pass."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.jira.seed import PERMISSION_GROUPS, SEED_ROLES, User

DEFAULT_WORKFLOW = "jira"
# Jira's issue event types (Administration > System > Events): what a transition's FireIssueEventFunction
# fires decides the webhook: event 1 goes out as `jira:issue_created`, every other one as
# `jira:issue_updated` with this `issue_event_type_name` (the captured Data Center bodies show
# issue_work_started, issue_resolved, issue_closed, issue_reopened from workflow transitions).
ISSUE_EVENT_TYPES = {
    "1": "issue_created",
    "2": "issue_updated",
    "3": "issue_assigned",
    "4": "issue_resolved",
    "5": "issue_closed",
    "6": "issue_commented",
    "7": "issue_reopened",
    "9": "issue_moved",
    "11": "issue_work_started",
    "12": "issue_work_stopped",
    "13": "issue_generic",
}


@dataclass
class Transition:
    id: str
    name: str
    to_status: str
    from_statuses: tuple[str, ...]  # empty for GLOBAL transitions
    type: str = "DIRECTED"
    conditions: dict[str, Any] | None = None
    validators: list[dict[str, Any]] = field(default_factory=list)
    description: str = ""
    event_type_id: str | None = None  # None: Issue Created for the initial transition, Generic Event else
    screen_id: int | None = None  # transitionScreen `system:transition-screen` screenId

    def fired_event(self) -> tuple[str, str]:
        """(webhookEvent, issue_event_type_name) of the issue event this transition fires."""
        event_id = self.event_type_id or ("1" if self.type == "INITIAL" else "13")
        name = ISSUE_EVENT_TYPES.get(event_id, "issue_generic")
        return ("jira:issue_created" if event_id == "1" else "jira:issue_updated"), name

    def starts_from(self, status_id: str) -> bool:
        if self.type == "INITIAL":
            return False
        return self.type == "GLOBAL" or status_id in self.from_statuses


@dataclass
class Workflow:
    id: str
    name: str
    description: str
    statuses: list[str]  # status ids, in the order given
    transitions: list[Transition]
    created: str
    version: int = 1
    updated: str = ""

    @property
    def initial_transition(self) -> Transition | None:
        return next((t for t in self.transitions if t.type == "INITIAL"), None)

    @property
    def initial_status(self) -> str:
        initial = self.initial_transition
        return initial.to_status if initial is not None else self.statuses[0]

    def available_from(self, status_id: str) -> list[Transition]:
        return [t for t in self.transitions if t.starts_from(status_id)]


@dataclass(frozen=True)
class RuleContext:
    actor: User
    reporter: str | None
    assignee: str | None
    group_ids: dict[str, str]  # group id -> group name
    fields: dict[str, Any] = field(default_factory=dict)  # the issue's fields, by id


def default_workflow(created: str) -> Workflow:
    """A fresh Jira's simplified workflow: every status reachable from any other."""
    transitions = [
        Transition("1", "Create", "10000", (), "INITIAL"),
        Transition("11", "To Do", "10000", (), "GLOBAL"),
        Transition("21", "In Progress", "3", (), "GLOBAL"),
        Transition("31", "Done", "10001", (), "GLOBAL"),
    ]
    return Workflow(
        "0", DEFAULT_WORKFLOW, "The default Jira workflow.", ["10000", "3", "10001"], transitions, created
    )


def _csv(value: Any) -> list[str]:
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


# The rule keys and parameters `workflows/create` documents (OpenAPI document, the rule list in
# `GET /rest/api/3/workflows/capabilities`); anything else is refused, as Jira's validation refuses it.
DOCUMENTED_RULES: dict[str, frozenset[str]] = {
    key: frozenset(params.split())
    for key, params in {
        "system:check-field-value": "fieldId fieldValue comparator comparisonType",
        "system:restrict-issue-transition": "accountIds roleIds groupIds permissionKeys groupCustomFields "
        "allowUserCustomFields denyUserCustomFields",
        "system:previous-status-condition": "previousStatusIds not mostRecentStatusOnly includeCurrentStatus "
        "ignoreLoopTransitions",
        "system:parent-or-child-blocking-condition": "blocker statusIds",
        "system:separation-of-duties": "fromStatusId toStatusId",
        "system:restrict-from-all-users": "restrictMode",
        "system:jsd-approvals-block-until-approved": "approvalConfigurationJson",
        "system:jsd-approvals-block-until-rejected": "approvalConfigurationJson",
        "system:block-in-progress-approval": "",
        "system:check-permission-validator": "permissionKey",
        "system:parent-or-child-blocking-validator": "blocker statusIds",
        "system:previous-status-validator": "previousStatusIds mostRecentStatusOnly",
        "system:validate-field-value": "ruleType fieldsRequired ignoreContext errorMessage "
        "groupsExemptFromValidation fieldKey excludeSubtasks regexp date1FieldKey date2FieldKey includeTime "
        "conditionSelected numberOfDays",
        "system:proforma-forms-attached": "",
        "system:proforma-forms-submitted": "",
        "system:change-assignee": "type accountId",
        "system:copy-value-from-other-field": "sourceFieldKey targetFieldKey issueSource",
        "system:update-field": "field value mode",
        "system:trigger-webhook": "webhookId",
    }.items()
}
RESTRICT_MODES = ("users", "usersAndAPI")


def _in_user_field(ctx: RuleContext, field_id: str) -> bool:
    value = ctx.fields.get(field_id)
    names = value if isinstance(value, list) else [value]
    return ctx.actor.name in names


ALLOW_CRITERIA = ("accountIds", "roleIds", "groupIds", "permissionKeys", "groupCustomFields")


def _restrict_issue_transition(params: dict[str, Any], ctx: RuleContext) -> bool:
    """True if any criterion matches: the actor's account (`allow-reporter`, `allow-assignee`), a project
    role, a group *id* (`groupIds` is "a comma-separated list of group IDs"), a permission, a user listed
    in one of `allowUserCustomFields`. `denyUserCustomFields` ("user custom field IDs to deny for issue
    transition", OpenAPI document) is the legacy UserIsInCustomFieldCondition with `allowUserInField:
    false`, "only a user who is not listed in fieldId can perform the transition": a user it lists is
    refused whatever else matches, and a rule with no other criterion lets everyone else through."""
    actor = ctx.actor
    if any(_in_user_field(ctx, f) for f in _csv(params.get("denyUserCustomFields"))):
        return False
    if any(_in_user_field(ctx, f) for f in _csv(params.get("allowUserCustomFields"))):
        return True
    if params.get("denyUserCustomFields") and not any(
        params.get(k) for k in (*ALLOW_CRITERIA, "allowUserCustomFields")
    ):
        return True
    for account in _csv(params.get("accountIds")):
        special = {"allow-reporter": ctx.reporter, "allow-assignee": ctx.assignee}
        if account in special and special[account] == actor.name:
            return True
        if account == actor.account_id:
            return True
    # `workflows/create` takes group ids only (see `rule_problems`); a name here comes from a Data Center
    # XML import, whose UserInGroupCondition names its group.
    groups = {ctx.group_ids.get(g, g) for g in _csv(params.get("groupIds"))}
    groups |= {SEED_ROLES.get(r, "") for r in _csv(params.get("roleIds"))}
    groups |= {PERMISSION_GROUPS.get(p, "") for p in _csv(params.get("permissionKeys"))}
    return bool(groups & set(actor.groups))


def _restrict_from_all_users(params: dict[str, Any], ctx: RuleContext) -> bool:
    """ "A condition preventing all users from transitioning the issue can also optionally include APIs as
    well" (OpenAPI document): mode `users` only hides the transition in Jira's own screens, like the legacy
    Hide From User condition ("can only be triggered from a workflow function or REST API operation"), so
    every REST caller, person or app, may still use it; `usersAndAPI` blocks everyone. The sandbox is
    reached only over REST."""
    return params.get("restrictMode", "users") != "usersAndAPI"


COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}
COMPARISON_TYPES = ("STRING", "NUMBER", "DATE", "DATE_WITHOUT_TIME", "OPTIONID")


def _field_values(params: dict[str, Any]) -> list[str] | None:
    """`fieldValue`: "the list of values to check against the field's value", a JSON list of strings
    (the OpenAPI document's example: "[\"Done\"]"); None when it is not one."""
    try:
        values = json.loads(str(params.get("fieldValue", "")))
    except ValueError:
        return None
    return [str(v) for v in values] if isinstance(values, list) and values else None


def _as(kind: str, value: Any) -> Any:
    if isinstance(value, dict):  # an option or a user: its id / value
        value = value.get("id") if kind == "OPTIONID" else value.get("value", value.get("id"))
    text = "" if value is None else str(value)
    if kind == "NUMBER":
        return float(text) if text else None
    if kind == "DATE_WITHOUT_TIME":
        return text[:10]
    return text


def _check_field_value(params: dict[str, Any], ctx: RuleContext) -> bool:
    """`system:check-field-value`: "the field's value matches the desired condition" (OpenAPI document,
    workflow rules). With `=` the value is one of `fieldValue`, with `!=` none of them; the ordering
    comparators compare with each value and hold if any does. An empty field matches only an empty
    value; a comparison the values cannot make (a number that is not one) fails, as Jira hides the
    transition when its condition cannot be evaluated."""
    kind, compare = params.get("comparisonType", "STRING"), COMPARATORS[params.get("comparator", "=")]
    values = _field_values(params) or []
    try:
        have = _as(kind, ctx.fields.get(str(params.get("fieldId", ""))))
        wanted = [_as(kind, v) for v in values]
        if params.get("comparator") == "!=":
            return all(compare(have, w) for w in wanted)
        if have is None or have == "":
            return params.get("comparator", "=") == "=" and "" in wanted
        return any(compare(have, w) for w in wanted if w is not None and w != "")
    except (TypeError, ValueError):
        return False


CONDITION_RULES: dict[str, Callable[[dict[str, Any], RuleContext], bool]] = {
    "system:restrict-issue-transition": _restrict_issue_transition,
    "system:restrict-from-all-users": _restrict_from_all_users,
    "system:check-field-value": _check_field_value,
}


def rule_problems(
    rule: Any, group_ids: set[str], company_managed: bool = True, user_fields: set[str] | None = None
) -> list[str]:
    """Why `workflows/create` would refuse one condition, validator or post function (none: empty)."""
    if not isinstance(rule, dict) or not isinstance(rule.get("parameters", {}), dict):
        return ["A rule needs a ruleKey and its parameters as an object."]
    key, params = str(rule.get("ruleKey", "")), rule.get("parameters") or {}
    if key not in DOCUMENTED_RULES:
        return [] if key.startswith(("connect:", "forge:")) else [f"The rule key '{key}' is not supported."]
    problems = [
        f"'{name}' is not a parameter of {key}." for name in sorted(set(params) - DOCUMENTED_RULES[key])
    ]
    if key == "system:restrict-issue-transition":
        if company_managed and params.get("accountIds"):
            # "accountIds ... Note: This is only supported in team-managed projects" (OpenAPI document)
            problems.append(f"{key}: accountIds is only supported in team-managed projects.")
        problems += [
            f"{key}: there is no group with the id '{g}'."
            for g in _csv(params.get("groupIds"))
            if g not in group_ids
        ]
        if user_fields is not None:
            problems += [
                f"{key}: '{f}' is not a user custom field."
                for name in ("allowUserCustomFields", "denyUserCustomFields")
                for f in _csv(params.get(name))
                if f not in user_fields
            ]
    if key == "system:check-field-value":
        if params.get("comparator") not in COMPARATORS:
            problems.append(f"{key}: comparator must be one of {', '.join(COMPARATORS)}.")
        if params.get("comparisonType") not in COMPARISON_TYPES:
            problems.append(f"{key}: comparisonType must be one of {', '.join(COMPARISON_TYPES)}.")
        if not params.get("fieldId"):
            problems.append(f"{key}: fieldId is required.")
        if _field_values(params) is None:
            problems.append(f"{key}: fieldValue must be a JSON list of values.")
    if key == "system:restrict-from-all-users" and params.get("restrictMode") not in RESTRICT_MODES:
        problems.append(f"{key}: restrictMode must be one of {', '.join(RESTRICT_MODES)}.")
    return problems


def transition_rules(transition: dict[str, Any]) -> list[Any]:
    """Every rule of a `workflows/create` transition: conditions (nested groups too), validators, actions."""
    rules: list[Any] = []
    groups = [transition.get("conditions") or {}]
    while groups:
        group = groups.pop()
        rules += group.get("conditions") or []
        groups += group.get("conditionGroups") or []
    return rules + list(transition.get("validators") or []) + list(transition.get("actions") or [])


def conditions_pass(group: dict[str, Any] | None, ctx: RuleContext) -> bool:
    """Evaluate a ConditionGroup (operation ALL/ANY over conditions and nested groups)."""
    if not group:
        return True
    results = [
        CONDITION_RULES.get(c.get("ruleKey", ""), lambda _p, _c: True)(c.get("parameters") or {}, ctx)
        for c in group.get("conditions") or []
    ]
    results += [conditions_pass(g, ctx) for g in group.get("conditionGroups") or []]
    if not results:
        return True
    return any(results) if group.get("operation") == "ANY" else all(results)


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def validator_errors(
    validators: list[dict[str, Any]], fields: dict[str, Any], names: dict[str, str]
) -> dict[str, str]:
    """Field -> message for each `system:validate-field-value` fieldRequired rule the issue fails."""
    errors: dict[str, str] = {}
    for rule in validators:
        params = rule.get("parameters") or {}
        if rule.get("ruleKey") != "system:validate-field-value" or params.get("ruleType") != "fieldRequired":
            continue
        for field_id in _csv(params.get("fieldsRequired")):
            if _is_empty(fields.get(field_id)):
                default = f"{names.get(field_id, field_id)} is required."
                errors[field_id] = params.get("errorMessage") or default
    return errors
