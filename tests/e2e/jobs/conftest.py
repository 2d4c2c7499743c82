"""A Jira sandbox with the connector's web service and dispatcher (`JiraStack`), with faults."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connector.demo.stack import JiraStack
from connector.demo.story import JiraStory
from sandbox.jira.faults import Faults


@pytest.fixture
def stack_with(tmp_path) -> Callable[..., JiraStack]:
    started: list[JiraStack] = []

    def start(faults: dict | None = None, database_url: str | None = None) -> JiraStack:
        options = {"faults": Faults.from_dict(faults or {})}
        stack = JiraStack(tmp_path, database_url=database_url, sandbox_options=options)
        started.append(stack.start())
        return stack

    yield start
    for stack in started:
        stack.stop()


def people(stack: JiraStack) -> JiraStory:
    return JiraStory(stack, say=lambda _line: None)
