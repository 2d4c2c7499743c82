"""GitHub's custom deployment protection rules, answered by the gate: a deployment to production may
proceed when the change it names may enter the deployed stage now — the same procedure core the pipeline
gate and the webhook judging ask (`procedure.gate.blocking`). The answer, `approved` or `rejected` with
a comment naming what is missing, is an outbox action (`AnswerProtectionRule`), so it is retried until
GitHub has it, and given once per rule and run.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence

from connector import commands as c
from connector.inbound.events import Ignored, ProtectionRuleRequested
from connector.outbox import AnswerProtectionRule
from connector.procedure.gate import blocking
from connector.procedure.model import Stage
from connector.services.deploys import named_keys
from connector.services.ports import UnitOfWork
from connector.store.tables import ChangeRow
from connector.tools import ToolRuntime

GITHUB = "github"

log = logging.getLogger(__name__)


def translate(
    tools: Mapping[str, ToolRuntime],
    event: ProtectionRuleRequested,
    origin: str,
    *,
    app_missing: Sequence[str] = (),
) -> list[c.ReviewDeployment] | Ignored:
    """The rule to review, or why it is not. `app_missing`: the GitHub App settings that are not set (then
    no answer could ever be given, so none is queued: the delivery is recorded as ignored saying so)."""
    configured = {name: t for name, t in tools.items() if t.mapping is not None and t.mapping.deploys}
    if not configured:
        return Ignored("no mapping has a deploys: section")
    if not event.installation_id:
        return Ignored("deployment_protection_rule without an installation: only a GitHub App answers it")
    if app_missing:
        # Only the App can answer ("Creating custom deployment protection rules", docs.github.com/en/
        # actions/managing-workflow-runs-and-deployments/managing-deployments/creating-custom-deployment-
        # protection-rules). Unanswered, the job waits: "If a job is not approved within 30 days, it will
        # automatically fail" ("Reviewing deployments", docs.github.com/en/actions/managing-workflow-runs-
        # and-deployments/managing-deployments/reviewing-deployments). A queued answer would only die
        # after its retries; the admin is told now instead, and the deployment can be reviewed by hand.
        why = (
            "protection rule received but the GitHub App is not configured: set "
            f"{' and '.join(app_missing)}; the deployment to {event.environment} of {event.repository} "
            "waits unanswered (GitHub fails it after 30 days) unless reviewed in GitHub"
        )
        log.error("protection-rule-unanswerable", extra={"detail": why, "deploy_id": event.deploy_id})
        return Ignored(why)
    return [
        c.ReviewDeployment(
            deploy_id=event.deploy_id,
            environment=event.environment,
            repository=event.repository,
            callback_url=event.callback_url,
            installation_id=event.installation_id,
            candidates=tuple(named_keys(configured, event.texts)),
            at=event.at,
            origin=origin,
        )
    ]


def review_deployment(uow: UnitOfWork, tools: Mapping[str, ToolRuntime], request: c.ReviewDeployment) -> str:
    """Decide the answer from the rules and queue it; what was decided, for the delivery's record."""
    change = next(
        (row for tool, key in request.candidates if (row := uow.changes.get(tool, key)) is not None), None
    )
    production = any(
        t.mapping.deploys.is_production(request.environment)
        for t in tools.values()
        if t.mapping is not None and t.mapping.deploys
    )
    state, comment = _decide(uow, tools, request, change, production)
    action = AnswerProtectionRule(
        request.callback_url, request.installation_id, request.environment, state, comment
    )
    digest = hashlib.sha256(f"{request.callback_url}\n{request.environment}".encode()).hexdigest()[:32]
    uow.outbox.enqueue(GITHUB, None, action, f"protection:{digest}", now=request.at)
    uow.audit.append(
        actor=GITHUB,
        action="protection-rule-answered",
        change_key=change.key if change else None,
        tool=change.tool if change else None,
        data={
            "origin": request.origin,
            "deploy_id": request.deploy_id,
            "environment": request.environment,
            "repository": request.repository,
            "state": state,
            "comment": comment,
        },
        at=request.at,
    )
    return f"{state}: {comment}"[:500]


def _decide(
    uow: UnitOfWork,
    tools: Mapping[str, ToolRuntime],
    request: c.ReviewDeployment,
    change: ChangeRow | None,
    production: bool,
) -> tuple[str, str]:
    if not production:
        return "approved", f"{request.environment} is not a production environment in the ECM mappings."
    if change is None:
        named = ", ".join(key for _tool, key in request.candidates)
        why = (
            f"names {named}, which the ECM Connector has not recorded"
            if named
            else "names no emergency change"
        )
        return "rejected", (
            f"ENG-PROC-004: this production deployment {why}. Name an approved emergency change in the "
            'deployment payload ({"change": "EMG-12"}), its description or its ref.'
        )
    ctx = tools[change.tool].ctx
    found = blocking(uow.changes.to_facts(change), Stage.DEPLOYED, request.at, ctx.policy)
    if not found:
        return "approved", f"{change.key} may be deployed: both approvals and both reviews are recorded."
    lines = [f"{change.key} may not be deployed yet (ENG-PROC-004):", *(v.describe() for v in found)]
    return "rejected", "\n".join(lines)
