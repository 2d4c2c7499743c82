"""Parse the generic deploy hook, `POST /webhooks/deploy`, into a typed event. No I/O.

Any pipeline (Argo CD, GitLab, Jenkins, a script) reports a deploy with a small JSON body, signed as the
ServiceNow notifications are (`X-ECM-Signature: <Base64 HMAC-SHA256 of the raw body>`, docs/PIPELINES.md):

    {"service": "payments-api", "environment": "production", "version": "1.4.2" | "sha": "9f1c...",
     "change_key": "EMG-12" (if known), "deployed_at": "2026-12-01T15:04:05Z",
     "deployer": "eng.emma" (optional), "url": "https://argo.example.com/..." (optional),
     "deploy_id": "..." (optional: the pipeline's own id of this deploy)}

The same deploy reported twice is one deploy: without a `deploy_id`, it is named by its service,
environment, version or sha and time. A body that does not fit is refused (400) with what is wrong.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationError,
    field_validator,
    model_validator,
)

from connector.errors import MalformedBody
from connector.inbound.events import Delivery, DeployReported
from connector.inbound.reader import load_object

SOURCE = "pipeline"
Text = Annotated[str, Field(min_length=1, max_length=200)]


class DeployHook(BaseModel):
    """The body of `POST /webhooks/deploy`."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    service: Text
    environment: Text
    version: Text | None = None
    sha: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{7,64}$")] | None = None
    change_key: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    deployed_at: AwareDatetime
    deployer: Text | None = None
    url: HttpUrl | None = None
    deploy_id: Text | None = None

    @field_validator("version", "sha", "change_key", "deployer", "url", "deploy_id", mode="before")
    @classmethod
    def _blank_is_absent(cls, value: object) -> object:
        """A template that had nothing to say renders an empty string (an Application without the change
        annotation): the field is absent."""
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _what_was_deployed(self) -> DeployHook:
        if self.version is None and self.sha is None:
            raise ValueError("give the version or the sha that was deployed")
        return self

    def identity(self) -> str:
        """The deploy's id: the pipeline's own, else its service, environment, version or sha, and time."""
        if self.deploy_id:
            return f"{self.service}#{self.deploy_id}"
        what = self.sha or self.version
        return f"{self.service}@{self.environment}:{what}:{self.deployed_at.isoformat()}"


def parse_deploy_hook(
    headers: Mapping[str, str], body: bytes, *, received_at: datetime
) -> tuple[Delivery, DeployReported]:
    load_object(body)  # the same size, depth and JSON checks as every webhook body
    try:
        hook = DeployHook.model_validate_json(body)
    except ValidationError as e:
        raise MalformedBody("; ".join(_describe(error) for error in e.errors(include_url=False))) from None
    deploy_id = hook.identity()
    delivery = Delivery(
        source=SOURCE,
        delivery_id="sha256:" + hashlib.sha256(body).hexdigest(),
        event_type="deploy",
        issue_key=hook.change_key,
        received_at=received_at,
        body=body,
    )
    event = DeployReported(
        source=SOURCE,
        deploy_id=deploy_id,
        state="success",  # the hook reports deploys done
        environment=hook.environment,
        at=hook.deployed_at,
        repository=hook.service,
        sha=hook.sha,
        version=hook.version,
        deployer=hook.deployer,
        url=str(hook.url) if hook.url else None,
        texts=(("change_key", hook.change_key),) if hook.change_key else (),
    )
    return delivery, event


def _describe(error: dict) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "body"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    return f"{where}: {message}"


__all__ = ["DeployHook", "parse_deploy_hook"]
