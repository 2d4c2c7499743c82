"""One emergency change from identification to close, played in ServiceNow as the seeded people.

Each step acts through the Table API as a real person would (the connector's own gateway,
authenticated as that person), then waits for the connector to react and checks what a person
would see. Two steps break the procedure on purpose: an Implement before the reviews, which the state
model does not let anyone move back (the connector says so in a work note, alerts, and the
reconciliation re-judges it once the reviews are in), and a Close before the post-mortem, which the
installed before rule refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connector.demo.story import Story, StoryResult
from connector.errors import Rejected
from connector.procedure.model import Method, Role, Stage
from connector.servicenow.gateway import ServiceNowGateway

REPORT_URL = "https://wiki.example.com/postmortems/checkout-eu"


class ServiceNowStory(Story):
    tool = "servicenow"

    def __init__(self, stack: Any, say: Callable[[str], None] = print) -> None:
        super().__init__(stack, say)
        self.url = stack.sandbox.base_url
        self.section = stack.connector.tools["servicenow"].mapping.servicenow
        self.state = {stage: value for value, stage in self.section.states.items()}
        self._people: dict[str, ServiceNowGateway] = {}
        self.sys_id = ""

    # --- acting as people ------------------------------------------------------------------------

    def person(self, name: str) -> ServiceNowGateway:
        if name not in self._people:
            self._people[name] = ServiceNowGateway(self.url, user=name, password=name)
        return self._people[name]

    def move(self, who: str, stage: Stage, **fields: str) -> None:
        self.person(who).update_change(self.sys_id, {"state": self.state[stage], **fields})
        self.say(f"  {who:10} sets {self.result.key} to state {self.state[stage]} ({stage.value})")

    def comment(self, who: str, text: str) -> None:
        self.person(who).add_comment(self.sys_id, text)
        self.say(f"  {who:10} comments on {self.result.key}: {text}")

    def decide(self, who: str, decision: str) -> None:
        gateway = self.person(who)

        def requested() -> list[
            Any
        ]:  # the connector asks the approver groups once the change is in Authorize
            return [a for a in gateway.approvals(self.sys_id) if a.approver == who and a.state == "requested"]

        mine = self.stack.settle(requested, timeout=30) or []
        if not mine:
            raise RuntimeError(f"{who} has no requested approval on {self.result.key}")
        gateway.update("sysapproval_approver", mine[0].sys_id, {"state": decision})
        self.say(f"  {who:10} {decision} the {mine[0].group} approval")

    # --- what the connector and the instance know ------------------------------------------------

    def facts(self) -> Any:
        return self.stored(self.result.key)

    def wait_stage(self, stage: Stage) -> bool:
        return bool(self.stack.settle(lambda: (f := self.facts()) is not None and f.stage is stage))

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

    def play(self) -> StoryResult:
        self.raise_change()
        self.approve()
        self.deploy_too_early()
        self.review_and_deploy()
        self.close_too_early_then_close()
        self.expect_audit_chain_intact()
        return self.result

    def raise_change(self) -> None:
        self.say("Step 1 — eng.emma raises an emergency change")
        emma = self.person("eng.emma")
        created = emma.create(
            self.section.table,
            {
                "type": self.section.type,
                "short_description": "Checkout API returns 500 in EU",
                "description": "Database connection pool exhausted after the 09:00 release.",
                "category": "Service outage",
                "justification": "Checkout fails for every EU customer since 09:12 UTC.",
                "requested_by": emma.user_sys_id("eng.emma"),
            },
        )
        self.sys_id, self.result.key = created.sys_id, created.get("number")
        key = self.result.key
        self.say(f"  eng.emma   creates {key}")
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
        self.move("eng.emma", Stage.APPROVED)
        self.expect("the change is approved (Scheduled)", self.wait_stage(Stage.APPROVED))

    def deploy_too_early(self) -> None:
        self.say("Step 3 — eng.emma starts implementing before anyone reviewed the change")
        self.move("eng.emma", Stage.DEPLOYED)
        noted = self.stack.settle(lambda: self.work_notes("R5", "could not move it back"), timeout=15)
        implement = self.state[Stage.DEPLOYED]
        self.expect(
            "the early Implement stays (ServiceNow's state model refuses Implement → Scheduled to every "
            "account) and the work note says so, naming R5 and the missing reviews (R9)",
            bool(noted) and self.current_state() == implement,
            self.current_state(),
        )
        alerted = self.stack.settle(lambda: self.mails("procedure violation"))
        self.expect("Engineering Leads and Security were alerted of the violation (R9)", bool(alerted))

    def review_and_deploy(self) -> None:
        self.say("Step 3 — peer and security review; Step 4 — implement")
        self.comment("peer.pete", "/peer-reviewed")
        self.comment("sec.sara", "/security-reviewed")
        reviewed = self.stack.settle(lambda: len(self.facts().reviews) == 2)
        self.expect("peer and security reviews recorded (R5)", reviewed)
        if self.current_state() == self.state[Stage.DEPLOYED]:  # the early Implement stood
            from connector.reconcile import reconcile

            reconcile(self.stack.connector, "servicenow")
            self.say("  the reconciliation job re-judges the change in Implement, now with both reviews")
        else:
            self.move("eng.emma", Stage.DEPLOYED)
        deployed = self.wait_stage(Stage.DEPLOYED) and self.facts().deployed_at is not None
        self.expect("the change is implemented and its deploy time recorded (R6)", deployed)

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
            self.move("eng.emma", Stage.CLOSED, **closing)
            refused = ""
        except Rejected as error:  # the installed before rule: a closed change cannot be moved back
            refused = str(error)
            self.say(f"  ServiceNow refuses: {refused}")
        self.expect(
            "closing before the post-mortem was done was refused by ServiceNow (R8)",
            "R8" in refused and self.current_state() == self.state[Stage.POSTMORTEM],
            refused or self.current_state(),
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
        self.move("eng.emma", Stage.CLOSED, **closing)
        self.expect(
            "with the post-mortem done, the PR linked and a close code, the change closed (R8)",
            self.wait_stage(Stage.CLOSED),
        )
