"""Production deploys reported by pipelines: matched to their emergency change, judged like the ticket's
Deploy, and a deploy without an approved change opens its retroactive change (a bypass).

    request = deploys.translate(tools, event, origin)     # no I/O: production? which keys does it name?
    outcome = deploys.report_deploy(uow, tools, request)  # in the delivery's transaction

A deploy is recorded once per `(source, deploy_id)`: GitHub's `deployment` and each of its statuses, and
every redelivery, name one deployment, so the second report finds the first and changes nothing. The
deploy of a change that is approved and reviewed enters the deployed stage through `record_transition`,
the very path of the ticket's Deploy (deploy time, post-mortem, field updates), and the connector takes
the tool's Deploy step for it; one that is not is a violation (R6, with what R1-R5 still miss), commented
and alerted as every violation. A deploy naming no recorded change, or a change not yet approved, opens a
bypass change in the tool the mappings name (`OpenBypass`, keyed by the deploy), which
`register_bypass` records once the tool has created it: assigned, alerted at once, its post-mortem due
from the deploy.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from connector import commands as c
from connector.inbound.events import DeployReported, Ignored
from connector.mapping import KeySource
from connector.outbox import OpenBypass, Transition
from connector.procedure import rules
from connector.procedure.model import Change, Decision, Role, Stage
from connector.procedure.stages import ORDER, TRANSITIONS
from connector.services import notices
from connector.services.changes import plan_postmortem, record_transition, register_change
from connector.services.common import audit, load_change, notify, refuse
from connector.services.ports import UnitOfWork
from connector.store.tables import ChangeRow, DeployRow
from connector.tools import ToolContext, ToolRuntime

SUCCESS = "success"
AFTER_DEPLOY = frozenset({Stage.DEPLOYED, Stage.POSTMORTEM, Stage.CLOSED})  # its deploy is recorded
JIRA_KEY = r"\b{project}-\d+\b"
SERVICENOW_NUMBER = r"\bCHG\d{7,}\b"


def translate(
    tools: Mapping[str, ToolRuntime], event: DeployReported, origin: str, received_at: datetime | None = None
) -> list[c.ReportDeploy] | Ignored:
    """The deploy to match, or why it is not one the procedure looks at (no I/O)."""
    configured = {name: t for name, t in tools.items() if t.mapping is not None and t.mapping.deploys}
    if not configured:
        return Ignored("no mapping has a deploys: section")
    if event.state != SUCCESS:
        return Ignored(f"deployment {event.state}: only a successful deploy is one")
    if not any(t.mapping.deploys.is_production(event.environment) for t in configured.values()):
        return Ignored(f"environment {event.environment!r} is not production in the mappings")
    deploy = c.Deploy(
        source=event.source,
        deploy_id=event.deploy_id,
        environment=event.environment,
        at=event.at,
        repository=event.repository,
        sha=event.sha,
        ref=event.ref,
        version=event.version,
        deployer=event.deployer,
        url=event.url,
    )
    return [c.ReportDeploy(deploy, tuple(named_keys(configured, event.texts)), origin, received_at)]


def named_keys(tools: Mapping[str, ToolRuntime], texts: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    """(tool, key) of every change key the deploy names, in the order the mappings look for them."""
    found: list[tuple[str, str]] = []
    for name, tool in tools.items():
        deploys = tool.mapping.deploys
        pattern = deploys.key_pattern(_default_pattern(tool))
        for where in deploys.look_in:
            for source, text in texts:
                if source == KeySource(where).value:
                    found += [(name, _key(m)) for m in pattern.finditer(text)]
    return list(dict.fromkeys(found))


def _default_pattern(tool: ToolRuntime) -> str:
    jira = tool.mapping.jira
    return JIRA_KEY.format(project=re.escape(jira.project)) if jira is not None else SERVICENOW_NUMBER


def _key(match: re.Match[str]) -> str:
    return match.group(1) if match.re.groups else match.group(0)


Handle = Callable[[UnitOfWork, Any, ToolContext], str]


def report_deploy(
    uow: UnitOfWork, tools: Mapping[str, ToolRuntime], request: c.ReportDeploy, handle: Handle
) -> str:
    """Record the deploy once, on the change it names (its `RecordDeploy` run by `handle`, the use cases'
    table); open a bypass when it names none, or one not approved."""
    deploy = request.deploy
    if uow.deploys.get(deploy.source, deploy.deploy_id) is not None:
        return f"duplicate: deploy {deploy.deploy_id} was recorded before"
    change = _named_change(uow, request.candidates)
    row = DeployRow(
        source=deploy.source,
        deploy_id=deploy.deploy_id,
        environment=deploy.environment,
        deployed_at=deploy.at,
        received_at=request.received_at or deploy.at,
        repository=deploy.repository[:200],
        sha=deploy.sha,
        ref=(deploy.ref or None) and deploy.ref[:255],
        version=deploy.version,
        deployer=deploy.deployer,
        url=deploy.url,
        named_key=change.key if change else (request.candidates[0][1] if request.candidates else None),
        change_id=change.id if change else None,
        outcome="recorded",
        bypass=False,
    )
    if uow.deploys.record(row) is None:  # recorded meanwhile by another process
        return f"duplicate: deploy {deploy.deploy_id} was recorded before"
    outcomes = []
    if change is not None:
        ctx = tools[change.tool].ctx
        command = c.RecordDeploy(
            change.tool, change.key, _actor(ctx, deploy), deploy.at, request.origin, deploy=deploy
        )
        outcome = handle(uow, command, ctx)
        row.outcome = "violation" if outcome.startswith("refused") else "recorded"
        outcomes.append(f"{change.key}: {outcome}")
    if change is None or not _approved(uow, change):
        outcomes.append(_open_bypass(uow, tools, row, deploy, change, request.origin))
    row.detail = "; ".join(outcomes)[:2000]
    return row.detail


def _named_change(uow: UnitOfWork, candidates: tuple[tuple[str, str], ...]) -> ChangeRow | None:
    for tool, key in candidates:
        change = uow.changes.get(tool, key, for_update=True)
        if change is not None:
            return change
    return None


def _approved(uow: UnitOfWork, change: ChangeRow) -> bool:
    facts = uow.changes.to_facts(change)
    return all(facts.approval_for(role) is not None for role in (Role.LEAD, Role.SECURITY))


def _actor(ctx: ToolContext, deploy: c.Deploy) -> str:
    """Who deployed, as the tool knows them; else the pipeline's login, named as the pipeline's."""
    login = deploy.deployer or "unknown"
    return ctx.directory.resolve(login) or f"{deploy.source}:{login}"


def record_deploy(uow: UnitOfWork, cmd: c.RecordDeploy, ctx: ToolContext) -> str:
    """The pipeline deployed the change: judged as a Deploy from the ticket is, and recorded the same way."""
    row = load_change(uow, cmd)
    if row is None or cmd.deploy is None:
        return "ignored: unknown change"
    audit(uow, cmd, "deploy-reported", **cmd.deploy.evidence())
    stage = Stage(row.stage)
    if stage in AFTER_DEPLOY:
        return f"recorded: the change was deployed before (it is {stage.value})"
    facts = _as_of(uow.changes.to_facts(row), cmd.at)
    found = rules.blocking(facts, Stage.DEPLOYED, cmd.at, ctx.policy, ctx.groups())
    if found:
        row.deployed_at = row.deployed_at or cmd.at  # it is in production: R6 judges the order
        return refuse(uow, row, cmd, ctx, Decision(tuple(found)), attempted=Stage.DEPLOYED)
    to_status, from_status = ctx.status_of(Stage.DEPLOYED), row.remote_status
    step = c.RecordTransition(
        cmd.tool, cmd.key, cmd.actor, cmd.at, cmd.origin, to_stage=Stage.DEPLOYED, to_status=to_status
    )
    outcome = record_transition(uow, step, ctx, asked=True)  # the ticket's Deploy, taken by the connector
    if outcome != "handled":
        return outcome
    if _offers_deploy(stage, ctx):
        note = (
            f"Deploy: taken by the ECM Connector for the production deploy of {cmd.deploy.repository} "
            f"to {cmd.deploy.environment} ({cmd.deploy.url or cmd.deploy.deploy_id})."
        )
        uow.outbox.enqueue(row.tool, row, Transition(to_status, from_status, note), cmd.origin, now=cmd.at)
    return "handled: deployed by the pipeline"


def _as_of(facts: Change, at: datetime) -> Change:
    """The change as it stood when the pipeline deployed: a report that arrives late is not excused by
    approvals or reviews recorded after the deploy."""
    return dataclasses.replace(
        facts,
        approvals=tuple(a for a in facts.approvals if a.granted_at <= at),
        reviews=tuple(r for r in facts.reviews if r.at <= at),
    )


def _offers_deploy(stage: Stage, ctx: ToolContext) -> bool:
    """Whether the tool moves the change from `stage` to the deploy status in one step: the procedure
    offers it there, or the tool has no status for the stages between (ServiceNow: Scheduled → Implement)."""
    if Stage.DEPLOYED in TRANSITIONS[stage]:
        return True
    following = next((s for s in ORDER[ORDER.index(stage) + 1 :] if s in ctx.statuses), None)
    return following is Stage.DEPLOYED


def _open_bypass(
    uow: UnitOfWork,
    tools: Mapping[str, ToolRuntime],
    row: DeployRow,
    deploy: c.Deploy,
    named: ChangeRow | None,
    origin: str,
) -> str:
    target = next(
        (t for t in tools.values() if t.mapping and t.mapping.deploys and t.mapping.deploys.bypass), None
    )
    data = {"origin": origin, **deploy.evidence(), "named": named.key if named else row.named_key}
    if target is None:
        uow.audit.append(
            actor=deploy.source, action="bypass-unopened", change_key=None, tool=None, data=data, at=deploy.at
        )
        return "bypass: no mapping opens bypass changes (deploys.bypass)"
    row.bypass, row.outcome = True, "bypass" if named is None else row.outcome
    text = notices.bypass_change(deploy, named.key if named else row.named_key)
    assignee = target.ctx.directory.resolve(deploy.deployer) if deploy.deployer else None
    category = target.mapping.deploys.bypass.category
    action = OpenBypass(text.subject, text.body, deploy, assignee, named.key if named else None, category)
    tag = f"bypass:{deploy.source}:{deploy.deploy_id}"
    uow.outbox.enqueue(target.name, None, action, tag, now=deploy.at)
    uow.audit.append(
        actor=deploy.source,
        action="bypass-detected",
        change_key=None,
        tool=target.name,
        data=data,
        at=deploy.at,
    )
    return f"bypass: opening a retroactive change in {target.name}"


def register_bypass(uow: UnitOfWork, cmd: c.RegisterBypass, ctx: ToolContext) -> str:
    """The tool created the bypass change: it is recorded (whether or not its webhook came first), the
    deploy is its deploy, the leads and security are alerted, and its post-mortem is due from the deploy."""
    deploy = cmd.deploy
    assert deploy is not None
    row = load_change(uow, cmd)
    if row is None:
        register = c.RegisterChange(
            cmd.tool,
            cmd.key,
            cmd.actor,
            cmd.at,
            cmd.origin,
            remote_id=cmd.remote_id,
            engineer=cmd.engineer,
            title=cmd.title,
            url=cmd.url,
            category=cmd.category,
            impact=notices.bypass_impact(deploy),
        )
        register_change(uow, register, ctx)
        row = load_change(uow, cmd)
        assert row is not None
    elif cmd.engineer and cmd.engineer != ctx.connector_account:
        row.engineer = cmd.engineer  # the reporter Jira shows is the connector, who opened it
    row.remote_id = row.remote_id or cmd.remote_id or None
    row.deployed_at = min(filter(None, (row.deployed_at, deploy.at)))
    deployed = uow.deploys.get(deploy.source, deploy.deploy_id)
    if deployed is not None:
        deployed.bypass_change_id = row.id
    audit(uow, cmd, "bypass-opened", **deploy.evidence(), named=cmd.named)
    notify(uow, row, cmd, ctx, "bypass", notices.bypass_alert(row, deploy, cmd.named), deploy.deploy_id)
    if row.postmortem is None:
        plan_postmortem(uow, row, cmd, ctx)
    return "handled: bypass change recorded"
