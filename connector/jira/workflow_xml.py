"""The Emergency Change workflow for Jira Data Center, as the Jira workflow XML its importer takes.

Data Center's REST API cannot create workflows, so `ecm install` writes `<dir>/ecm-<PROJECT>-workflow.xml`
(OSWorkflow 2.8 descriptor: Administration > Issues > Workflows > Import > Import from XML) and
`<dir>/ecm-<PROJECT>-install-steps.txt` with the exact manual steps. The approval and rejection steps are
restricted with `UserInGroupCondition` (either approver group); the revert transitions are global actions
only the automation group passes.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from connector.jira.workflow import (
    ALL_STAGES,
    APPROVER_ONLY,
    TRANSITION_NAMES,
    revert_transition_name,
    workflow_name,
)
from connector.mapping import Mapping
from connector.procedure.model import Stage
from connector.procedure.stages import TRANSITIONS

FN = "com.atlassian.jira.workflow.function."
ESSENTIAL_FUNCTIONS = (
    f"{FN}issue.UpdateIssueStatusFunction",
    "com.atlassian.jira.workflow.function.misc.CreateCommentFunction",
    f"{FN}issue.GenerateChangeHistoryFunction",
    f"{FN}issue.IssueReindexFunction",
)
GROUP_CONDITION = "com.atlassian.jira.workflow.condition.UserInGroupCondition"


def _function_calls() -> str:
    calls = "".join(
        f'<function type="class"><arg name="class.name">{f}</arg></function>' for f in ESSENTIAL_FUNCTIONS
    )
    event = (
        f'<function type="class"><arg name="class.name">{FN}event.FireIssueEventFunction</arg>'
        '<arg name="eventTypeId">13</arg></function>'
    )
    return calls + event


def _functions() -> str:
    return f"<post-functions>{_function_calls()}</post-functions>"


def _groups(groups: tuple[str, ...]) -> str:
    conditions = "".join(
        f'<condition type="class"><arg name="class.name">{GROUP_CONDITION}</arg>'
        f'<arg name="group">{escape(g)}</arg></condition>'
        for g in groups
    )
    return f'<restrict-to><conditions type="OR">{conditions}</conditions></restrict-to>'


def _action(action_id: int, name: str, step: int, restrict: str = "") -> str:
    return (
        f'<action id="{action_id}" name={quoteattr(name)} view="">{restrict}<results>'
        f'<unconditional-result old-status="Not Done" status="Done" step="{step}">{_functions()}'
        "</unconditional-result></results></action>"
    )


def workflow_xml(mapping: Mapping) -> str:
    statuses = mapping.jira.statuses
    step_of = {stage: index + 1 for index, stage in enumerate(ALL_STAGES)}
    approvers = (mapping.groups.leads, mapping.groups.security)
    common = {stage: 11 + 10 * i for i, stage in enumerate(s for s in ALL_STAGES if s in TRANSITION_NAMES)}
    common_xml = "".join(
        _action(common[s], TRANSITION_NAMES[s], step_of[s], _groups(approvers) if s in APPROVER_ONLY else "")
        for s in common
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
        f'<meta name="jira.status.id">{escape(statuses.status_of(s))}</meta><actions>'
        + "".join(f'<common-action id="{common[t]}"/>' for t in TRANSITIONS[s])
        + "</actions></step>"
        for s in ALL_STAGES
    )
    initial = (
        f'<action id="1" name="Create"><results><unconditional-result old-status="null" status="open" '
        f'step="{step_of[Stage.IDENTIFIED]}"><post-functions><function type="class">'
        f'<arg name="class.name">{FN}issue.IssueCreateFunction</arg></function>{_function_calls()}'
        "</post-functions>"
        "</unconditional-result></results></action>"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE workflow PUBLIC "-//OpenSymphony Group//DTD '
        'OSWorkflow 2.8//EN" "http://www.opensymphony.com/osworkflow/workflow_2_8.dtd">\n'
        f'<workflow><meta name="jira.description">{escape(workflow_name(mapping))}: ENG-PROC-004</meta>'
        f"<initial-actions>{initial}</initial-actions><global-actions>{global_xml}</global-actions>"
        f"<common-actions>{common_xml}</common-actions><steps>{steps_xml}</steps></workflow>\n"
    )


def install_steps(mapping: Mapping, xml_name: str) -> str:
    jira, name = mapping.jira, workflow_name(mapping)
    required = ", ".join((jira.fields.category.name, jira.fields.impact.name))
    return (
        "\n".join(
            [
                f"ECM Connector: manual steps for Jira Data Center, project {jira.project}",
                "1. Administration > Issues > Statuses: make sure these statuses exist: "
                + ", ".join(jira.statuses.status_of(s) for s in ALL_STAGES)
                + ".",
                f"2. Administration > Issues > Workflows > Import > Import from XML: paste {xml_name},"
                f" name it {name!r}.",
                "   In step 'Map statuses' map each step to the status of the same name.",
                f"3. Edit the transition {TRANSITION_NAMES[Stage.AWAITING_APPROVAL]!r}: add the validator"
                f" 'Field Required' for {required} (or rely on the connector's revert);"
                " publish the workflow.",
                f"4. Administration > Issues > Workflow schemes: add a scheme {name + ' scheme'!r} that maps"
                f" {jira.issue_types.change!r} to {name!r}; keep the project's other mappings.",
                f"5. Project {jira.project} > Project settings > Workflows > Switch scheme: choose it;"
                f" map old statuses of {jira.issue_types.change!r} to {jira.statuses.identified!r}.",
                f"6. Custom field {jira.fields.category.name!r} > Configure > Edit options: "
                + ", ".join(jira.fields.category.options)
                + ".",
                "7. Run `ecm doctor` to check the result.",
            ]
        )
        + "\n"
    )


def write_datacenter_files(mapping: Mapping, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    xml_path = out_dir / f"ecm-{mapping.jira.project}-workflow.xml"
    steps_path = out_dir / f"ecm-{mapping.jira.project}-install-steps.txt"
    xml_path.write_text(workflow_xml(mapping), encoding="utf-8")
    steps_path.write_text(install_steps(mapping, xml_path.name), encoding="utf-8")
    return xml_path, steps_path
