"""One webhook's trip, as docs/ARCHITECTURE.md lists it, is the trip the code takes.

A step taken too early in the Jira sandbox (Approve with only the lead's approval) is answered by a
revert. The connector's files on the call stack are read where the trip changes hands: in the view as it
hands the delivery to the intake, in the batch's writer (a request thread) as the revert is queued (a
row of the store's outbox), and in the dispatcher as the revert's transition is sent to Jira. Their
sequence must be the page's list, in its order.
"""

from __future__ import annotations

import re
import threading
import traceback
from pathlib import Path

import pytest

from connector.demo.stack import JiraStack
from connector.demo.story import JiraStory
from connector.jira.gateway import JiraGateway
from connector.outbox import Revert
from connector.procedure.model import Stage
from connector.services.deliveries import Intake
from connector.store.repositories import OutboxRepository

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
PAGE = ROOT / "docs" / "ARCHITECTURE.md"
NOT_HOPS = {
    "connector/demo/stack.py": "runs the web server's and the dispatcher's threads in the demo",
}


def documented_trip() -> list[str]:
    """The files that start the lines of the page's block "One webhook, from the view to the gateway call"."""
    section = PAGE.read_text().split("## One webhook, from the view to the gateway call", 1)[1]
    block = section.split("```", 2)[1]
    return re.findall(r"^(connector/\S+\.py)", block, re.MULTILINE)


def connector_files(stack: traceback.StackSummary) -> list[str]:
    """The connector's files on the stack, outermost first, each once (a file calling itself is one hop)."""
    files: list[str] = []
    for frame in stack:
        path = Path(frame.filename).resolve()
        if ROOT / "connector" in path.parents:
            name = str(path.relative_to(ROOT))
            if name not in NOT_HOPS and (not files or files[-1] != name):
                files.append(name)
    return files


def from_the_intake(files: list[str]) -> list[str]:
    """A batch is written by a request thread (itself delivering one): its stack from the deliveries on."""
    return files[files.index("connector/services/deliveries.py") :]


@pytest.fixture
def stack(tmp_path):
    with JiraStack(tmp_path) as running:
        yield running


def test_the_webhook_trip_on_the_architecture_page_is_the_one_the_code_takes(stack, monkeypatch):
    seen: dict[str, list[str]] = {}
    lock = threading.Lock()

    def watch(name, owner, attribute, when=lambda *a, **k: True):
        original = getattr(owner, attribute)

        def watched(*args, **kwargs):
            if when(*args, **kwargs):
                with lock:
                    seen.setdefault(name, connector_files(traceback.extract_stack()[:-1]))
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, attribute, watched)

    watch("received", Intake, "receive")
    watch(
        "queued",
        OutboxRepository,
        "enqueue",
        when=lambda _outbox, _tool, _row, action, *_a, **_k: isinstance(action, Revert),
    )
    watch("sent", JiraGateway, "transition", when=lambda *_a, comment=None, **_k: bool(comment))

    story = JiraStory(stack, say=lambda _line: None)
    section = story.section
    fields = {story.field_ids["category"]: {"value": "Service outage"}, story.field_ids["impact"]: "EU down."}
    key = story.person("eng.emma").create_issue(
        section.project, section.issue_types.change, "Checkout down", "", fields=fields
    )
    story.move("eng.emma", key, section.statuses.awaiting_approval)
    assert story.wait_stage(key, Stage.AWAITING_APPROVAL)
    seen.clear()
    story.move("lead.liam", key, section.statuses.approved)  # no security approval yet: R2
    assert story.stack.settle(lambda: story.status(key) == section.statuses.awaiting_approval)

    trip = [
        *seen["received"],
        *from_the_intake(seen["queued"]),  # written by a request thread: its view is the first hop above
        *seen["sent"],
        "connector/jira/gateway.py",  # the transition itself
    ]
    assert documented_trip() == trip
