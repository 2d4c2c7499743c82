"""One emergency change from identification to close, played in Jira as the seeded people.

Each step acts through the Jira REST API as a real person would (the connector's own gateway,
authenticated as that person), then waits for the connector to react and checks what a person
would see. One step breaks the procedure on purpose and must be reverted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from connector.demo.overdue import OverdueChapter, ToolAlert
from connector.jira.gateway import JiraGateway
from connector.outbox import RecordEvidence
from connector.procedure.model import Stage
from connector.services.missing import HEADING as MISSING_HEADING
from connector.store.audit import entries, verify
from connector.store.demo import action_status
from connector.store.uow import UnitOfWork

if TYPE_CHECKING:
    from connector.demo.stack import LocalStack


@dataclass
class Check:
    what: str
    held: bool
    detail: str = ""


@dataclass
class StoryResult:
    key: str = ""
    postmortem_key: str = ""
    due: str = ""
    checks: list[Check] = field(default_factory=list)
    timeline: list[str] = field(default_factory=list)
    overdue_key: str = ""  # the change whose post-mortem was left open (R10)
    overdue_timeline: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.held for c in self.checks)


class Story:
    """What every story shares: the checks it records and the audit timeline it ends with."""

    tool = ""
    tool_name = ""  # as people call it

    def __init__(self, stack: LocalStack, say: Callable[[str], None] = print) -> None:
        self.stack, self.say = stack, say
        self.result = StoryResult()
        self.ctx = stack.connector.tools[self.tool].ctx

    def demo(self) -> StoryResult:
        """What `ecm demo` plays: the story, then a second change left overdue while the clock moves (R10)."""
        self.play()
        self.pipeline()
        OverdueChapter(self).play()
        return self.result

    def pipeline(self) -> None:
        """Production deploys reported by the pipeline (the tools whose story tells them)."""

    def expect(self, what: str, held: bool, detail: str = "") -> None:
        self.result.checks.append(Check(what, held, detail))
        self.say(f"  {'✔' if held else '✘'} {what}" + (f" — {detail}" if detail and not held else ""))

    def stored(self, key: str) -> Any:
        """The change as the connector knows it (None before its first webhook)."""
        with UnitOfWork(self.stack.connector.database) as uow:
            row = uow.changes.get(self.tool, key)
            return uow.changes.to_facts(row) if row is not None else None

    def expect_evidence_sealed(self) -> None:
        """At close the packet's hash and the newest audit checkpoint are written on the ticket."""

        def seal_status() -> str | None:
            with UnitOfWork(self.stack.connector.database) as uow:
                return action_status(uow.session, self.result.key, RecordEvidence.ACTION)

        status = self.stack.settle(lambda: seal_status() == "done", timeout=30) and "done"
        self.expect("the evidence seal is written on the ticket at close", bool(status), seal_status() or "")

    def expect_audit_chain_intact(self) -> None:
        self.expect_evidence_sealed()
        with UnitOfWork(self.stack.connector.database) as uow:
            result = verify(uow.session)
        self.result.timeline = self.timeline_of(self.result.key)
        self.expect("the audit chain verifies", result.ok, getattr(result, "problem", ""))

    def timeline_of(self, key: str) -> list[str]:
        """The audit entries of a change, in the calendar's zone, one line each."""
        with UnitOfWork(self.stack.connector.database) as uow:
            return [
                f"{e.at.astimezone(self.ctx.calendar.tz):%a %d %b %H:%M:%S %Z}  "
                f"{self.ctx.name_of(e.actor):16} {e.action:18} {_summary(e.data, self.ctx.name_of)}"
                for e in entries(uow.session, change_key=key)
            ]


PR_URL = "https://git.example.com/acme/checkout/pull/4242"
DOCS_URL = "https://wiki.example.com/changes/checkout-eu-pool"


# The subjects of the SLA notices (connector.services.notices) by alert kind, after "[KEY] "
JIRA_ALERT_SUBJECTS = {
    "reminder": "Reminder:",
    "breach": "SLA breach:",
    "escalation": "SLA breach, escalation",
}


class JiraStory(Story):
    tool = "jira"
    tool_name = "Jira"

    def __init__(self, stack: LocalStack, say: Callable[[str], None] = print) -> None:
        super().__init__(stack, say)
        self.jira_url = stack.sandbox.url
        tool = stack.connector.tools["jira"]
        self.field_ids, self.section = tool.actions.field_ids, tool.mapping.jira
        self._people: dict[str, JiraGateway] = {}

    # --- acting as people ------------------------------------------------------------------------

    def person(self, name: str) -> JiraGateway:
        if name not in self._people:
            flavor = self.stack.flavor
            user, token = (f"{name}@example.com", name) if flavor == "cloud" else (None, f"pat-{name}")
            self._people[name] = JiraGateway(self.jira_url, flavor=flavor, user=user, token=token)
        return self._people[name]

    def move(self, who: str, key: str, status: str) -> None:
        gateway = self.person(who)
        chosen = next((t for t in gateway.transitions(key) if t.to_status == status), None)
        if chosen is None:
            raise RuntimeError(f"{who} is offered no transition of {key} to {status}")
        gateway.transition(key, chosen.id)
        self.say(f"  {who:10} moves {key} to {status}")

    def approved_change(self, title: str = "Outage", engineer: str = "eng.emma") -> str:
        """A new change, with both approvals recorded and moved to Approved, checks left to the caller."""
        statuses = self.section.statuses
        fields = {
            self.field_ids["category"]: {"value": "Service outage"},
            self.field_ids["impact"]: "EU customers cannot check out.",
        }
        key = self.person(engineer).create_issue(
            self.section.project, self.section.issue_types.change, title, "", fields=fields
        )
        self.move(engineer, key, statuses.awaiting_approval)
        self.comment("lead.liam", key, "/approve")
        self.comment("sec.sara", key, "/approve")
        # Asked before the connector may know the change at all (its first webhook still on its way).
        if not self.stack.settle(lambda: (f := self.facts(key)) is not None and len(f.approvals) == 2):
            raise RuntimeError(f"{key}: the two approvals were not recorded")
        self.move("lead.liam", key, statuses.approved)
        if not self.wait_stage(key, Stage.APPROVED):
            raise RuntimeError(f"{key} did not reach Approved")
        return key

    def comment(self, who: str, key: str, text: str) -> None:
        self.person(who).add_comment(key, text)
        self.say(f"  {who:10} comments on {key}: {text}")

    # --- what the connector knows ----------------------------------------------------------------

    def facts(self, key: str) -> Any:
        return self.stored(key)

    def wait_stage(self, key: str, stage: Stage) -> bool:
        return bool(self.stack.settle(lambda: (f := self.facts(key)) is not None and f.stage is stage))

    def status(self, key: str) -> str:
        return self.person("admin").get_issue(key, fields=["status"]).status

    @property
    def words(self) -> dict[str, str]:
        return self.ctx.command_words or {}

    def take(self, who: str, key: str, stage: Stage) -> None:
        """A guarded step: clicked where Jira offers it, else asked of the connector (`/deploy`, `/close`)."""
        status = self.section.statuses.status_of(stage)
        if not self.ctx.performs_on_request:
            if self.gated:  # offered once the connector has opened it in the gate field
                name = "Deploy" if stage is Stage.DEPLOYED else "Close"
                self.stack.settle(lambda: self.offered(who, key, name), timeout=30)
            self.move(who, key, status)
            return
        self.comment(who, key, self.words["deploy" if stage is Stage.DEPLOYED else "close"])
        taken = self.stack.settle(lambda: self.status(key) == status, timeout=30)
        self.expect(
            f"the connector took the step to {status} that {who} asked for", bool(taken), self.status(key)
        )

    @property
    def gated(self) -> bool:
        """Cloud: the installed Deploy and Close are offered only while the connector's gate lists them."""
        return bool(self.ctx.gate_field)

    def offered(self, who: str, key: str, transition: str) -> bool:
        return any(t.name == transition for t in self.person(who).transitions(key))

    def shows_missing(self, key: str, *words: str) -> bool:
        """The connector's one kept-current comment on what the next step needs says all of `words`."""
        comments = self.person("admin").comments

        def current() -> bool:
            shown = [c for c in comments(key) if MISSING_HEADING in c.body]
            return len(shown) == 1 and all(w in shown[0].body for w in words)

        return bool(self.stack.settle(current, timeout=30))

    def commented(self, key: str, *words: str) -> bool:
        comments = self.person("admin").comments
        found = self.stack.settle(
            lambda: any(all(w in c.body for w in words) for c in comments(key)), timeout=30
        )
        return bool(found)

    # --- the story --------------------------------------------------------------------------------

    def pipeline(self) -> None:
        from connector.demo.pipeline import PipelineChapter

        PipelineChapter(self).play()

    def play(self) -> StoryResult:
        key = self.raise_change()
        self.approve(key)
        self.review_too_early(key)
        self.review_and_deploy(key)
        self.close_too_early_then_close(key)
        self.expect_audit_chain_intact()
        return self.result

    def raise_change(self) -> str:
        self.say("Step 1 — eng.emma raises an emergency change")
        fields = {
            self.field_ids["category"]: {"value": "Service outage"},
            self.field_ids["impact"]: "Checkout fails for every EU customer since 09:12 UTC.",
        }
        key = self.person("eng.emma").create_issue(
            self.section.project,
            self.section.issue_types.change,
            "Checkout API returns 500 in EU",
            "Database connection pool exhausted after the 09:00 release.",
            fields=fields,
        )
        self.result.key = key
        self.say(f"  eng.emma   creates {key}")
        registered = self.stack.settle(lambda: self.facts(key) is not None)
        self.expect(f"{key} is known to the connector", registered)
        mailed = self.stack.settle(lambda: self._mails_about(key))
        self.expect("Engineering Leads and Security were notified at once (R1)", bool(mailed))
        return key

    def approve(self, key: str) -> None:
        self.say("Step 2 — approvals from an Engineering Lead and the Security Team")
        self.move("eng.emma", key, self.section.statuses.awaiting_approval)
        self.wait_stage(key, Stage.AWAITING_APPROVAL)
        self.comment("lead.liam", key, "/approve")
        self.comment("eng.emma", key, "/approve-verbal @sec.sara security via phone bridge")
        recorded = self.stack.settle(lambda: len(self.facts(key).approvals) == 2)
        self.expect("written lead approval and verbal security approval recorded (R2, R4)", recorded)
        self.move("lead.liam", key, self.section.statuses.approved)
        self.expect("the change is approved", self.wait_stage(key, Stage.APPROVED))
        self.comment("sec.sara", key, "/confirm")
        confirmed = self.stack.settle(lambda: all(a.confirmed for a in self.facts(key).approvals))
        self.expect("sec.sara confirmed her verbal approval in writing (R4)", confirmed)

    def review_too_early(self, key: str) -> None:
        self.say("Step 3 — eng.emma marks the change reviewed before anyone reviewed it")
        self.move("eng.emma", key, self.section.statuses.in_review)
        self.wait_stage(key, Stage.IN_REVIEW)
        self.move("eng.emma", key, self.section.statuses.reviewed)
        reverted = self.stack.settle(lambda: self.status(key) == self.section.statuses.in_review, timeout=15)
        self.expect("the early step was reverted to In Review (R5, R9)", reverted, self.status(key))
        explained = self.stack.settle(lambda: any("R5" in c.body for c in self.person("admin").comments(key)))
        self.expect("the revert comment names R5 and what is missing", explained)

    def review_and_deploy(self, key: str) -> None:
        self.say("Step 3 — peer and security review; Step 4 — deploy")
        self.comment("peer.pete", key, "/peer-reviewed")
        self.comment("sec.sara", key, "/security-reviewed")
        self.stack.settle(lambda: len(self.facts(key).reviews) == 2)
        self.move("eng.emma", key, self.section.statuses.reviewed)
        self.expect("reviews recorded; the change is reviewed (R5)", self.wait_stage(key, Stage.REVIEWED))
        if self.gated:
            opened = self.stack.settle(lambda: self.offered("eng.emma", key, "Deploy"), timeout=30)
            said = self.commented(key, "Deploy is now available")
            self.expect(
                "Jira offers Deploy now, and the change says so: 'Deploy is now available'", opened and said
            )
        self.take("eng.emma", key, Stage.DEPLOYED)
        self.wait_stage(key, Stage.DEPLOYED)
        # the post-mortem may wait out retries: Jira can answer 429 / 503 before it (Retry-After, backoff)
        pm = self.stack.settle(lambda: (f := self.facts(key)).postmortem and f.postmortem.key, timeout=30)
        self.expect("a Post-Mortem issue was created and linked on deploy (R7)", bool(pm))
        if pm:
            facts = self.facts(key)
            self.result.postmortem_key, self.result.due = (
                pm,
                facts.postmortem.due_at.astimezone(self.ctx.calendar.tz).isoformat(),
            )
            issue = self.person("admin").get_issue(pm, fields=["duedate", "assignee", "summary"])
            self.expect(
                f"{pm} is assigned and due {issue.fields.get('duedate')}",
                bool(issue.assignee) and bool(issue.fields.get("duedate")),
            )

    def record_links(self, key: str) -> None:
        """The retroactive PR and documentation links, by comment command."""
        self.comment("eng.emma", key, f"/pr {PR_URL}")
        self.comment("eng.emma", key, f"/docs {DOCS_URL}")

    def close_too_early_then_close(self, key: str) -> None:
        self.say("Step 5 — retroactive documentation and the post-mortem")
        self.record_links(key)
        self.move("eng.emma", key, self.section.statuses.postmortem)
        self.wait_stage(key, Stage.POSTMORTEM)
        self.expect(
            "the change shows what Close still needs, in one comment kept current (R8)",
            self.shows_missing(
                key, "Close (step 5) still needs:", "post-mortem task done with a report link"
            ),
        )
        if self.gated:  # Jira itself refuses: Close is not offered until the connector opens it
            self.expect(
                "Jira does not offer Close before the post-mortem is done, and the change says what Close "
                "still needs (R8, R9: blocked by the tool)",
                not self.offered("eng.emma", key, "Close")
                and self.commented(key, "Close still needs:", "post-mortem task done with a report link"),
            )
        elif self.ctx.performs_on_request:  # Data Center: Close is the connector's; asked too early
            self.comment("eng.emma", key, self.words["close"])
            answered = self.commented(key, "Close is not allowed yet", "R8")
            self.expect(
                "asked to close before the post-mortem was done, the connector says what is missing and "
                "leaves the change where it is (R8)",
                answered and self.status(key) == self.section.statuses.postmortem,
                self.status(key),
            )
        else:
            self.move("eng.emma", key, self.section.statuses.closed)
            reverted = self.stack.settle(
                lambda: self.status(key) == self.section.statuses.postmortem, timeout=15
            )
            self.expect(
                "closing before the post-mortem was done was reverted (R8)", reverted, self.status(key)
            )
        pm = self.result.postmortem_key
        if pm:
            report = self.field_ids["report_url"]
            self.person("eng.emma").edit_issue(
                pm, {report: "https://wiki.example.com/postmortems/checkout-eu"}
            )
            self.move("eng.emma", pm, self.section.postmortem_statuses.done)
            self.stack.settle(lambda: self.facts(key).postmortem.done)
        if self.gated:
            opened = self.stack.settle(lambda: self.offered("eng.emma", key, "Close"), timeout=30)
            self.expect("Jira offers Close once the post-mortem is done", bool(opened))
        self.take("eng.emma", key, Stage.CLOSED)
        self.expect(
            "with the post-mortem done, PR and docs linked, the change closed (R8)",
            self.wait_stage(key, Stage.CLOSED),
        )

    def deploy_and_leave_open(self) -> str:
        """A second change approved, reviewed and deployed; its post-mortem is left open."""
        statuses = self.section.statuses
        key = self.approved_change("Payment webhooks time out", engineer="eng.emma")
        self.move("eng.emma", key, statuses.in_review)
        self.wait_stage(key, Stage.IN_REVIEW)
        self.comment("peer.pete", key, "/peer-reviewed")
        self.comment("sec.sara", key, "/security-reviewed")
        self.stack.settle(lambda: len(self.facts(key).reviews) == 2)
        self.move("eng.emma", key, statuses.reviewed)
        self.wait_stage(key, Stage.REVIEWED)
        self.take("eng.emma", key, Stage.DEPLOYED)
        pm = self.stack.settle(lambda: (f := self.facts(key)).postmortem and f.postmortem.key, timeout=15)
        self.expect(f"{key} is deployed and its post-mortem {pm or '(none)'} created (R7)", bool(pm))
        return key

    def alerts_in_tool(self, key: str) -> list[ToolAlert]:
        """The mails Jira sent for `POST issue/{key}/notify`, as the sandbox recorded them."""
        found = []
        for mail in self._mails_about(key):
            subject = str(mail.get("subject", ""))
            for kind, words in JIRA_ALERT_SUBJECTS.items():
                if mail.get("issue") == key and subject.startswith(f"[{key}] {words}"):
                    sent = datetime.strptime(mail["sent"], "%Y-%m-%dT%H:%M:%S.%f%z")
                    found.append(ToolAlert(kind, subject, tuple(mail.get("recipients", ())), sent))
        return found

    def _mails_about(self, key: str) -> list[Any]:
        with self.stack.sandbox.state.lock:
            return [m for m in self.stack.sandbox.state.mails if key in str(m.get("subject", ""))]


def _summary(data: dict[str, Any], display: Callable[[str], str]) -> str:
    """The interesting part of an audit entry, in a few words (the people alerted by name)."""
    if isinstance(data.get("to"), list):
        data = {**data, "to": ", ".join(display(to) for to in data["to"])}
    keys = (
        "to_stage",
        "role",
        "method",
        "kind",
        "rules",
        "reverted_to",
        "postmortem",
        "due_at",
        "url",
        "threshold",
        "to",
    )
    return ", ".join(f"{k}={v}" for k in keys if (v := data.get(k)) not in (None, "", []))
