"""One emergency change from identification to close, played in ServiceNow as the seeded people.

Each step acts through the Table API as a real person would (the connector's own gateway,
authenticated as that person), then waits for the connector to react and checks what a person
would see. Two steps break the procedure on purpose, and ServiceNow itself refuses both: an Implement
before the reviews and a Close before the post-mortem. The installed before rules check the gate field
that only the connector writes; the connector opens each step there once the rules hold, and says so in
a work note, which is what the people wait for.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from connector.demo.overdue import ToolAlert
from connector.demo.story import Story, StoryResult
from connector.errors import Rejected
from connector.procedure.model import Method, Role, Stage
from connector.servicenow.actions import MISSING_FIELD, SN_TIME
from connector.servicenow.gateway import ServiceNowGateway
from connector.servicenow.installer import ALERT_TEXT

if TYPE_CHECKING:
    from connector.demo.stack import LocalStack

REPORT_URL = "https://wiki.example.com/postmortems/checkout-eu"
GUARDED = frozenset({Stage.APPROVED, Stage.DEPLOYED, Stage.CLOSED})  # the installed gate rules' states


class ServiceNowStory(Story):
    tool = "servicenow"
    tool_name = "ServiceNow"

    def __init__(self, stack: LocalStack, say: Callable[[str], None] = print) -> None:
        super().__init__(stack, say)
        self.url = stack.sandbox.base_url
        self.section = stack.connector.tools["servicenow"].mapping.servicenow
        self.state = {stage: value for value, stage in self.section.states.items()}
        self._people: dict[str, ServiceNowGateway] = {}
        self.sys_id, self.key = "", ""  # the change being played

    # --- acting as people ------------------------------------------------------------------------

    def person(self, name: str) -> ServiceNowGateway:
        if name not in self._people:
            self._people[name] = ServiceNowGateway(self.url, user=name, password=name)
        return self._people[name]

    def move(self, who: str, stage: Stage, *, early: bool = False, **fields: str) -> None:
        """Set the state as `who`; into a guarded state once the connector opened it (unless `early`)."""
        if stage in GUARDED and not early:
            self.stack.settle(lambda: self.gate_allows(stage), timeout=30)
        self.person(who).update_change(self.sys_id, {"state": self.state[stage], **fields})
        self.say(f"  {who:10} sets {self.key} to state {self.state[stage]} ({stage.value})")

    def comment(self, who: str, text: str) -> None:
        self.person(who).add_comment(self.sys_id, text)
        self.say(f"  {who:10} comments on {self.key}: {text}")

    def decide(self, who: str, decision: str) -> None:
        gateway = self.person(who)

        def requested() -> list[
            Any
        ]:  # the connector asks the approver groups once the change is in Authorize
            return [a for a in gateway.approvals(self.sys_id) if a.approver == who and a.state == "requested"]

        mine = self.stack.settle(requested, timeout=30) or []
        if not mine:
            raise RuntimeError(f"{who} has no requested approval on {self.key}")
        gateway.update("sysapproval_approver", mine[0].sys_id, {"state": decision})
        self.say(f"  {who:10} {decision} the {mine[0].group} approval")

    # --- what the connector and the instance know ------------------------------------------------

    def facts(self) -> Any:
        return self.stored(self.key)

    def wait_stage(self, stage: Stage) -> bool:
        return bool(self.stack.settle(lambda: (f := self.facts()) is not None and f.stage is stage))

    def gate_allows(self, stage: Stage) -> bool:
        """Whether the change's gate field lists `stage` (alone or for an update that fills a field)."""
        entries = (self.stack.sandbox.record(self.section.table, self.sys_id) or {}).get("u_ecm_gate", "")
        return any(entry.split("?")[0] == stage.value for entry in entries.split(","))

    def missing(self) -> str:
        """What the change's connector-owned field says the next step still needs."""
        return (self.stack.sandbox.record(self.section.table, self.sys_id) or {}).get(MISSING_FIELD, "")

    def current_state(self) -> str:
        return self.person("admin").get_change(self.sys_id).state

    def work_notes(self, *words: str) -> list[Any]:
        notes = self.stack.sandbox.records("sys_journal_field", element_id=self.sys_id, element="work_notes")
        return [n for n in notes if all(w in n.get("value", "") for w in words)]

    def mails(self, subject_word: str) -> list[Any]:
        return [m for m in self.stack.sandbox.emails if subject_word in m.get("subject", "")]

    def tasks(self) -> list[Any]:
        task = self.section.postmortem_task
        found = self.stack.sandbox.records(task.table, change_request=self.sys_id)
        return [t for t in found if t.get("short_description", "").startswith(task.short_description_prefix)]

    # --- the story --------------------------------------------------------------------------------

    def pipeline(self) -> None:
        from connector.demo.pipeline import ServiceNowPipelineChapter

        ServiceNowPipelineChapter(self).play()

    def play(self) -> StoryResult:
        self.raise_change()
        self.approve()
        self.deploy_too_early()
        self.review_and_deploy()
        self.close_too_early_then_close()
        self.expect_audit_chain_intact()
        return self.result

    def create_change(self, title: str, description: str, impact: str) -> str:
        """eng.emma raises an emergency change_request; it becomes the change being played."""
        emma = self.person("eng.emma")
        created = emma.create(
            self.section.table,
            {
                "type": self.section.type,
                "short_description": title,
                "description": description,
                "category": "Service outage",
                "justification": impact,
                "requested_by": emma.user_sys_id("eng.emma"),
            },
        )
        self.sys_id, self.key = created.sys_id, created.get("number")
        self.say(f"  eng.emma   creates {self.key}")
        return self.key

    def raise_change(self) -> None:
        self.say("Step 1 — eng.emma raises an emergency change")
        key = self.result.key = self.create_change(
            "Checkout API returns 500 in EU",
            "Database connection pool exhausted after the 09:00 release.",
            "Checkout fails for every EU customer since 09:12 UTC.",
        )
        self.expect(f"{key} is known to the connector", bool(self.stack.settle(lambda: self.facts())))
        # the alert may wait out retries: the instance can answer 429 / 503 (Retry-After, backoff)
        mailed = self.stack.settle(lambda: self.mails(f"Emergency change {key} raised"), timeout=30)
        self.expect("Engineering Leads and Security were notified at once (R1)", bool(mailed))

    def approve(self) -> None:
        self.say("Step 2 — approvals from an Engineering Lead and the Security Team")
        self.move("eng.emma", Stage.AWAITING_APPROVAL)
        self.wait_stage(Stage.AWAITING_APPROVAL)
        self.decide("lead.liam", "approved")
        self.decide("sec.sara", "approved")
        recorded = self.stack.settle(lambda: len(self.facts().approvals) == 2)
        roles = {(a.approver, a.role, a.method) for a in self.facts().approvals}
        expected = {("lead.liam", Role.LEAD, Method.WRITTEN), ("sec.sara", Role.SECURITY, Method.WRITTEN)}
        self.expect(
            "both approvals recorded from their approval records (R2, R3)",
            recorded and roles == expected,
            str(roles),
        )
        opened = self.stack.settle(lambda: self.work_notes("may now leave approval"), timeout=30)
        self.expect("the connector opened the step in ServiceNow and said so", bool(opened))
        self.move("eng.emma", Stage.APPROVED)
        self.expect("the change is approved (Scheduled)", self.wait_stage(Stage.APPROVED))

    def deploy_too_early(self) -> None:
        self.say("Step 3 — eng.emma starts implementing before anyone reviewed the change")
        try:
            self.move("eng.emma", Stage.DEPLOYED, early=True)
            refused = ""
        except Rejected as error:  # the installed gate rule: Implement is not open yet
            refused = str(error)
            self.say(f"  ServiceNow refuses: {refused}")
        self.expect(
            "ServiceNow itself refused the early Implement, naming the rule that needs both reviews "
            "(R5, R9: blocked where the tool can block it)",
            "Implement needs both approvals and both reviews" in refused
            and self.current_state() == self.state[Stage.APPROVED],
            refused or self.current_state(),
        )

    def review_and_deploy(self) -> None:
        self.say("Step 3 — peer and security review; Step 4 — implement")
        self.comment("peer.pete", "/peer-reviewed")
        self.comment("sec.sara", "/security-reviewed")
        reviewed = self.stack.settle(lambda: len(self.facts().reviews) == 2)
        self.expect("peer and security reviews recorded (R5)", reviewed)
        opened = self.stack.settle(lambda: self.work_notes("Deploy is now available"), timeout=30)
        self.expect("the connector opened Implement in ServiceNow: 'Deploy is now available'", bool(opened))
        self.move("eng.emma", Stage.DEPLOYED)
        deployed = self.wait_stage(Stage.DEPLOYED) and self.facts().deployed_at is not None
        self.expect("the change is implemented and its deploy time recorded (R6)", deployed)

    def deploy_and_leave_open(self) -> str:
        """A second change approved, reviewed, implemented and in Review; its post-mortem task left open."""
        key = self.create_change(
            "Payment webhooks time out",
            "The payment provider's callbacks exceed the gateway timeout.",
            "Orders stay unpaid for every customer since 14:05 UTC.",
        )
        self.move("eng.emma", Stage.AWAITING_APPROVAL)
        self.wait_stage(Stage.AWAITING_APPROVAL)
        self.decide("lead.liam", "approved")
        self.decide("sec.sara", "approved")
        self.stack.settle(lambda: len(self.facts().approvals) == 2)
        self.move("eng.emma", Stage.APPROVED)
        self.wait_stage(Stage.APPROVED)
        self.comment("peer.pete", "/peer-reviewed")
        self.comment("sec.sara", "/security-reviewed")
        self.stack.settle(lambda: len(self.facts().reviews) == 2)
        self.move("eng.emma", Stage.DEPLOYED)
        self.wait_stage(Stage.DEPLOYED)
        self.move("eng.emma", Stage.POSTMORTEM)
        tasks = self.stack.settle(
            lambda: self.tasks() if (f := self.facts()) and f.postmortem and f.postmortem.key else [],
            timeout=15,
        )
        number = tasks[0].get("number") if tasks else None
        self.expect(
            f"{key} is implemented and its post-mortem task {number or '(none)'} created (R7)", bool(tasks)
        )
        return key

    def alerts_in_tool(self, key: str) -> list[ToolAlert]:
        """The e-mails ServiceNow sent for the connector's events on the change (the installed
        notification of each alert kind, its subject filled in with the change's number)."""
        subjects = {
            kind.value: text.replace("${number}", key)
            for kind, (text, _) in ALERT_TEXT.items()
            if kind.value in ("reminder", "breach", "escalation")
        }
        change = self.stack.sandbox.records(self.section.table, number=key)
        sys_id = change[0]["sys_id"] if change else ""
        found = []
        for mail in self.stack.sandbox.records("sys_email", instance=sys_id):
            for kind, subject in subjects.items():
                if sys_id and mail.get("subject") == subject:
                    sent = datetime.strptime(mail["sys_created_on"], SN_TIME).replace(tzinfo=UTC)
                    to = tuple(r for r in mail.get("recipients", "").split(",") if r)
                    found.append(ToolAlert(kind, mail["subject"], to, sent))
        return found

    def close_too_early_then_close(self) -> None:
        self.say("Step 5 — review, retroactive documentation and the post-mortem")
        self.move("eng.emma", Stage.POSTMORTEM)
        tasks = self.stack.settle(
            lambda: self.tasks() if (f := self.facts()) and f.postmortem and f.postmortem.key else [],
            timeout=15,
        )
        task = tasks[0] if tasks else {}
        self.result.postmortem_key = task.get("number", "")
        if self.result.postmortem_key:
            self.result.due = self.facts().postmortem.due_at.astimezone(self.ctx.calendar.tz).isoformat()
        emma = self.stack.sandbox.user("eng.emma")["sys_id"]
        self.expect(
            f"one post-mortem task {self.result.postmortem_key or '(none)'} assigned to eng.emma, due "
            f"{task.get('due_date', '-')} (R7)",
            len(tasks) == 1 and task.get("assigned_to") == emma and bool(task.get("due_date")),
        )
        self.comment("eng.emma", "/pr https://git.example.com/acme/checkout/pull/4242")
        self.stack.settle(lambda: self.facts().pr_url)
        closing = {"close_code": "successful", "close_notes": "Pool size raised; errors gone."}
        try:
            self.move("eng.emma", Stage.CLOSED, early=True, **closing)
            refused = ""
        except Rejected as error:  # the installed before rule: a closed change cannot be moved back
            refused = str(error)
            self.say(f"  ServiceNow refuses: {refused}")
        self.expect(
            "closing before the post-mortem was done was refused by ServiceNow (R8)",
            "R8" in refused and self.current_state() == self.state[Stage.POSTMORTEM],
            refused or self.current_state(),
        )
        shown = self.stack.settle(lambda: "post-mortem task done" in self.missing(), timeout=30)
        self.expect(
            f"the change's {MISSING_FIELD} says what Close still needs (R8)", bool(shown), self.missing()
        )
        if task:
            self.person("eng.emma").update(
                self.section.postmortem_task.table,
                task["sys_id"],
                {"state": "3", "close_notes": f"Report: {REPORT_URL}"},
            )
            self.say(f"  eng.emma   closes {task['number']} with the report link")
            done = self.stack.settle(lambda: self.facts().postmortem.done)
            self.expect("the post-mortem is done with its report link", bool(done))
        opened = self.stack.settle(lambda: self.work_notes("Close is now available"), timeout=30)
        self.expect("the connector opened Close in ServiceNow", bool(opened))
        self.move("eng.emma", Stage.CLOSED, **closing)
        self.expect(
            "with the post-mortem done, the PR linked and a close code, the change closed (R8)",
            self.wait_stage(Stage.CLOSED),
        )
