"""Jira workflow XML (OSWorkflow 2.8 descriptor), imported as Administration > Issues > Workflows >
Import > Import from XML does on Data Center.

What the import does, and what the sandbox does with it:
- each `<step>` names its status by numeric id in `<meta name="jira.status.id">`; there is no step that
  maps statuses. An id that names no status still imports: the step shows "?" and every transition into
  it fails ("Problems caused by importing and using a Workflow with missed status in Jira",
  https://confluence.atlassian.com/jirakb/problems-caused-by-importing-and-using-a-workflow-with-missed-status-in-jira-1026040836.html).
- `<initial-actions>` is the create transition, `<common-actions>` are shared by the steps that list them
  (`<common-action id>`), `<global-actions>` start from every step, a step's own `<action>`s from it.
- `<restrict-to><conditions type="AND|OR">`: `UserInGroupCondition` (arg `group`), `AllowOnlyReporter`,
  `AllowOnlyAssignee` are evaluated; other condition classes are kept but pass (as other rule keys do).
- validators: JSU's `FieldsRequiredValidator` (`hidFieldsList` = `id@@id@@`, as in real exports) is
  evaluated as a required-field rule; `PermissionValidator` and the rest are not.
- the `eventTypeId` of the `FireIssueEventFunction` post-function is the event the transition fires,
  which decides the webhook (`workflows.ISSUE_EVENT_TYPES`); without one no event is fired in Jira, here
  the Generic Event.
Real exported workflows (for the shape): Jira's own "classic" workflow and admins' exports, e.g. the
initial action with IssueCreateFunction, IssueReindexFunction, FireIssueEventFunction eventTypeId 1.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element  # noqa: S405 - types only; parsing goes through defusedxml

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from sandbox.jira.errors import bad_request
from sandbox.jira.seed import Status
from sandbox.jira.state import JiraState
from sandbox.jira.workflows import Transition, Workflow

CONDITION = "com.atlassian.jira.workflow.condition."
FIRE_EVENT = "com.atlassian.jira.workflow.function.event.FireIssueEventFunction"
FIELDS_REQUIRED = "com.googlecode.jsu.workflow.validator.FieldsRequiredValidator"
RESTRICT = "system:restrict-issue-transition"
UNKNOWN = "?"  # prefix of the status id of a step whose jira.status.id names no status


def unknown_status(status_id: str) -> Status:
    """What a "?" step shows as its status."""
    return Status(status_id, UNKNOWN, "TODO")


def _args(element: Element) -> dict[str, str]:
    return {arg.get("name", ""): (arg.text or "").strip() for arg in element.findall("arg")}


def _condition(element: Element) -> dict[str, Any]:
    args = _args(element)
    kind = args.pop("class.name", "")
    if kind == CONDITION + "UserInGroupCondition":
        return {"ruleKey": RESTRICT, "parameters": {"groupIds": args.get("group", "")}}
    if kind in (CONDITION + "AllowOnlyReporter", CONDITION + "AllowOnlyAssignee"):
        who = "allow-reporter" if kind.endswith("Reporter") else "allow-assignee"
        return {"ruleKey": RESTRICT, "parameters": {"accountIds": who}}
    return {"ruleKey": kind, "parameters": args}


def _conditions(group: Element | None) -> dict[str, Any] | None:
    if group is None:
        return None
    return {
        "operation": "ANY" if group.get("type", "AND").upper() == "OR" else "ALL",
        "conditions": [_condition(c) for c in group.findall("condition")],
        "conditionGroups": [g for g in (_conditions(n) for n in group.findall("conditions")) if g],
    }


def _validators(action: Element) -> list[dict[str, Any]]:
    rules = []
    for validator in action.findall("validators/validator"):
        args = _args(validator)
        if args.get("class.name") != FIELDS_REQUIRED:
            continue
        fields = [f for f in args.get("hidFieldsList", "").split("@@") if f]
        parameters = {"ruleType": "fieldRequired", "fieldsRequired": ",".join(fields)}
        if args.get("customErrorMessage-textValue"):
            parameters["errorMessage"] = args["customErrorMessage-textValue"]
        rules.append({"ruleKey": "system:validate-field-value", "parameters": parameters})
    return rules


def _event(action: Element) -> str | None:
    for function in action.findall("results/unconditional-result/post-functions/function"):
        args = _args(function)
        if args.get("class.name") == FIRE_EVENT:
            return args.get("eventTypeId") or None
    return None


def _target(action: Element) -> str:
    result = action.find("results/unconditional-result")
    if result is None or not result.get("step"):
        raise bad_request(f"Action '{action.get('name')}' has no unconditional result with a step.")
    return result.get("step", "")


def parse(state: JiraState, name: str, xml: str, description: str = "") -> Workflow:
    """The workflow an XML descriptor describes, with status ids resolved against `state`."""
    try:
        root = ElementTree.fromstring(xml)
    except (ElementTree.ParseError, DefusedXmlException) as e:
        raise bad_request(f"The workflow XML is not valid: {e}") from e
    if root.tag != "workflow":
        raise bad_request("The workflow XML must have a <workflow> root element.")
    status_of: dict[str, str] = {}  # step id -> status id (unknown ones prefixed with "?")
    for step in root.findall("steps/step"):
        meta = step.find("meta[@name='jira.status.id']")
        raw = (meta.text or "").strip() if meta is not None else ""
        status_of[step.get("id", "")] = raw if raw in state.statuses else f"{UNKNOWN}{raw}"
    if not status_of:
        raise bad_request("The workflow XML has no steps.")

    def transition(action: Element, kind: str, froms: tuple[str, ...] = ()) -> Transition:
        step = _target(action)
        if step not in status_of:
            raise bad_request(f"Action '{action.get('name')}' leads to step {step}, which does not exist.")
        return Transition(
            action.get("id", ""),
            action.get("name", ""),
            status_of[step],
            froms,
            kind,
            _conditions(action.find("restrict-to/conditions")),
            _validators(action),
            event_type_id=_event(action),
        )

    initial = root.findall("initial-actions/action")
    if len(initial) != 1:
        raise bad_request("The workflow XML must have exactly one initial action.")
    transitions = [transition(initial[0], "INITIAL")]
    common = {a.get("id", ""): a for a in root.findall("common-actions/action")}
    used: dict[str, list[str]] = {}  # common action id -> the statuses of the steps that list it
    for step in root.findall("steps/step"):
        here = status_of[step.get("id", "")]
        for ref in step.findall("actions/common-action"):
            if ref.get("id") not in common:
                raise bad_request(
                    f"Step '{step.get('name')}' uses common action {ref.get('id')}, not defined."
                )
            used.setdefault(ref.get("id", ""), []).append(here)
        transitions += [transition(a, "DIRECTED", (here,)) for a in step.findall("actions/action")]
    transitions += [transition(common[i], "DIRECTED", tuple(froms)) for i, froms in used.items()]
    transitions += [transition(a, "GLOBAL") for a in root.findall("global-actions/action")]
    known = [s for s in dict.fromkeys(status_of.values()) if not s.startswith(UNKNOWN)]
    if not description:
        meta = root.find("meta[@name='jira.description']")
        description = (meta.text or "").strip() if meta is not None else ""
    return Workflow(state.next_id(), name, description, known, transitions, state.now_text())


def import_workflow(state: JiraState, name: str, xml: str, description: str = "") -> Workflow:
    """Administration > Workflows > Import from XML: a new inactive workflow named `name`."""
    if not name.strip():
        raise bad_request(name="You must specify a workflow name.")
    if name in state.workflows:
        raise bad_request(name="A workflow with this name already exists.")
    workflow = parse(state, name, xml, description)
    state.workflows[name] = workflow
    return workflow


def unknown_steps(workflow: Workflow) -> list[str]:
    """The "?" steps: the status ids (as the XML gave them) that name no status."""
    found = {t.to_status for t in workflow.transitions if t.to_status.startswith(UNKNOWN)}
    return sorted(s.removeprefix(UNKNOWN) for s in found)
