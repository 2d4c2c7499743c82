"""`set_gate` against a fake gateway: the note goes with the gate's loop transition (one request), the
loop of a status is listed once per project, a retry that finds the field written writes nothing twice,
and a remembered loop that Jira refuses is listed again."""

from __future__ import annotations

from pathlib import Path

from connector.errors import Rejected
from connector.jira.actions import GATE_PREFIX, JiraActions, reference
from connector.jira.gateway import JiraComment, JiraIssue, Transition
from connector.mapping import load_mapping
from connector.outbox import SetGate, Target

MAPPING = load_mapping(Path(__file__).parents[3] / "mappings" / "jira-cloud.yaml")
GATE = "customfield_10100"
NOTE = "The change may now leave approval: both approvals are recorded (ENG-PROC-004 step 2)."


class FakeJira:
    """One loop transition per status, as the connector's workflow has (connector/jira/workflow.py);
    Jira answers 400 to a transition the issue's status does not offer."""

    def __init__(self) -> None:
        self.status = {"EMG-1": "Awaiting Approval", "EMG-2": "Awaiting Approval"}
        self.gate: dict[str, str] = {}
        self.comments_of: dict[str, list[str]] = {"EMG-1": [], "EMG-2": []}
        self.loops = {"Awaiting Approval": "41", "Approved": "42"}
        self.calls: list[str] = []

    def get_issue(self, key: str, fields: list[str]) -> JiraIssue:
        self.calls.append("get")
        return JiraIssue(
            key, "1", "Emergency Change", self.status[key], None, None, "", (), {GATE: self.gate.get(key)}
        )

    def transitions(self, key: str) -> tuple[Transition, ...]:
        self.calls.append("transitions")
        loop = self.loops[self.status[key]]
        return (
            Transition("11", "Approve", "Approved"),
            Transition(loop, GATE_PREFIX + "set", self.status[key]),
        )

    def transition(self, key: str, transition_id: str, *, fields=None, comment=None) -> None:
        self.calls.append("transition")
        if transition_id != self.loops[self.status[key]]:
            raise Rejected(f"Transition id '{transition_id}' is not valid for this issue.")
        self.gate[key] = fields[GATE]
        if comment:
            self.comments_of[key].append(comment)

    def comments(self, key: str) -> tuple[JiraComment, ...]:
        self.calls.append("read")
        return tuple(JiraComment(str(i), "ecm-bot", b, "") for i, b in enumerate(self.comments_of[key]))

    def add_comment(self, key: str, body: str) -> str:
        self.calls.append("add")
        self.comments_of[key].append(body)
        return str(len(self.comments_of[key]))


def actions(jira: FakeJira) -> JiraActions:
    return JiraActions(jira, MAPPING.jira, {"gate": GATE})  # type: ignore[arg-type]


def test_the_note_goes_with_the_gate_write_in_one_request():
    jira = FakeJira()
    result = actions(jira).perform(SetGate("gate", ("approved",), NOTE), Target("EMG-1", "1"), "a")
    assert jira.calls == ["get", "transitions", "transition"]
    assert jira.gate["EMG-1"] == "approved"
    (comment,) = jira.comments_of["EMG-1"]
    assert comment.startswith(NOTE) and reference("a") in comment
    assert result["gate"] == "approved"


def test_the_loop_of_a_status_is_listed_once_for_the_project():
    jira = FakeJira()
    performer = actions(jira)
    performer.perform(SetGate("gate", ("approved",), ""), Target("EMG-1", "1"), "a")
    jira.calls.clear()
    performer.perform(SetGate("gate", ("approved",), ""), Target("EMG-2", "2"), "b")
    assert jira.calls == ["get", "transition"]
    assert jira.gate["EMG-2"] == "approved"


def test_a_retry_finding_the_gate_written_writes_neither_it_nor_the_note_again():
    jira = FakeJira()
    action = SetGate("gate", ("approved",), NOTE)
    actions(jira).perform(action, Target("EMG-1", "1"), "a")
    jira.calls.clear()
    actions(jira).perform(action, Target("EMG-1", "1"), "a")  # another process, after a lost answer
    assert jira.calls == ["get", "read"]
    assert len(jira.comments_of["EMG-1"]) == 1


def test_a_gate_already_showing_the_value_still_gets_its_note_once():
    jira = FakeJira()
    jira.gate["EMG-1"] = "approved"
    actions(jira).perform(SetGate("gate", ("approved",), NOTE), Target("EMG-1", "1"), "a")
    assert jira.calls == ["get", "read", "add"]
    assert jira.comments_of["EMG-1"][0].startswith(NOTE)


def test_a_remembered_loop_that_jira_refuses_is_listed_again():
    jira = FakeJira()
    performer = actions(jira)
    performer.perform(SetGate("gate", ("approved",), ""), Target("EMG-1", "1"), "a")
    jira.loops["Awaiting Approval"] = "51"  # the workflow was published again with new ids
    jira.calls.clear()
    performer.perform(SetGate("gate", ("approved", "deployed"), ""), Target("EMG-1", "1"), "b")
    assert jira.calls == ["get", "transition", "get", "transitions", "transition"]
    assert jira.gate["EMG-1"] == "approved,deployed"
