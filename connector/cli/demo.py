"""`ecm demo`: play one emergency change end to end against the local sandbox, on SQLite."""

from __future__ import annotations

import contextlib
import sys
import tempfile
import threading
from pathlib import Path

import click


@click.command()
@click.option(
    "--target", type=click.Choice(["jira", "servicenow", "both"]), default="jira", show_default=True
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
    identification to close as the seeded people; exit 0 only if every check held."""
    from connector.demo.stack import JiraStack
    from connector.demo.story import JiraStory

    if target != "jira":
        raise click.UsageError(f"'ecm demo --target {target}' is not available yet in this version.")
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="ecm-demo-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    say = lambda line: click.echo(line)  # noqa: E731
    say(f"ECM Connector demo — data in {data_dir} (SQLite)")
    stack = JiraStack(data_dir, progress=say)
    try:
        stack.start()
        result = JiraStory(stack, say).play()
        _summary(result, stack, say)
        if keep_running:
            say(f"jira sandbox: {stack.sandbox.url}")
            say(f"service: {stack.service_url}")
            say("Log in to the sandbox as any seeded person (password = user name). Ctrl-C stops.")
            with contextlib.suppress(KeyboardInterrupt):
                threading.Event().wait()
    finally:
        stack.stop()
    sys.exit(0 if result.ok else 1)


def _summary(result, stack, say) -> None:
    say("")
    say(f"Timeline of {result.key} (audit log):")
    for line in result.timeline:
        say(f"  {line}")
    say("")
    say(f"Post-mortem: {result.postmortem_key or '(none)'} due {result.due or '-'}")
    held = sum(c.held for c in result.checks)
    say(f"Checks: {held} of {len(result.checks)} held" + ("" if result.ok else " — FAILED:"))
    for check in result.checks:
        if not check.held:
            say(f"  ✘ {check.what} {check.detail}")
    say(
        f"Where to look: evidence with `ecm evidence {result.key}`, the sandbox at {stack.sandbox.url}, "
        f"the service at {stack.service_url}/metrics"
    )


COMMANDS = [demo]
