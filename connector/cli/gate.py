"""`ecm gate KEY --to STAGE`: may the change enter STAGE now? What a pipeline asks before it deploys.

Exit codes: 0 allowed, 1 not allowed (the violations are printed), 2 the question could not be answered:
an unknown stage, a change the connector has not recorded (a typo or the wrong tool is not a "no" about a
real change), a configuration problem, or with --url a service that refuses the token or cannot be
reached. A pipeline stops on anything but 0.

Without --url the answer comes from the connector's database and mappings (ECM_DATABASE_URL,
ECM_MAPPINGS), as `ecm evidence` does; with --url it asks a running service's
`/api/changes/{key}/gate` with ECM_GATE_TOKEN (or ECM_ADMIN_TOKEN).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import click

from connector.cli.db import open_database
from connector.cli.evidence import _rulebook
from connector.evidence.gate import STAGE_NAMES, gate
from connector.store.evidence import ChangeNotFound

TIMEOUT_SECONDS = 10.0


@click.command("gate")
@click.argument("key")
@click.option("--to", "to", required=True, type=click.Choice(STAGE_NAMES), help="The stage to enter.")
@click.option("--tool", default=None, help="The tool of KEY when two tools use the same key.")
@click.option("--url", default=None, help="Ask this running service instead of the database.")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
def gate_command(key: str, to: str, tool: str | None, url: str | None, as_json: bool) -> None:
    """May change KEY enter --to (approved, deployed, closed) now? Exit 0 yes, 1 no, 2 unanswerable."""
    answer = _ask_service(url, key, to, tool) if url else _ask_database(key, to, tool)
    click.echo(json.dumps(answer, indent=2) if as_json else _readable(answer))
    raise SystemExit(0 if answer["allowed"] else 1)


def _ask_database(key: str, to: str, tool: str | None) -> dict[str, Any]:
    rulebook, database = _rulebook(), open_database(require_current=True)
    try:
        with database.session() as session:
            return gate(session, key, to, rulebook, tool)
    except ChangeNotFound as exc:
        _unanswered(f"unknown change: {exc}")
    finally:
        database.dispose()


def _ask_service(url: str, key: str, to: str, tool: str | None) -> dict[str, Any]:
    token = os.environ.get("ECM_GATE_TOKEN") or os.environ.get("ECM_ADMIN_TOKEN")
    if not token:
        _unanswered("configuration error: set ECM_GATE_TOKEN (or ECM_ADMIN_TOKEN) to ask a service")
    if not url.startswith(("http://", "https://")):
        _unanswered(f"--url: {url!r} must start with http:// or https://")
    query = urllib.parse.urlencode({"to": to, **({"tool": tool} if tool else {})})
    target = f"{url.rstrip('/')}/api/changes/{urllib.parse.quote(key, safe='')}/gate?{query}"
    request = urllib.request.Request(target, headers={"Authorization": f"Bearer {token}"})  # noqa: S310 - http(s)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - http(s) only
            return json.load(response)
    except urllib.error.HTTPError as exc:
        detail = _detail(exc)
        what = "unknown change" if exc.code == 404 else f"the service answered {exc.code}"
        _unanswered(f"{what}: {detail}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        _unanswered(f"cannot ask {url}: {getattr(exc, 'reason', exc)}")


def _detail(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.load(exc).get("detail", ""))
    except (ValueError, AttributeError):
        return exc.reason or ""


def _unanswered(message: str) -> None:
    click.echo(message, err=True)
    raise SystemExit(2)


def _readable(answer: dict[str, Any]) -> str:
    now = answer["stage"].replace("_", " ")
    if answer["allowed"]:
        return f"{answer['key']}: {answer['to']} is allowed (the change is {now})."
    lines = [f"{answer['key']}: {answer['to']} is NOT allowed (the change is {now})."]
    for v in answer["violations"]:
        lines.append(f"  {v['rule']} (ENG-PROC-004 step {v['step']}): {v['message']}")
        lines.extend(f"    missing: {item}" for item in v["missing"])
    return "\n".join(lines)


COMMANDS = [gate_command]
