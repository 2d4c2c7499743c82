"""The OpenAPI 3 document of the admin API, served at /api/openapi.json.

A test keeps it in step with the code: every /api route of the app is here and every path here is a
route, and real responses validate against the schemas (openapi-core).
"""

from __future__ import annotations

import re
from typing import Any

from connector import __version__
from connector.evidence.listing import MAX_ID
from connector.procedure.model import Stage

NULLABLE_STRING = {"type": "string", "nullable": True}
DATE_PARAMS = [
    {
        "name": "from",
        "in": "query",
        "schema": {"type": "string", "format": "date"},
        "description": "First day (UTC), YYYY-MM-DD; default 90 days before `to`.",
    },
    {
        "name": "to",
        "in": "query",
        "schema": {"type": "string", "format": "date"},
        "description": "Last day (UTC), YYYY-MM-DD, included; default today. Not before `from` (else 400).",
    },
]
KEY_PARAMS = [
    {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}},
    {"name": "tool", "in": "query", "schema": {"type": "string", "enum": ["jira", "servicenow"]}},
]
STATUS = {"type": "string", "enum": ["held", "violated", "pending"]}

SCHEMAS: dict[str, Any] = {
    "Gate": {
        "type": "object",
        "required": ["key", "tool", "stage", "to", "allowed", "violations"],
        "properties": {
            "key": {"type": "string"},
            "tool": {"type": "string"},
            "stage": {"type": "string", "description": "The change's stage now."},
            "to": {"type": "string", "enum": ["approved", "deployed", "closed"]},
            "allowed": {"type": "boolean", "description": "True when `violations` is empty."},
            "violations": {"type": "array", "items": {"$ref": "#/components/schemas/GateViolation"}},
        },
    },
    "GateViolation": {
        "type": "object",
        "required": ["rule", "step", "message", "missing"],
        "properties": {
            "rule": {"type": "string", "description": "R1 .. R10"},
            "step": {"type": "integer", "description": "The ENG-PROC-004 step (1..5)."},
            "message": {"type": "string"},
            "missing": {"type": "array", "items": {"type": "string"}},
        },
    },
    "Error": {
        "type": "object",
        "required": ["error", "detail"],
        "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
    },
    "ChangeItem": {
        "type": "object",
        "required": ["tool", "key", "stage", "engineer", "created_at", "overdue"],
        "properties": {
            "tool": {"type": "string"},
            "key": {"type": "string"},
            "url": NULLABLE_STRING,
            "title": {"type": "string"},
            "project": {"type": "string"},
            "team": NULLABLE_STRING,
            "engineer": {"type": "string"},
            "stage": {"type": "string"},
            "category": NULLABLE_STRING,
            "created_at": {"type": "string", "format": "date-time"},
            "deployed_at": NULLABLE_STRING,
            "closed_at": NULLABLE_STRING,
            "postmortem_key": NULLABLE_STRING,
            "postmortem_due_at": NULLABLE_STRING,
            "postmortem_done_at": NULLABLE_STRING,
            "overdue": {"type": "boolean"},
        },
    },
    "ChangePage": {
        "type": "object",
        "required": ["items", "limit", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/ChangeItem"}},
            "limit": {"type": "integer"},
            "offset": {"type": "integer", "nullable": True},
            "next_cursor": {
                "type": "integer",
                "nullable": True,
                "description": "Pass as `cursor` for the next page.",
            },
        },
    },
    "RuleStatus": {
        "type": "object",
        "required": ["rule", "status", "evidence"],
        "properties": {
            "rule": {"type": "string"},
            "step": {"type": "integer"},
            "title": {"type": "string"},
            "status": STATUS,
            "evidence": {"type": "string"},
        },
    },
    "Approval": {
        "type": "object",
        "required": ["approver", "role", "method", "granted_at"],
        "properties": {
            "approver": {"type": "string"},
            "role": {"type": "string", "enum": ["lead", "security"]},
            "method": {"type": "string", "enum": ["written", "verbal"]},
            "channel": NULLABLE_STRING,
            "granted_at": {"type": "string"},
            "confirmed_at": NULLABLE_STRING,
            "confirm_by": NULLABLE_STRING,
            "confirmation_lag_seconds": {"type": "number", "nullable": True},
            "recorded_by": {"type": "string"},
            "evidence": {"type": "string"},
            "confirmation_evidence": NULLABLE_STRING,
        },
    },
    "ChangeDetail": {
        "type": "object",
        "required": ["tool", "key", "stage", "rules", "approvals"],
        "properties": {
            "tool": {"type": "string"},
            "key": {"type": "string"},
            "stage": {"type": "string"},
            "link": NULLABLE_STRING,
            "rules": {"type": "array", "items": {"$ref": "#/components/schemas/RuleStatus"}},
            "approvals": {"type": "array", "items": {"$ref": "#/components/schemas/Approval"}},
        },
    },
    "EvidencePacket": {
        "type": "object",
        "required": [
            "packet_version",
            "generated_at",
            "controls",
            "change",
            "rules",
            "approvals",
            "timeline",
            "violations",
            "notifications",
            "audit",
            "integrity",
        ],
        "properties": {
            "packet_version": {"type": "integer"},
            "integrity": {
                "type": "object",
                "description": "packet_hash (SHA-256 of the canonical packet without generated_at, "
                "audit.chain and integrity), the covering signed checkpoint, and the audit entries from the "
                "change's first to that checkpoint; `ecm evidence verify` checks it with the public key",
                "required": ["packet_hash", "checkpoint", "proof"],
                "properties": {
                    "packet_hash": {"type": "string"},
                    "checkpoint": {"type": "object", "nullable": True},
                    "proof": {"type": "array", "items": {"type": "object"}},
                },
            },
            "generated_at": {"type": "string"},
            "controls": {"type": "array", "items": {"type": "string"}},
            "change": {"type": "object"},
            "rules": {
                "type": "array",
                "minItems": 10,
                "maxItems": 10,
                "items": {"$ref": "#/components/schemas/RuleStatus"},
            },
            "approvals": {"type": "array", "items": {"$ref": "#/components/schemas/Approval"}},
            "timeline": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["at", "event", "detail"],
                    "properties": {
                        "at": {"type": "string"},
                        "event": {"type": "string"},
                        "detail": {"type": "string"},
                    },
                },
            },
            "violations": {"type": "array", "items": {"type": "object"}},
            "deploys": {
                "type": "array",
                "description": "production deploys pipelines reported for the change (naming it, or opening "
                "it as a bypass), beside the ticket's own `change.deployed_at`",
                "items": {
                    "type": "object",
                    "required": ["source", "deploy_id", "environment", "deployed_at", "outcome", "bypass"],
                    "properties": {
                        "source": {"type": "string", "enum": ["github", "pipeline"]},
                        "deploy_id": {"type": "string"},
                        "environment": {"type": "string"},
                        "deployed_at": {"type": "string"},
                        "repository": {"type": "string"},
                        "sha": NULLABLE_STRING,
                        "ref": NULLABLE_STRING,
                        "version": NULLABLE_STRING,
                        "deployer": NULLABLE_STRING,
                        "url": NULLABLE_STRING,
                        "named": NULLABLE_STRING,
                        "outcome": {"type": "string", "enum": ["recorded", "violation", "bypass"]},
                        "bypass": {"type": "boolean"},
                    },
                },
            },
            "notifications": {"type": "array", "items": {"type": "object"}},
            "audit": {
                "type": "object",
                "required": ["entries", "entries_intact", "chain"],
                "properties": {
                    "entries": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["seq", "hash", "prev_hash", "hash_ok"],
                            "properties": {
                                "seq": {"type": "integer"},
                                "hash": {"type": "string"},
                                "prev_hash": {"type": "string"},
                                "hash_ok": {"type": "boolean"},
                            },
                        },
                    },
                    "entries_intact": {"type": "boolean"},
                    "chain": {
                        "type": "object",
                        "required": ["ok", "checked"],
                        "properties": {
                            "ok": {"type": "boolean"},
                            "checked": {"type": "integer"},
                            "first_bad_seq": {"type": "integer", "nullable": True},
                            "problem": NULLABLE_STRING,
                        },
                    },
                },
            },
        },
    },
    "Summary": {
        "type": "object",
        "required": [
            "period",
            "count",
            "share_on_time",
            "breaches",
            "violations_by_rule",
            "repeat_approvers",
        ],
        "properties": {
            "period": {
                "type": "object",
                "properties": {"from": {"type": "string"}, "to": {"type": "string"}},
            },
            "generated_at": {"type": "string"},
            "count": {"type": "integer"},
            "postmortems_judged": {"type": "integer"},
            "share_on_time": {"type": "number", "nullable": True},
            "median_approval_hours": {"type": "number", "nullable": True},
            "median_verbal_confirmation_lag_hours": {"type": "number", "nullable": True},
            "median_deploy_to_postmortem_hours": {"type": "number", "nullable": True},
            "breaches": {"type": "integer"},
            "production_deploys": {"type": "integer", "description": "reported by pipelines in the period"},
            "bypasses": {
                "type": "integer",
                "description": "production deploys in the period without an approved emergency change",
            },
            "violations_by_rule": {"type": "object", "additionalProperties": {"type": "integer"}},
            "repeat_approvers": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"approver": {"type": "string"}, "approvals": {"type": "integer"}},
                },
            },
            "changes_per_team": {"type": "object", "additionalProperties": {"type": "integer"}},
            "changes_per_project": {"type": "object", "additionalProperties": {"type": "integer"}},
        },
    },
    "Population": {
        "type": "object",
        "required": ["summary", "changes", "count"],
        "properties": {
            "summary": {"$ref": "#/components/schemas/Summary"},
            "changes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["key", "compliance", "reasons"],
                    "properties": {
                        "key": {"type": "string"},
                        "reasons": {"type": "string"},
                        "bypass": {
                            "type": "string",
                            "description": "for a bypass change, the production deploy it was opened for",
                        },
                        "compliance": {"type": "string", "enum": ["compliant", "non-compliant", "open"]},
                    },
                },
            },
            "count": {"type": "integer"},
        },
    },
}


def _json(schema: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


ERRORS = {
    "400": _json("Error", "A query parameter is not understood; `detail` names it."),
    "401": _json("Error", "No or a wrong bearer token."),
    "503": _json("Error", "ECM_ADMIN_TOKEN is not configured."),
}
NOT_FOUND = {"404": _json("Error", "No change with this key.")}


def _get(summary: str, ok: dict[str, Any], parameters: list[dict[str, Any]], *extra: dict) -> dict[str, Any]:
    responses = {"200": ok, **ERRORS}
    for more in extra:
        responses.update(more)
    return {"get": {"summary": summary, "parameters": parameters, "responses": responses}}


PATHS: dict[str, Any] = {
    "/api/changes": _get(
        "Emergency changes, newest first",
        _json("ChangePage", "One page of changes."),
        [
            {"name": "stage", "in": "query", "schema": {"type": "string", "enum": [s.value for s in Stage]}},
            {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["open", "finished"]}},
            {"name": "tool", "in": "query", "schema": {"type": "string", "enum": ["jira", "servicenow"]}},
            {
                "name": "overdue",
                "in": "query",
                "schema": {"type": "boolean"},
                "description": "`true` or `false` (1/0, yes/no too); absent means false.",
            },
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
            {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID}},
            {
                "name": "cursor",
                "in": "query",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                "description": "The `next_cursor` of the previous page (a change id).",
            },
        ],
    ),
    "/api/changes/{key}": _get(
        "One change with its rule statuses and approvals",
        _json("ChangeDetail", "The change."),
        KEY_PARAMS,
        NOT_FOUND,
    ),
    "/api/changes/{key}/gate": {
        "get": {
            "summary": "May the change enter a stage now? The pipeline gate (CI/CD asks before deploying)",
            "description": "The answer the connector's rules give for that transition at this moment, the "
            "same the webhook judging gives. Takes ECM_GATE_TOKEN, which opens nothing else, or "
            "ECM_ADMIN_TOKEN.",
            "security": [{"gateToken": []}, {"adminToken": []}],
            "parameters": [
                *KEY_PARAMS,
                {
                    "name": "to",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string", "enum": ["approved", "deployed", "closed"]},
                    "description": "The stage the pipeline is about to move the change to.",
                },
            ],
            "responses": {
                "200": _json("Gate", "The answer; `allowed` false names every violation."),
                **ERRORS,
                "503": _json("Error", "Neither ECM_GATE_TOKEN nor ECM_ADMIN_TOKEN is configured."),
                **NOT_FOUND,
            },
        }
    },
    "/api/changes/{key}/evidence": _get(
        "The evidence packet of one change (SOC 2 CC8.1, HIPAA 45 CFR 164.312(b))",
        {
            "description": "The packet as JSON, or with format=html as one printable page.",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/EvidencePacket"}},
                "text/html": {"schema": {"type": "string"}},
            },
        },
        [
            *KEY_PARAMS,
            {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "html"]}},
        ],
        NOT_FOUND,
    ),
    "/api/evidence/population": _get(
        "Every emergency change created in a period, with its compliance (streamed)",
        {
            "description": "The population.",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Population"}},
                "text/csv": {"schema": {"type": "string", "format": "binary"}},
            },
        },
        [
            *DATE_PARAMS,
            {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "csv"]}},
        ],
    ),
    "/api/metrics/summary": _get(
        "Summary figures of a period", _json("Summary", "The figures."), DATE_PARAMS
    ),
    "/api/openapi.json": {
        "get": {
            "summary": "This document",
            "security": [],
            "responses": {
                "200": {
                    "description": "The OpenAPI document.",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
    },
}


def documented_parameters(rule: str) -> set[str] | None:
    """The query parameters the document names for a Flask rule ("/api/changes/<key>"); None when the
    rule is not documented."""
    operation = PATHS.get(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule), {}).get("get")
    if operation is None:
        return None
    return {p["name"] for p in operation.get("parameters", ()) if p["in"] == "query"}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "ECM Connector admin API",
            "version": __version__,
            "description": "Evidence and figures of emergency changes (ENG-PROC-004), and the gate "
            "pipelines ask before they deploy.",
        },
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "adminToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The value of ECM_ADMIN_TOKEN.",
                },
                "gateToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The value of ECM_GATE_TOKEN: the pipeline gate only.",
                },
            },
        },
        "security": [{"adminToken": []}],
    }
