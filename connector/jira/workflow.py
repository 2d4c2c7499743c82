"""The Emergency Change workflow a mapping asks for, as `workflows/create` takes it (Jira Cloud).

Every transition the procedure offers a person (`procedure.stages.TRANSITIONS`) is one DIRECTED
transition per target status, reachable from each stage that offers it. The approval and rejection
steps are restricted to the two approver groups (`system:restrict-issue-transition`); leaving
Identified requires the category and the impact (`system:validate-field-value`). For every status
there is a global transition `ECM revert to <Status>` that only members of the automation group (the
connector's account alone) may use: `system:restrict-issue-transition` with that group's id, which is
"true if any of the following criteria is met" (OpenAPI document, workflow rules). Its `accountIds`
would name the account directly, but it "is only supported in team-managed projects"; and
`system:restrict-from-all-users` in mode `users` hides a transition only from Jira's screens, not from
REST calls, so next to the group rule it adds nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from connector.mapping import Mapping
from connector.procedure.model import Stage
from connector.procedure.stages import ORDER, SIDE_EXITS, TRANSITIONS

RESTRICT_GROUPS = "system:restrict-issue-transition"
VALIDATE_FIELD = "system:validate-field-value"
CHECK_FIELD = "system:check-field-value"
TRANSITION_SCREEN = "system:transition-screen"
REVERT_PREFIX = "ECM revert to "
GATE_PREFIX = "ECM gate: "
GATED: dict[Stage, str] = {Stage.DEPLOYED: "deployed", Stage.CLOSED: "closed"}  # transition -> gate entry
GATE_ORDER = ("approved", "deployed", "closed")  # how the connector writes the gate's entries

TRANSITION_NAMES: dict[Stage, str] = {  # the button a person clicks to enter a stage
    Stage.AWAITING_APPROVAL: "Request Approval",
    Stage.APPROVED: "Approve",
    Stage.IN_REVIEW: "Start Review",
    Stage.REVIEWED: "Complete Review",
    Stage.DEPLOYED: "Deploy",
    Stage.POSTMORTEM: "Start Post-Mortem",
    Stage.CLOSED: "Close",
    Stage.CANCELLED: "Cancel",
    Stage.REJECTED: "Reject",
}
APPROVER_ONLY = frozenset({Stage.APPROVED, Stage.REJECTED})  # approval decisions: the two groups only
REQUIRED_ON_ENTRY: dict[Stage, tuple[str, ...]] = {Stage.AWAITING_APPROVAL: ("category", "impact")}
CATEGORY: dict[Stage, str] = {
    **{stage: "IN_PROGRESS" for stage in ORDER},
    Stage.IDENTIFIED: "TODO",
    Stage.CLOSED: "DONE",
    Stage.CANCELLED: "DONE",
    Stage.REJECTED: "DONE",
}
ALL_STAGES: tuple[Stage, ...] = ORDER + SIDE_EXITS


def revert_transition_name(status: str) -> str:
    """Name of the connector-only transition back to `status` (the enforcement code looks it up)."""
    return f"{REVERT_PREFIX}{status}"


def workflow_name(mapping: Mapping) -> str:
    return f"ECM {mapping.jira.project} {mapping.jira.issue_types.change}"


@dataclass(frozen=True)
class RuleIds:
    """What the rules refer to: status ids by stage, custom field ids by logical name, group ids, and the
    screen of the connector's gate transitions."""

    status_ids: dict[Stage, str]
    field_ids: dict[str, str]
    approver_group_ids: tuple[str, ...]
    automation_group_id: str
    gate_screen_id: str | None = None


def gate_transition_name(status: str) -> str:
    """Name of the connector-only loop on `status` that writes the gate field."""
    return f"{GATE_PREFIX}{status}"


def gate_values(entry: str) -> list[str]:
    """Every value of the gate field that lists `entry` (the connector writes entries in GATE_ORDER,
    comma-separated), for a `system:check-field-value` that tests for one of them."""
    others = [e for e in GATE_ORDER if e != entry]
    values = []
    for mask in range(1 << len(others)):
        chosen = {entry, *(e for i, e in enumerate(others) if mask >> i & 1)}
        values.append(",".join(e for e in GATE_ORDER if e in chosen))
    return sorted(values, key=lambda v: (v.count(","), v))


def expected_transitions(mapping: Mapping) -> dict[str, Stage]:
    """Transition name -> target stage, for every transition the installed workflow must have."""
    names = {TRANSITION_NAMES[stage]: stage for stage in ALL_STAGES if stage in TRANSITION_NAMES}
    names |= {revert_transition_name(mapping.jira.statuses.status_of(s)): s for s in ALL_STAGES}
    return names


def workflow_payload(mapping: Mapping, ids: RuleIds) -> dict:
    """The `workflows/create` request body (statuses referenced by their existing ids)."""
    jira = mapping.jira
    statuses = [
        {
            "id": ids.status_ids[s],
            "statusReference": ids.status_ids[s],
            "name": jira.statuses.status_of(s),
            "statusCategory": CATEGORY[s],
            "description": "",
        }
        for s in ALL_STAGES
    ]
    transitions = [_transition("1", "Create", ids.status_ids[Stage.IDENTIFIED], "INITIAL")]
    for index, stage in enumerate(s for s in ALL_STAGES if s in TRANSITION_NAMES):
        sources = [ids.status_ids[src] for src in ALL_STAGES if stage in TRANSITIONS[src]]
        transition = _transition(
            str(11 + 10 * index), TRANSITION_NAMES[stage], ids.status_ids[stage], "DIRECTED", sources
        )
        if stage in APPROVER_ONLY:
            approvers = ",".join(ids.approver_group_ids)
            rules = [_rule(RESTRICT_GROUPS, groupIds=approvers)]
            if "engineer" in ids.field_ids:
                rules.append(_not_the_engineer(ids.field_ids["engineer"]))
            transition["conditions"] = _all(rules)
        if stage in GATED and "gate" in ids.field_ids:
            transition["conditions"] = _all([_gate_condition(ids.field_ids["gate"], GATED[stage])])
        required = REQUIRED_ON_ENTRY.get(stage, ())
        transition["validators"] = [_required(jira.fields, ids.field_ids, f) for f in required]
        transitions.append(transition)
    for index, stage in enumerate(ALL_STAGES):
        revert = _transition(
            str(501 + 10 * index),
            revert_transition_name(jira.statuses.status_of(stage)),
            ids.status_ids[stage],
            "GLOBAL",
        )
        revert["description"] = "Used by the ECM Connector to undo a transition that broke ENG-PROC-004."
        revert["conditions"] = _all([_rule(RESTRICT_GROUPS, groupIds=ids.automation_group_id)])
        transitions.append(revert)
    if ids.gate_screen_id is not None:
        for index, stage in enumerate(ALL_STAGES):
            status = ids.status_ids[stage]
            loop = _transition(
                str(801 + 10 * index),
                gate_transition_name(jira.statuses.status_of(stage)),
                status,
                "DIRECTED",
                [status],
            )
            loop["description"] = "Used by the ECM Connector to write the steps ENG-PROC-004 allows now."
            loop["conditions"] = _all([_rule(RESTRICT_GROUPS, groupIds=ids.automation_group_id)])
            loop["transitionScreen"] = _rule(TRANSITION_SCREEN, screenId=ids.gate_screen_id)
            transitions.append(loop)
    layout = [
        {"statusReference": ids.status_ids[s], "properties": {}, "layout": {"x": 200.0 * i, "y": 0.0}}
        for i, s in enumerate(ALL_STAGES)
    ]
    workflow = {
        "name": workflow_name(mapping),
        "statuses": layout,
        "transitions": transitions,
        "description": "ENG-PROC-004 emergency change workflow, installed by the ECM Connector.",
    }
    return {"scope": {"type": "GLOBAL"}, "statuses": statuses, "workflows": [workflow]}


def _transition(tid: str, name: str, to: str, kind: str, sources: list[str] | None = None) -> dict:
    return {
        "id": tid,
        "name": name,
        "description": "",
        "type": kind,
        "toStatusReference": to,
        "links": [{"fromStatusReference": s, "fromPort": 0, "toPort": 1} for s in sources or []],
        "actions": [],
        "validators": [],
        "triggers": [],
        "properties": {},
    }


def _rule(key: str, **parameters: str) -> dict:
    return {"ruleKey": key, "parameters": parameters}


def _gate_condition(field_id: str, entry: str) -> dict:
    """Offered only while the connector's gate field lists `entry` (OpenAPI document, workflow rules:
    `system:check-field-value` with `fieldValue` "the list of values to check against the field's value")."""
    return _rule(
        CHECK_FIELD,
        fieldId=field_id,
        fieldValue=json.dumps(gate_values(entry)),
        comparator="=",
        comparisonType="STRING",
    )


def _not_the_engineer(field_id: str) -> dict:
    """Not offered to the person the connector's *ECM Engineer* field names (R3: no self-approval):
    `system:restrict-issue-transition` with `denyUserCustomFields`, "a comma-separated list of user
    custom field IDs to deny for issue transition" (OpenAPI document, workflow rules; it aggregates the
    legacy UserIsInCustomFieldCondition, whose `allowUserInField: false` lets "only a user who is not
    listed in fieldId" transition). A rule of its own, ALL with the group rule, whose criteria are "any"."""
    return _rule(RESTRICT_GROUPS, denyUserCustomFields=field_id)


def _all(conditions: list[dict]) -> dict:
    return {"operation": "ALL", "conditions": conditions, "conditionGroups": []}


def _required(fields, field_ids: dict[str, str], logical: str) -> dict:
    name = getattr(fields, logical).name
    return _rule(
        VALIDATE_FIELD,
        ruleType="fieldRequired",
        fieldsRequired=field_ids[logical],
        ignoreContext="true",
        errorMessage=f"{name} is required (ENG-PROC-004 step 1).",
    )


def missing_rules(mapping: Mapping, installed: dict) -> list[str]:
    """What an installed workflow (from `workflows/search`) lacks compared with the mapping."""
    by_name = {t.get("name"): t for t in installed.get("transitions") or []}
    expected = expected_transitions(mapping)
    problems = [f"transition {name!r} is missing" for name in expected if name not in by_name]
    for stage in APPROVER_ONLY:
        if not _has_rule(by_name.get(TRANSITION_NAMES[stage]), "conditions", RESTRICT_GROUPS):
            problems.append(f"{TRANSITION_NAMES[stage]!r} is not restricted to the approver groups")
        elif not _denies_user_field(by_name.get(TRANSITION_NAMES[stage])):
            problems.append(f"{TRANSITION_NAMES[stage]!r} is offered to the change's own engineer")
    for stage, _logical in REQUIRED_ON_ENTRY.items():
        if not _has_rule(by_name.get(TRANSITION_NAMES[stage]), "validators", VALIDATE_FIELD):
            problems.append(f"{TRANSITION_NAMES[stage]!r} does not require the category and impact")
    for stage in ALL_STAGES:
        name = revert_transition_name(mapping.jira.statuses.status_of(stage))
        if name in by_name and not _has_rule(by_name[name], "conditions", RESTRICT_GROUPS):
            problems.append(f"{name!r} is not restricted to the connector's account")
    for stage in GATED:
        if not _has_rule(by_name.get(TRANSITION_NAMES[stage]), "conditions", CHECK_FIELD):
            problems.append(f"{TRANSITION_NAMES[stage]!r} is not gated by the connector's gate field")
    for stage in ALL_STAGES:
        name = gate_transition_name(mapping.jira.statuses.status_of(stage))
        if name not in by_name:
            problems.append(f"transition {name!r} is missing")
        elif not _has_rule(by_name[name], "conditions", RESTRICT_GROUPS):
            problems.append(f"{name!r} is not restricted to the connector's account")
    return problems


def _has_rule(transition: dict | None, kind: str, key: str) -> bool:
    if not transition:
        return False
    if kind == "validators":
        return any(r.get("ruleKey") == key for r in transition.get("validators") or [])
    return key in _rule_keys(transition.get("conditions") or {})


def _denies_user_field(transition: dict | None) -> bool:
    """Whether a condition of the transition denies the people of a user field (the engineer's)."""
    groups = [(transition or {}).get("conditions") or {}]
    while groups:
        group = groups.pop()
        for rule in group.get("conditions") or []:
            if rule.get("ruleKey") == RESTRICT_GROUPS and (rule.get("parameters") or {}).get(
                "denyUserCustomFields"
            ):
                return True
        groups += group.get("conditionGroups") or []
    return False


def _rule_keys(group: dict) -> set[str]:
    keys = {c.get("ruleKey", "") for c in group.get("conditions") or []}
    for nested in group.get("conditionGroups") or []:
        keys |= _rule_keys(nested)
    return keys


def update_payload(mapping: Mapping, ids: RuleIds, installed: dict, statuses: dict[str, dict]) -> dict:
    """The `workflows/update` body that adds to an installed workflow what the mapping's rules need, and
    nothing else: its transitions and rules are kept (an admin's too), a missing transition is added, a
    transition missing a rule gets it ANDed to its conditions (validators appended, the screen set where
    it has none). `version` is the installed one, which Jira checks against its current version.
    `statuses` gives every status by id (name, statusCategory) for the top-level status list."""
    (want,) = workflow_payload(mapping, ids)["workflows"]
    wanted = {t["name"]: t for t in want["transitions"]}
    have = list(installed.get("transitions") or [])
    names = {t.get("name") for t in have}
    used = {str(t.get("id")) for t in have}
    transitions = [_with_rules(_update_shape(t), wanted.get(t.get("name"))) for t in have]
    for transition in want["transitions"]:
        if transition["name"] in names:
            continue
        if transition["id"] in used:
            transition = {**transition, "id": str(max(int(i) for i in used if i.isdigit()) + 1)}
        used.add(transition["id"])
        transitions.append(transition)
    layout = [
        {"statusReference": s["statusReference"], "properties": s.get("properties") or {}}
        | ({"layout": s["layout"]} if s.get("layout") else {})
        for s in installed.get("statuses") or []
    ]
    present = {s["statusReference"] for s in layout}
    layout += [s for s in want["statuses"] if s["statusReference"] not in present]
    referenced = [s["statusReference"] for s in layout]
    return {
        "statuses": [
            {
                "id": ref,
                "statusReference": ref,
                "name": statuses[ref]["name"],
                "statusCategory": statuses[ref]["statusCategory"],
                "description": statuses[ref].get("description") or "",
            }
            for ref in referenced
        ],
        "workflows": [
            {
                "id": installed["id"],
                "version": installed["version"],
                "description": installed.get("description") or "",
                "statuses": layout,
                "transitions": transitions,
            }
        ],
    }


UPDATE_KEYS = (
    "id",
    "name",
    "description",
    "type",
    "toStatusReference",
    "links",
    "actions",
    "validators",
    "triggers",
    "properties",
    "conditions",
    "transitionScreen",
    "customIssueEventId",
)


def _update_shape(transition: dict) -> dict:
    """An installed transition (`workflows/search`) as `workflows/update` takes it back."""
    return {k: transition[k] for k in UPDATE_KEYS if transition.get(k) is not None}


def _with_rules(transition: dict, wanted: dict | None) -> dict:
    """`transition` with the rules of `wanted` it lacks (a rule is lacking when no rule of the same key
    and parameters is there)."""
    if wanted is None:
        return transition
    have = transition.get("conditions") or {}
    lacking = [r for r in (wanted.get("conditions") or {}).get("conditions") or [] if not _holds(have, r)]
    if lacking:
        if not have or (have.get("operation", "ALL") == "ALL"):
            merged = have or _all([])
            transition["conditions"] = {**merged, "conditions": [*(merged.get("conditions") or []), *lacking]}
        else:  # an ANY group of someone's: it must hold, and so must ours
            transition["conditions"] = {"operation": "ALL", "conditions": lacking, "conditionGroups": [have]}
    validators = list(transition.get("validators") or [])
    validators += [v for v in wanted.get("validators") or [] if not _same_validator(validators, v)]
    transition["validators"] = validators
    if wanted.get("transitionScreen") and not transition.get("transitionScreen"):
        transition["transitionScreen"] = wanted["transitionScreen"]
    return transition


def _same_validator(validators: list[dict], wanted: dict) -> bool:
    """A validator of the same key checking the same fields is there (Jira may add parameters)."""
    fields = (wanted.get("parameters") or {}).get("fieldsRequired")
    return any(
        v.get("ruleKey") == wanted["ruleKey"] and (v.get("parameters") or {}).get("fieldsRequired") == fields
        for v in validators
    )


def _holds(group: dict, rule: dict) -> bool:
    groups = [group]
    while groups:
        current = groups.pop()
        if any(
            c.get("ruleKey") == rule["ruleKey"] and (c.get("parameters") or {}) == rule["parameters"]
            for c in current.get("conditions") or []
        ):
            return True
        groups += current.get("conditionGroups") or []
    return False
