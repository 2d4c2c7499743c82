"""One running Jira Cloud stack (sandbox, service, dispatcher) per test module, and the demo's story on it;
a module that needs another set-up (a database of its own, options) defines its own `stack`."""

from __future__ import annotations

import pytest

from connector.demo.stack import JiraStack
from connector.demo.story import JiraStory


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    with JiraStack(tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])) as running:
        yield running


@pytest.fixture
def story(stack: JiraStack) -> JiraStory:
    return JiraStory(stack, say=lambda _line: None)
