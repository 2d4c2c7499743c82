"""A dispatcher process that dies (`os._exit(1)`, no cleanup, no commit) right after a chosen remote
call of a chosen action returned. Configured like `ecm jobs` (ECM_* variables) plus:

    ECM_TEST_CRASH_AFTER=perform   die when `create_postmortem` returned (issue created and linked)
    ECM_TEST_CRASH_AFTER=create    die when the Post-Mortem issue was created, before it is linked
"""

from __future__ import annotations

import os
from typing import Any

from connector.bootstrap import bootstrap, system_clock
from connector.config import load_settings
from connector.dispatch import Dispatcher
from connector.outbox import CreatePostMortem


def die_after(target: Any, name: str, when: Any = lambda *_args: True) -> None:
    real = getattr(target, name)

    def call(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        if when(*args):
            os._exit(1)
        return result

    setattr(target, name, call)


def main() -> None:
    connector = bootstrap(load_settings(dict(os.environ)), clock=system_clock)
    actions = connector.tools["jira"].actions
    if os.environ["ECM_TEST_CRASH_AFTER"] == "perform":
        die_after(actions, "perform", lambda action, *_rest: isinstance(action, CreatePostMortem))
    else:
        die_after(actions.gateway, "create_issue")
    Dispatcher(connector, clock=connector.clock).run(limit=100)


if __name__ == "__main__":
    main()
