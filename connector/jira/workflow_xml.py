"""The Emergency Change workflow for Jira Data Center, as the Jira workflow XML its importer takes.

Data Center's REST API creates neither statuses nor workflows, so `ecm install` writes
`<dir>/ecm-<PROJECT>-install-steps.txt` with the exact manual steps and, once every status exists,
`<dir>/ecm-<PROJECT>-workflow.xml` (OSWorkflow 2.8 descriptor: Administration > Issues > Workflows >
Import > Import from XML). The importer has no step that maps statuses: each step names its status by
numeric id in `<meta name="jira.status.id">`, and an id that names no status imports as a "?" step into
which every transition fails. So the XML carries the ids the installer read from `GET /rest/api/2/status`,
and while a status is missing the steps say how to add it and to run `ecm install` again.

The create action is the one Jira exports for its own workflows: the permission validator, then
IssueCreateFunction, IssueReindexFunction and FireIssueEventFunction with event 1 (Issue Created), so
that Jira sends `jira:issue_created`; any other event would go out as `jira:issue_updated` and the
connector would never hear of the new change. Transitions fire the Generic Event (13). The approval and
rejection steps are restricted with `UserInGroupCondition` (either approver group); the revert
transitions are global actions only the automation group passes.
"""

from __future__ import annotations

from collections.abc import Mapping as StageIds
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from connector.jira.workflow import (
    ALL_STAGES,
    APPROVER_ONLY,
    CATEGORY,
    GATED,
    TRANSITION_NAMES,
    revert_transition_name,
    workflow_name,
)
from connector.mapping import IssueKind, Mapping
from connector.mapping.jira import OFF_SCREEN
from connector.procedure.model import Stage
from connector.procedure.stages import TRANSITIONS

FN = "com.atlassian.jira.workflow.function."
TRANSITION_FUNCTIONS = (
    f"{FN}issue.UpdateIssueStatusFunction",
    f"{FN}misc.CreateCommentFunction",
    f"{FN}issue.GenerateChangeHistoryFunction",
    f"{FN}issue.IssueReindexFunction",
)
CREATE_FUNCTIONS = (f"{FN}issue.IssueCreateFunction", f"{FN}issue.IssueReindexFunction")
ISSUE_CREATED, GENERIC_EVENT = 1, 13
GROUP_CONDITION = "com.atlassian.jira.workflow.condition.UserInGroupCondition"
PERMISSION_VALIDATOR = "com.atlassian.jira.workflow.validator.PermissionValidator"
CATEGORY_NAMES = {"TODO": "To Do", "IN_PROGRESS": "In Progress", "DONE": "Done"}  # as the UI names them


def _post_functions(functions: tuple[str, ...], event: int) -> str:
    calls = "".join(f'<function type="class"><arg name="class.name">{f}</arg></function>' for f in functions)
    fire = (
        f'<function type="class"><arg name="class.name">{FN}event.FireIssueEventFunction</arg>'
        f'<arg name="eventTypeId">{event}</arg></function>'
    )
    return f"<post-functions>{calls}{fire}</post-functions>"


def _groups(groups: tuple[str, ...]) -> str:
    conditions = "".join(
        f'<condition type="class"><arg name="class.name">{GROUP_CONDITION}</arg>'
        f'<arg name="group">{escape(g)}</arg></condition>'
        for g in groups
    )
    return f'<restrict-to><conditions type="OR">{conditions}</conditions></restrict-to>'


def _action(action_id: int, name: str, step: int, restrict: str = "") -> str:
    return (
        f'<action id="{action_id}" name={quoteattr(name)}>{restrict}<results>'
        f'<unconditional-result old-status="Not Done" status="Done" step="{step}">'
        f"{_post_functions(TRANSITION_FUNCTIONS, GENERIC_EVENT)}</unconditional-result></results></action>"
    )


def _initial(step: int) -> str:
    return (
        '<action id="1" name="Create"><validators><validator name="" type="class">'
        f'<arg name="class.name">{PERMISSION_VALIDATOR}</arg><arg name="permission">Create Issue</arg>'
        "</validator></validators><results>"
        f'<unconditional-result old-status="null" status="open" step="{step}">'
        f"{_post_functions(CREATE_FUNCTIONS, ISSUE_CREATED)}</unconditional-result></results></action>"
    )


def workflow_xml(mapping: Mapping, status_ids: StageIds[Stage, str]) -> str:
    """The descriptor, each step naming the id of its stage's status (`status_ids`, from Jira)."""
    statuses = mapping.jira.statuses
    step_of = {stage: index + 1 for index, stage in enumerate(ALL_STAGES)}
    approvers = (mapping.groups.leads, mapping.groups.security)
    common = {stage: 11 + 10 * i for i, stage in enumerate(s for s in ALL_STAGES if s in TRANSITION_NAMES)}
    restrict = {s: _groups(approvers) for s in APPROVER_ONLY} | {  # no plugin: Deploy and Close are the
        s: _groups((mapping.groups.automation,))
        for s in GATED  # connector's, taken on /deploy, /close
    }
    common_xml = "".join(
        _action(common[s], TRANSITION_NAMES[s], step_of[s], restrict.get(s, "")) for s in common
    )
    global_xml = "".join(
        _action(
            501 + 10 * i,
            revert_transition_name(statuses.status_of(s)),
            step_of[s],
            _groups((mapping.groups.automation,)),
        )
        for i, s in enumerate(ALL_STAGES)
    )
    steps_xml = "".join(
        f'<step id="{step_of[s]}" name={quoteattr(statuses.status_of(s))}>'
        f'<meta name="jira.status.id">{escape(status_ids[s])}</meta><actions>'
        + "".join(f'<common-action id="{common[t]}"/>' for t in TRANSITIONS[s])
        + "</actions></step>"
        for s in ALL_STAGES
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE workflow PUBLIC "-//OpenSymphony Group//DTD '
        'OSWorkflow 2.8//EN" "http://www.opensymphony.com/osworkflow/workflow_2_8.dtd">\n'
        f'<workflow><meta name="jira.description">{escape(workflow_name(mapping))}: ENG-PROC-004</meta>'
        f"<initial-actions>{_initial(step_of[Stage.IDENTIFIED])}</initial-actions>"
        f"<global-actions>{global_xml}</global-actions>"
        f"<common-actions>{common_xml}</common-actions><steps>{steps_xml}</steps></workflow>\n"
    )


def _header(mapping: Mapping) -> list[str]:
    return [
        f"ECM Connector: manual steps for Jira Data Center, project {mapping.jira.project}",
        "Jira Data Center's REST API cannot create statuses or workflows, nor switch a project's workflow",
        "scheme: a Jira administrator does these steps in Jira's administration pages.",
    ]


def missing_status_steps(mapping: Mapping, missing: list[Stage], xml_name: str) -> str:
    """The steps while statuses are missing: add them, then run `ecm install` again."""
    statuses = mapping.jira.statuses
    added = ", ".join(f"{statuses.status_of(s)} ({CATEGORY_NAMES[CATEGORY[s]]})" for s in missing)
    lines = [
        *_header(mapping),
        "1. Administration > Issues > Statuses > Add status, once for each of these, with this name and"
        f" category: {added}.",
        "2. Run `ecm install --mapping <this mapping file>` again. It reads the statuses' ids from Jira and"
        f" writes {xml_name} with them, and these steps for importing it.",
        "   (Import from XML has no step that maps statuses: a step whose status id Jira does not know"
        " imports as '?', and every transition into it fails.)",
    ]
    return "\n".join(lines) + "\n"


def install_steps(mapping: Mapping, xml_name: str, status_ids: StageIds[Stage, str]) -> str:
    jira, name = mapping.jira, workflow_name(mapping)
    ids = ", ".join(f"{jira.statuses.status_of(s)} = {status_ids[s]}" for s in ALL_STAGES)
    required = ", ".join((jira.fields.category.name, jira.fields.impact.name))
    types = jira.issue_types
    on_change = ", ".join(
        f.name for logical, f in jira.fields if f.on is IssueKind.CHANGE and logical not in OFF_SCREEN
    )
    on_postmortem = ", ".join(f.name for _, f in jira.fields if f.on is IssueKind.POSTMORTEM)
    lines = [
        *_header(mapping),
        f"1. Administration > Issues > Workflows > Import > Import from XML: upload {xml_name}, name it"
        f" {name!r}. Its steps already name the statuses by id ({ids}); if you added or renamed a status"
        " since this file was written, run `ecm install` again first.",
        f"2. Administration > Issues > Workflow schemes > Add workflow scheme {name + ' scheme'!r}:"
        f" Add workflow > Add existing > {name!r}, assign it to the issue type {jira.issue_types.change!r};"
        " leave the project's other issue types on the workflow they use now.",
        f"3. Project {jira.project} > Project settings > Workflows > Switch scheme: choose"
        f" {name + ' scheme'!r}; move existing issues of type {jira.issue_types.change!r} to"
        f" {jira.statuses.identified!r}.",
        f"4. Custom field {jira.fields.category.name!r} > Configure > Edit options: "
        + ", ".join(jira.fields.category.options)
        + ".",
        f"5. Administration > Issues > Issue type schemes: add {types.change!r} and {types.postmortem!r}"
        f" to the scheme project {jira.project} uses (Jira puts a new issue type only in the default one).",
        "6. Administration > Issues > Screens: on the create, edit and view screens that the project's"
        f" issue type screen scheme gives {types.change!r}, put {on_change}; on those of"
        f" {types.postmortem!r}, put {on_postmortem}. Jira refuses to set a field that is on no screen.",
        "7. Optional: with an app that offers a required-field validator, add it to"
        f" {TRANSITION_NAMES[Stage.AWAITING_APPROVAL]!r} for {required}; otherwise the connector moves a"
        " change back that lacks them.",
        "8. Run `ecm doctor` to check the result.",
    ]
    return "\n".join(lines) + "\n"


def write_datacenter_files(
    mapping: Mapping, out_dir: Path, status_ids: StageIds[Stage, str]
) -> tuple[Path | None, Path]:
    """Write the steps, and the XML once every stage's status exists; returns (xml or None, steps)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    xml_path = out_dir / f"ecm-{mapping.jira.project}-workflow.xml"
    steps_path = out_dir / f"ecm-{mapping.jira.project}-install-steps.txt"
    missing = [s for s in ALL_STAGES if s not in status_ids]
    if missing:
        steps_path.write_text(missing_status_steps(mapping, missing, xml_path.name), encoding="utf-8")
        return None, steps_path
    xml_path.write_text(workflow_xml(mapping, status_ids), encoding="utf-8")
    steps_path.write_text(install_steps(mapping, xml_path.name, status_ids), encoding="utf-8")
    return xml_path, steps_path
