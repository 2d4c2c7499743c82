"""`ecm demo`: play one emergency change end to end against the local sandbox, on SQLite."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from pathlib import Path

import click


@click.command()
@click.option(
    "--target",
    type=click.Choice(["jira", "jira-datacenter", "servicenow", "both"]),
    default="jira",
    show_default=True,
    help="jira: Jira Cloud; jira-datacenter: Jira Data Center 9; both: Jira Cloud and ServiceNow.",
)
@click.option("--keep-running", is_flag=True, help="Leave the sandbox and the service up until interrupted.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the demo keeps its SQLite database (default: a new temporary directory).",
)
def demo(target: str, keep_running: bool, data_dir: Path | None) -> None:
    """Start the sandbox and the connector, install the mapping, and play one emergency change from
    identification to close as the seeded people, then a second one whose post-mortem is left open
    while the demo clock moves through its reminders, deadline and escalation; exit 0 only if every
    check held."""
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="ecm-demo-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    say = lambda line: click.echo(line)  # noqa: E731
    say(f"ECM Connector demo — data in {data_dir} (SQLite)")
    targets = ["jira", "servicenow"] if target == "both" else [target]
    stacks, results = [], []
    try:
        for name in targets:
            stack_class, story_class = _parts(name)
            where = data_dir / name if len(targets) > 1 else data_dir
            where.mkdir(exist_ok=True)
            if len(targets) > 1:
                say(f"\n=== {name} ===")
            stack = stack_class(where, progress=say)
            stacks.append(stack)
            stack.start()
            result = story_class(stack, say).demo()
            results.append(result)
            _summary(result, stack, say, keep_running=keep_running)
        if len(results) > 1:
            say("")
            say("All checks held on every target." if all(r.ok for r in results) else "Some checks FAILED.")
        if keep_running:
            for name, stack in zip(targets, stacks, strict=True):
                say(f"{name} sandbox: {_sandbox_url(stack)}")
                say(f"service: {stack.service_url}")
                say(f"dashboard: {stack.service_url}/dashboard")
                say(f"admin token: {stack.admin_token}")  # fresh for this demo unless ECM_ADMIN_TOKEN is set
                say(f"github webhook: {stack.service_url}/webhooks/github")
                if not os.environ.get("ECM_GITHUB_WEBHOOK_SECRET"):  # a secret set by the person is theirs
                    say(f"github webhook secret: {stack.github_secret}")
                say(f"deploy hook: {stack.service_url}/webhooks/deploy")
                if not os.environ.get("ECM_DEPLOY_WEBHOOK_SECRET"):
                    say(f"deploy hook secret: {stack.deploy_secret}")
            say("Log in to the sandbox as any seeded person (password = user name). Ctrl-C stops.")
            with contextlib.suppress(KeyboardInterrupt):
                threading.Event().wait()
    finally:
        for stack in stacks:
            stack.stop()
    sys.exit(0 if results and len(results) == len(targets) and all(r.ok for r in results) else 1)


def _parts(target: str) -> tuple[type, type]:
    """The stack and the story of one target (imported late: each pulls in its sandbox)."""
    if target == "jira-datacenter":
        from connector.demo.datacenter import DataCenterStack, DataCenterStory

        return DataCenterStack, DataCenterStory
    if target == "jira":
        from connector.demo.stack import JiraStack
        from connector.demo.story import JiraStory

        return JiraStack, JiraStory
    from connector.demo.servicenow_stack import ServiceNowStack
    from connector.demo.servicenow_story import ServiceNowStory

    return ServiceNowStack, ServiceNowStory


def _sandbox_url(stack) -> str:
    return getattr(stack.sandbox, "url", None) or stack.sandbox.base_url


def _ecm() -> str:
    """How to run `ecm` from here: the script beside this interpreter (`.venv/bin/ecm`), else from PATH."""
    script = Path(sys.executable).with_name("ecm")
    if not script.exists():
        return "ecm"
    with contextlib.suppress(ValueError):
        return str(script.relative_to(Path.cwd()))
    return str(script)


def _summary(result, stack, say, *, keep_running: bool) -> None:
    say("")
    say(f"Timeline of {result.key} (audit log):")
    for line in result.timeline:
        say(f"  {line}")
    if result.overdue_key:
        say("")
        say(f"Timeline of {result.overdue_key}, its post-mortem left open (audit log):")
        for line in result.overdue_timeline:
            say(f"  {line}")
    say("")
    say(f"Post-mortem: {result.postmortem_key or '(none)'} due {result.due or '-'}")
    held = sum(c.held for c in result.checks)
    say(f"Checks: {held} of {len(result.checks)} held" + ("" if result.ok else " — FAILED:"))
    for check in result.checks:
        if not check.held:
            say(f"  ✘ {check.what} {check.detail}")
    ecm = _ecm()
    if not keep_running:  # both stop when the demo ends; kept running, their addresses follow the checks
        say(f"Where to look: `{ecm} demo --keep-running` leaves the sandbox and the service up")
    env = f"ECM_DATA_DIR={stack.data_dir} ECM_MAPPINGS={stack.mapping_path}"  # the calendar and the key
    say(f"Auditor's view: {env} {ecm} evidence {result.key} --format html; {env} {ecm} audit verify")


COMMANDS = [demo]
