"""Jira field values (plain, option, user, list, Atlassian document) rendered as one line of text."""

from __future__ import annotations

from typing import Any

NAME_KEYS = ("value", "name", "displayName", "key", "accountId")


def render_value(value: Any) -> str | None:
    """Text of a field value: select options by value, users by display name, documents as plain text."""
    if value is None or value == [] or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = [render_value(item) for item in value]
        return ", ".join(p for p in parts if p) or None
    if isinstance(value, dict):
        if value.get("type") == "doc":
            return document_text(value).strip() or None
        return next((str(value[k]) for k in NAME_KEYS if value.get(k) not in (None, "")), None)
    return str(value)


def document_text(node: dict) -> str:
    """Plain text of an Atlassian Document Format node; paragraphs end with a newline."""
    if node.get("type") == "text":
        return str(node.get("text", ""))
    if node.get("type") == "hardBreak":
        return "\n"
    inner = "".join(document_text(child) for child in node.get("content") or [] if isinstance(child, dict))
    if node.get("type") == "inlineCard":
        return str((node.get("attrs") or {}).get("url", ""))
    return inner + "\n" if node.get("type") in ("paragraph", "heading", "listItem") else inner
