"""At start each process reads what webhooks need from the tool, waiting out its 429s and 5xx."""

from __future__ import annotations

from connector.bootstrap import Connector, warm
from connector.errors import AuthFailed, RateLimited


class Tool:
    def __init__(self, *errors):
        self.errors, self.calls = list(errors), 0

    def warm(self):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)


def connector(tool) -> Connector:
    return Connector(settings=None, database=None, tools={"jira": tool}, clock=None)  # type: ignore[arg-type]


def test_a_rate_limited_tool_is_read_again_after_its_retry_after():
    tool, pauses = Tool(RateLimited("429", retry_after=3), RateLimited("429")), []
    assert warm(connector(tool), sleep=pauses.append)
    assert tool.calls == 3 and pauses == [3, 1.0]


def test_a_tool_that_refuses_the_account_is_left_to_the_first_webhook():
    tool, pauses = Tool(AuthFailed("401")), []
    assert not warm(connector(tool), sleep=pauses.append)
    assert tool.calls == 1 and pauses == []
