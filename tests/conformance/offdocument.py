"""Endpoints the connector may call that Atlassian's Cloud OpenAPI document does not describe.

Each is listed with why it is not in the document, where it is documented instead, and a small JSON
Schema for the bodies the connector sends there (None: no body expected). A request to a path that
is neither in the document nor here is a mismatch: an endpoint nobody has looked up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_JQL_FILTER = {"type": "object", "properties": {"issue-related-events-section": {"type": "string"}}}
_EVENTS = {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}

# Admin webhooks: Cloud and Data Center alike, "Webhooks created in Jira Administration or registered
# by /rest/webhooks/1.0/webhook are called admin webhooks"
# (https://developer.atlassian.com/cloud/jira/platform/webhooks/,
#  https://developer.atlassian.com/server/jira/platform/webhooks/). The v3 `/rest/api/3/webhook` in the
# document is for Connect and OAuth 2.0 apps only.
ADMIN_WEBHOOK = {
    "type": "object",
    "required": ["name", "url", "events"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "url": {"type": "string", "pattern": "^https?://"},
        "events": _EVENTS,
        "filters": _JQL_FILTER,
        "excludeBody": {"type": "boolean"},
        "enabled": {"type": "boolean"},
        "secret": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
    },
}

# Jira Data Center 10's webhook REST API (jira.js `server.createWebhook`, src/server/api/webhooks.ts:
# name and url required; events, filters, excludeBody, configuration, sslVerificationRequired).
DATACENTER_WEBHOOK = {
    "type": "object",
    "required": ["name", "url"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "url": {"type": "string", "pattern": "^https?://"},
        "events": _EVENTS,
        "filters": _JQL_FILTER,
        "excludeBody": {"type": "boolean"},
        "active": {"type": "boolean"},
        "configuration": {"type": "object"},
        "sslVerificationRequired": {"type": "boolean"},
        "secret": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
    },
}


@dataclass(frozen=True)
class OffDocument:
    name: str
    path: re.Pattern[str]
    methods: dict[str, dict[str, Any] | None]  # method -> schema of the body sent (None: no body)
    why: str
    connector_may_call: bool = True
    datacenter_only: bool = False  # a Data Center resource under /rest/api/2 that Cloud does not serve


ENDPOINTS: tuple[OffDocument, ...] = (
    OffDocument(
        "admin webhooks",
        re.compile(r"/rest/webhooks/1\.0/webhook"),
        {"GET": None, "POST": ADMIN_WEBHOOK},
        "Jira's admin webhook API, documented on the webhooks page, not in the platform REST document",
    ),
    OffDocument(
        "admin webhook",
        re.compile(r"/rest/webhooks/1\.0/webhook/\d+"),
        {"GET": None, "PUT": ADMIN_WEBHOOK, "DELETE": None},
        "Jira's admin webhook API, documented on the webhooks page, not in the platform REST document",
    ),
    OffDocument(
        "Data Center webhooks",
        re.compile(r"/rest/jira-webhook/1\.0/webhooks"),
        {"GET": None, "POST": DATACENTER_WEBHOOK},
        "Jira Data Center 10's webhook API; Data Center only, so absent from the Cloud document",
    ),
    OffDocument(
        "Data Center webhook",
        re.compile(r"/rest/jira-webhook/1\.0/webhooks/\d+"),
        {"GET": None, "PUT": DATACENTER_WEBHOOK, "DELETE": None},
        "Jira Data Center 10's webhook API; Data Center only, so absent from the Cloud document",
    ),
    OffDocument(
        "Data Center custom field options",
        re.compile(r"/rest/api/2/customFields/\d+/options"),
        {"GET": None},
        "Jira Data Center's read of a field's options from 9.3 on (numeric id; "
        "https://docs.atlassian.com/software/jira/docs/api/REST/9.12.0/#api/2/customFields); Cloud has no "
        "such resource",
        datacenter_only=True,
    ),
    OffDocument(
        "sandbox control",
        re.compile(r"/_sandbox/.*"),
        {"GET": None, "POST": {"type": "object"}, "PUT": {"type": "object"}, "DELETE": None},
        "the sandbox's own control API (faults, state, mail); tests use it, real Jira has no such path",
        connector_may_call=False,
    ),
)


def find(path: str) -> OffDocument | None:
    return next((e for e in ENDPOINTS if e.path.fullmatch(path)), None)
