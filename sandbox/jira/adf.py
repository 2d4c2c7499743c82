"""Plain text <-> Atlassian Document Format (v3 bodies) and Jira's date formats."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def to_text(value: Any) -> Any:
    """Flatten an ADF document to plain text; anything else is returned as it is."""
    if not isinstance(value, dict) or value.get("type") != "doc":
        return value
    paragraphs = []
    for block in value.get("content") or []:
        paragraphs.append("".join(_inline_text(node) for node in block.get("content") or []))
    return "\n".join(paragraphs)


def _inline_text(node: dict[str, Any]) -> str:
    if node.get("type") == "text":
        return str(node.get("text", ""))
    if node.get("type") == "hardBreak":
        return "\n"
    if node.get("type") == "mention":
        return str((node.get("attrs") or {}).get("text", ""))
    return "".join(_inline_text(child) for child in node.get("content") or [])


def to_adf(value: Any) -> Any:
    """Wrap plain text in an ADF document (one paragraph per line); None and documents pass through."""
    if value is None or isinstance(value, dict):
        return value
    paragraphs = []
    for line in str(value).split("\n"):
        content = [{"type": "text", "text": line}] if line else []
        paragraphs.append({"type": "paragraph", "content": content})
    return {"type": "doc", "version": 1, "content": paragraphs}


def jira_time(moment: datetime) -> str:
    """Jira's timestamp format: 2026-11-28T10:00:00.000+0000."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}" + moment.strftime("%z")
