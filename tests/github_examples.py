"""GitHub's own published webhook examples and schemas (`@octokit/webhooks-examples`,
`@octokit/webhooks-schemas`, pinned in tests/fixtures/github/package-lock.json and installed by
`make tools` / `make test` with `npm ci`), and signed deliveries built from them.

    body = deployment_status(state="success", environment="production", payload={"change": "EMG-1"})
    headers = github_headers("deployment_status", body)

Every body a test sends is validated against GitHub's schema of its event first.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import hmac
import json
import uuid
from pathlib import Path
from typing import Any

import jsonschema

PACKAGES = Path(__file__).parent / "fixtures" / "github" / "node_modules" / "@octokit"
GITHUB_SECRET = "github-webhook-secret-for-tests"
DEPLOY_EVENTS = ("deployment", "deployment_status", "deployment_protection_rule")


def _read(path: Path) -> Any:
    if not path.exists():
        raise RuntimeError(f"{path} is missing: run `make tools` (npm ci in tests/fixtures/github)")
    return json.loads(path.read_text())


@functools.cache
def schema() -> dict[str, Any]:
    return _read(PACKAGES / "webhooks-schemas" / "schema.json")


@functools.cache
def examples() -> dict[str, list[dict[str, Any]]]:
    """Event name -> its examples, from github.com and each GitHub Enterprise Server version."""
    found: dict[str, list[dict[str, Any]]] = {}
    for index in sorted((PACKAGES / "webhooks-examples").glob("*/index.json")):
        for event in _read(index):
            found.setdefault(event["name"], []).extend(event["examples"])
    return found


def example_ids() -> list[tuple[str, int]]:
    """(event, index) of every example of the deployment events, for parametrised tests. Without the
    packages one entry is given, whose test then fails saying how to install them (collection goes on)."""
    if not PACKAGES.exists():
        return [("deployment", 0)]
    return [(name, i) for name in DEPLOY_EVENTS for i in range(len(examples().get(name, [])))]


def _validator(event: str) -> jsonschema.Draft7Validator:
    """GitHub's schema of `event`: `<event>_event` for events with actions, `<event>$event` without."""
    definitions = schema()["definitions"]
    name = f"{event}_event" if f"{event}_event" in definitions else f"{event}$event"
    return jsonschema.Draft7Validator({"$ref": f"#/definitions/{name}", **schema()})


def validate(event: str, body: dict[str, Any]) -> None:
    """Raise if `body` is not what GitHub's schema says a `event` delivery is."""
    errors = list(_validator(event).iter_errors(body))
    if errors:
        worst = jsonschema.exceptions.best_match(errors)
        where = "/".join(str(p) for p in worst.absolute_path)
        raise AssertionError(f"{event} body does not fit GitHub's schema at {where}: {worst.message[:300]}")


def example(event: str) -> bytes:
    """The first published example of `event` that its schema accepts, as GitHub would post it."""
    return json.dumps(_valid_example(event)).encode()


@functools.cache
def _valid_example(event: str) -> dict[str, Any]:
    """The first published example of `event` that the published schema accepts (older examples, such as
    GitHub Enterprise Server's, lack fields the schema now requires)."""
    return next(e for e in examples()[event] if _validator(event).is_valid(e))


def deployment_status(
    *,
    state: str = "success",
    environment: str = "production",
    deployment_id: int = 145988746,
    created_at: str = "2026-12-01T19:00:00Z",
    payload: Any = None,
    description: str | None = None,
    ref: str = "main",
    login: str = "eng-emma",
    commit_title: str | None = None,
) -> bytes:
    """`commit_title`: the deployment was made by the workflow run of a push, titled by its commit."""
    body = copy.deepcopy(_valid_example("deployment_status"))
    status, deployment = body["deployment_status"], body["deployment"]
    status.update(state=state, environment=environment, created_at=created_at, updated_at=created_at)
    deployment.update(id=deployment_id, environment=environment, ref=ref, description=description)
    deployment["payload"] = payload if payload is not None else {}
    deployment["creator"]["login"] = login
    base = f"https://api.github.com/repos/{body['repository']['full_name']}/deployments/{deployment_id}"
    deployment.update(url=base, statuses_url=f"{base}/statuses")
    status.update(url=f"{base}/statuses/1", deployment_url=base)
    if commit_title is not None:  # the one published example with a workflow run lends its run
        run = copy.deepcopy(
            next(e["workflow_run"] for e in examples()["deployment_status"] if e.get("workflow_run"))
        )
        run.update(head_sha=deployment["sha"], display_title=commit_title, event="push")
        body["workflow_run"] = run
    validate("deployment_status", body)
    return json.dumps(body).encode()


def deployment(
    *, environment: str = "production", deployment_id: int = 145988746, payload: Any = None
) -> bytes:
    body = copy.deepcopy(_valid_example("deployment"))
    body["deployment"].update(id=deployment_id, environment=environment, payload=payload or {})
    validate("deployment", body)
    return json.dumps(body).encode()


def protection_rule(
    *,
    environment: str = "production",
    deployment_id: int = 145988746,
    payload: Any = None,
    callback: str = "https://api.github.com/repos/Codertocat/Hello-World/actions/runs/1/deployment_protection_rule",
    installation_id: int = 2311213,
) -> bytes:
    """GitHub's examples have no `deployment_protection_rule` delivery; this one is built from the parts of
    its schema (`deployment_protection_rule$requested`) that the other examples show, and checked by it."""
    source = copy.deepcopy(_valid_example("deployment"))
    source["deployment"].update(id=deployment_id, environment=environment, payload=payload or {})
    body = {
        "action": "requested",
        "environment": environment,
        "event": "workflow_dispatch",
        "deployment_callback_url": callback,
        "deployment": source["deployment"],
        "repository": source["repository"],
        "sender": source["sender"],
        "installation": {
            "id": installation_id,
            "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMjMxMTIxMw==",
        },
    }
    validate("deployment_protection_rule", body)
    return json.dumps(body).encode()


def github_headers(event: str, body: bytes, delivery: str | None = None, secret: str = GITHUB_SECRET) -> dict:
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": signature,
        "Content-Type": "application/json",
    }
