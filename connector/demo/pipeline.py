"""The pipeline's chapter of the demo: production deploys reported by GitHub, signed and posted to the
service over HTTP as GitHub posts them.

One deploy names an approved and reviewed change (its payload says `{"change": "EMG-…"}`): the connector
records the deploy at the pipeline's time, takes the change's Deploy step in the tool and creates the
post-mortem. One names no change: a bypass change is opened in the tool, once, however often GitHub
reports the deployment (its `deployment` event, its status, a redelivery), with its alert to the leads and
security and its post-mortem due from the deploy. The bodies are GitHub's published `deployment_status`
example (`@octokit/webhooks-examples`, MIT licence) with the deploy's own facts laid over it.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import secrets
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connector.procedure.model import Stage

if TYPE_CHECKING:
    from connector.demo.story import Story

EXAMPLE = Path(__file__).with_name("github_deployment_status.json")
REPOSITORY = "acme/checkout"
INSTALLATION = "31415926"  # the demo GitHub App's installation on the repository


@cache
def _example() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def deployment_status(
    deployment_id: int, at: datetime, *, payload: Any = None, environment: str = "production"
) -> dict[str, Any]:
    """A `deployment_status` delivery: deployment `deployment_id` succeeded in `environment` at `at`."""
    body = copy.deepcopy(_example())
    base = f"https://api.github.com/repos/{REPOSITORY}/deployments/{deployment_id}"
    when = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    body["repository"]["full_name"] = REPOSITORY
    body["deployment"].update(
        id=deployment_id, environment=environment, payload=payload or {}, url=base, ref="main"
    )
    body["deployment"].update(statuses_url=f"{base}/statuses", created_at=when, updated_at=when)
    body["deployment_status"].update(
        state="success",
        environment=environment,
        created_at=when,
        updated_at=when,
        url=f"{base}/statuses/{deployment_id}1",
        deployment_url=base,
        target_url=f"https://github.com/{REPOSITORY}/actions/runs/{deployment_id}",
    )
    return body


def protection_rule(status_body: dict[str, Any], callback_url: str, installation_id: int) -> dict[str, Any]:
    """The `deployment_protection_rule` request GitHub sends the App before the deployment may proceed."""
    return {
        "action": "requested",
        "environment": status_body["deployment"]["environment"],
        "event": "workflow_dispatch",
        "deployment_callback_url": callback_url,
        "deployment": status_body["deployment"],
        "repository": status_body["repository"],
        "sender": status_body["sender"],
        "installation": {"id": installation_id, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="},
    }


def deployment(status_body: dict[str, Any]) -> dict[str, Any]:
    """The `deployment` delivery GitHub sends before the statuses of the same deployment (not started by a
    workflow: `workflow` and `workflow_run` are null)."""
    kept = {k: v for k, v in status_body.items() if k not in ("deployment_status", "check_run")}
    return {"workflow": None, "workflow_run": None, **kept}


class PipelineChapter:
    def __init__(self, story: Story) -> None:
        self.story, self.stack = story, story.stack
        self.next_id = 9_000_000 + secrets.randbelow(10**8) * 100  # GitHub's deployment ids, unique a run

    def play(self) -> None:
        self.deploy_approved_change()
        self.deploy_naming_nothing()
        self.deploy_unapproved_change()

    def ask_protection_rule(self, status: dict[str, Any]) -> dict[str, Any] | None:
        """GitHub asks the App whether the deployment may proceed; the answer that reached its callback."""
        run = status["deployment"]["id"]
        callback = self.stack.github.expect_run(REPOSITORY, run, "production", installation_id=INSTALLATION)
        self.post("deployment_protection_rule", protection_rule(status, callback, int(INSTALLATION)))

        def answered() -> dict[str, Any] | None:
            return next((a for a in self.stack.github.answers if a["run_id"] == run), None)

        return self.stack.settle(answered, timeout=30)

    def post(self, event: str, body: dict[str, Any], delivery: str | None = None) -> dict[str, Any]:
        """POST a GitHub delivery to the service, signed with its webhook secret as GitHub signs."""
        raw = json.dumps(body).encode()
        signature = "sha256=" + hmac.new(self.stack.github_secret.encode(), raw, hashlib.sha256).hexdigest()
        request = urllib.request.Request(  # noqa: S310 - the local service's http URL
            f"{self.stack.service_url}/webhooks/github",
            data=raw,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-GitHub-Event": event,
                "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
                "X-Hub-Signature-256": signature,
            },
        )
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - the local service
            return json.loads(answer.read())

    def deploy_approved_change(self) -> str:
        story = self.story
        story.say("Pipeline — GitHub deploys an approved, reviewed change to production")
        statuses = story.section.statuses
        key = story.approved_change("Card payments declined after TLS rotation", engineer="eng.emma")
        story.move("eng.emma", key, statuses.in_review)
        story.wait_stage(key, Stage.IN_REVIEW)
        story.comment("peer.pete", key, "/peer-reviewed")
        story.comment("sec.sara", key, "/security-reviewed")
        self.stack.settle(lambda: len(story.facts(key).reviews) == 2)
        story.move("eng.emma", key, statuses.reviewed)
        story.wait_stage(key, Stage.REVIEWED)
        deployed_at = self.deploy_time()
        body = deployment_status(self._id(), deployed_at, payload={"change": key})
        answer = self.ask_protection_rule(body)
        story.say(f"  github     asks whether the deployment may proceed: {answer and answer['state']}")
        story.expect(
            f"GitHub's protection rule was answered through its callback: approved, {key} may be deployed",
            bool(answer) and answer["state"] == "approved",
            str(answer),
        )
        answer = self.post("deployment_status", body)
        story.say(f"  github     deployment_status success to production naming {key}: {answer['outcome']}")
        facts = self.stack.settle(lambda: (f := story.facts(key)).postmortem and f.postmortem.key and f, 30)
        story.expect(
            f"the pipeline's deploy is {key}'s deploy, at the pipeline's time (R6)",
            bool(facts) and facts.stage is Stage.DEPLOYED and facts.deployed_at == deployed_at,
        )
        story.expect(f"{key}'s post-mortem was created on that deploy (R7)", bool(facts))
        moved = self.stack.settle(lambda: story.status(key) == statuses.deployed, timeout=30)
        story.expect(f"the connector took {key}'s Deploy step in Jira for the pipeline", bool(moved))
        packet = self.packet(key)
        r6 = next(r for r in packet["rules"] if r["rule"] == "R6")
        story.expect(
            f"{key}'s evidence packet shows the pipeline's deploy beside the ticket's, R6 held",
            [d["outcome"] for d in packet["deploys"]] == ["recorded"] and r6["status"] == "held",
            r6["evidence"],
        )
        return key

    def packet(self, key: str) -> dict[str, Any]:
        from connector.evidence.packet import build_packet
        from connector.evidence.rulebook import RuleBook

        with self.stack.connector.database.session() as session:
            return build_packet(
                session, key, RuleBook.from_connector(self.stack.connector), whole_chain=False
            )

    def deploy_naming_nothing(self) -> str | None:
        story = self.story
        story.say("Pipeline — GitHub deploys to production naming no emergency change (a bypass)")
        deployed_at = self.stack.clock().replace(microsecond=0)
        status = deployment_status(self._id(), deployed_at)
        self.post("deployment", deployment(status))
        guid = str(uuid.uuid4())
        for delivery in (guid, guid, None):  # GitHub redelivers; the status is also reported again
            self.post("deployment_status", status, delivery)
        story.say("  github     deployment, deployment_status (twice, and a redelivery), naming nothing")
        deploy_id = f"{REPOSITORY}#{status['deployment']['id']}"
        found = self.stack.settle(lambda: self._bypass_changes(deploy_id), timeout=30)
        story.expect("exactly one bypass change was opened in Jira", len(found or []) == 1, str(found))
        if not found:
            return None
        key = found[0]
        recorded = self.stack.settle(
            lambda: (f := story.facts(key)) is not None and f.postmortem and f.postmortem.key and f, 30
        )
        story.expect(f"{key} records the deploy and its post-mortem is due from it (R7)", bool(recorded))
        if recorded:
            due = story.ctx.calendar.deadline(deployed_at, story.ctx.policy.postmortem_business_days)
            story.expect(
                f"{key}'s post-mortem is due {due:%a %d %b %H:%M %Z}", recorded.postmortem.due_at == due
            )
        alerted = self.stack.settle(lambda: self._bypass_mails(key), timeout=30)
        story.expect("Engineering Leads and Security were alerted of the bypass at once", bool(alerted))
        self.stack.settle(lambda: False, timeout=1)  # anything still arriving would open a second one
        story.expect("still exactly one bypass change", len(self._bypass_changes(deploy_id)) == 1)
        packet = self.packet(key)
        story.expect(
            f"{key}'s evidence packet marks it a bypass, with the pipeline's deploy",
            packet["change"]["bypass"] and [d["bypass"] for d in packet["deploys"]] == [True],
        )
        return key

    def deploy_time(self) -> datetime:
        """Now in whole seconds, as GitHub gives times, once the clock has left the second in which the
        reviews just recorded may fall (a deploy comes after them, and R6 compares the times)."""
        first = self.stack.clock()
        while (now := self.stack.clock()).replace(microsecond=0) == first.replace(microsecond=0):
            time.sleep(0.02)
        return now.replace(microsecond=0)

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def deploy_unapproved_change(self) -> str:
        story = self.story
        story.say("Pipeline — GitHub deploys a change nobody has approved yet")
        fields = {
            story.field_ids["category"]: {"value": "Customer impact"},
            story.field_ids["impact"]: "Invoices show the wrong VAT rate for every EU customer.",
        }
        key = story.person("eng.emma").create_issue(
            story.section.project,
            story.section.issue_types.change,
            "Wrong VAT on EU invoices",
            "",
            fields=fields,
        )
        story.say(f"  eng.emma   creates {key}")
        story.stack.settle(lambda: story.facts(key) is not None)
        status = deployment_status(
            self._id(), self.stack.clock().replace(microsecond=0), payload={"change": key}
        )
        answer = self.ask_protection_rule(status)
        story.expect(
            "GitHub's protection rule was answered through its callback: rejected, naming what is missing",
            bool(answer) and answer["state"] == "rejected" and "Missing:" in answer["comment"],
            str(answer),
        )
        self.post("deployment_status", status)  # deployed anyway (the rule was overridden in GitHub)
        story.say(f"  github     deployment_status success to production naming {key}")
        story.expect(
            f"the deploy of unapproved {key} is a violation, commented on the ticket (R6, R9)",
            story.commented(key, "R6", "Deployed before the change was approved and reviewed."),
        )
        alerted = self.stack.settle(
            lambda: [
                m for m in story._mails_about(key) if "Procedure violation" in str(m.get("subject", ""))
            ],
            timeout=30,
        )
        story.expect("Engineering Leads and Security were alerted of the violation", bool(alerted))
        opened = self.stack.settle(lambda: self._bypass_changes(f"{REPOSITORY}#{status['deployment']['id']}"))
        story.expect(f"a bypass change was opened for the deploy of unapproved {key}", len(opened or []) == 1)
        return key

    def _bypass_changes(self, deploy_id: str) -> list[str]:
        """The changes opened in Jira for this deploy (the label that names it, beside the bypass label)."""
        from connector.jira.actions import deploy_label

        jql = f'labels = "{deploy_label(deploy_id)}"'
        page = self.story.person("admin").search(jql, fields=["summary"], max_results=10)
        return [issue.key for issue in page.issues]

    def _bypass_mails(self, key: str) -> list[Any]:
        return [
            m
            for m in self.story._mails_about(key)
            if "without an approved emergency change" in str(m.get("subject", ""))
        ]


class ServiceNowPipelineChapter(PipelineChapter):
    """The same deploys on ServiceNow: the approved change is set to Implement through the installed gate,
    and a deploy naming nothing opens one emergency change_request flagged in the installed bypass column."""

    def play(self) -> None:
        self.deploy_approved_change()
        self.deploy_naming_nothing()

    def deploy_approved_change(self) -> str:
        story = self.story
        story.say("Pipeline — GitHub deploys an approved, reviewed change to production")
        key = story.create_change("Card payments declined", "TLS rotation", "Payments fail in the EU")
        story.move("eng.emma", Stage.AWAITING_APPROVAL)
        story.wait_stage(Stage.AWAITING_APPROVAL)
        story.decide("lead.liam", "approved")
        story.decide("sec.sara", "approved")
        self.stack.settle(lambda: len(story.facts().approvals) == 2)
        story.move("eng.emma", Stage.APPROVED)
        story.wait_stage(Stage.APPROVED)
        story.comment("peer.pete", "/peer-reviewed")
        story.comment("sec.sara", "/security-reviewed")
        self.stack.settle(lambda: story.gate_allows(Stage.DEPLOYED), timeout=30)
        deployed_at = self.deploy_time()
        self.post("deployment_status", deployment_status(self._id(), deployed_at, payload={"change": key}))
        story.say(f"  github     deployment_status success to production naming {key}")
        recorded = story.wait_stage(Stage.DEPLOYED) and story.facts().deployed_at == deployed_at
        story.expect(f"the pipeline's deploy is {key}'s deploy, at the pipeline's time (R6)", recorded)
        implement = story.state[Stage.DEPLOYED]
        moved = self.stack.settle(lambda: story.current_state() == implement, timeout=30)
        story.expect(f"the connector set {key} to Implement in ServiceNow for the pipeline", bool(moved))
        return key

    def deploy_naming_nothing(self) -> str | None:
        story = self.story
        story.say("Pipeline — GitHub deploys to production naming no emergency change (a bypass)")
        status = deployment_status(self._id(), self.deploy_time())
        self.post("deployment", deployment(status))
        for _ in range(2):
            self.post("deployment_status", status)
        story.say("  github     deployment, deployment_status (twice), naming nothing")
        marker = f"ecm-deploy:{REPOSITORY}#{status['deployment']['id']}"

        def opened() -> list[Any]:
            return self.stack.sandbox.records(story.section.table, correlation_id=marker)

        found = self.stack.settle(opened, timeout=30) or []
        flagged = [r for r in found if r.get("u_ecm_bypass") == "true"]
        story.expect("exactly one bypass change_request, flagged u_ecm_bypass, was opened", len(flagged) == 1)
        if not flagged:
            return None
        number = flagged[0]["number"]
        mailed = self.stack.settle(lambda: story.mails(f"without an approved emergency change: {number}"), 30)
        story.expect("Engineering Leads and Security were alerted of the bypass at once", bool(mailed))
        self.stack.settle(lambda: False, timeout=1)
        story.expect("still exactly one bypass change_request", len(opened()) == 1)
        return number
