"""Render Jira field values and comment bodies as plain strings for the typed events.

A select option gives its value, a user its accountId (Cloud) or name (Data Center), a list its items joined
by ", ", a document-format (ADF) body its text. Anything else that is structured is rendered as compact JSON,
so the translator always reads a string.

An issue's fields reach the events as `RenderedFields`: each is rendered when it is first read, so a
delivery that no mapping acts on (or that reads three of its forty custom fields) renders only what is read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

LIST_SEPARATOR = ", "
# Keys tried in order on a JSON object: the first one present names the value.
IDENTITY_KEYS = ("accountId", "value", "name", "key", "displayName", "id")
ADF_BLOCKS = frozenset({"paragraph", "heading", "codeBlock", "blockquote", "listItem", "panel", "rule"})


class RenderedFields(Mapping[str, str | None]):
    """The fields of `raw` (values as JSON gave them) that `keep(name, value)` keeps, read as
    `render_value` renders them: each rendered once, when first read; nothing is copied up front."""

    __slots__ = ("_keep", "_raw", "_rendered")

    def __init__(
        self, raw: Mapping[str, Any], keep: Callable[[str, Any], bool] = lambda _n, _v: True
    ) -> None:
        self._raw, self._keep = raw, keep
        self._rendered: dict[str, str | None] = {}

    def __getitem__(self, name: str) -> str | None:
        try:
            return self._rendered[name]
        except KeyError:
            value = self._raw[name]  # an unknown name: KeyError
            if not self._keep(name, value):
                raise KeyError(name) from None
            text = self._rendered[name] = render_value(value)
            return text

    def __iter__(self) -> Iterator[str]:
        return (name for name, value in self._raw.items() if self._keep(name, value))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return repr(dict(self))


def render_value(value: Any) -> str | None:
    """A field value as a string; None and empty lists stay None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list):
        items = [text for text in (render_value(v) for v in value) if text is not None]
        return LIST_SEPARATOR.join(items) if items else None
    if isinstance(value, dict):
        return _render_object(value)
    return str(value)


def _render_object(value: dict[str, Any]) -> str:
    if value.get("type") == "doc":
        return adf_text(value)
    for key in IDENTITY_KEYS:
        if isinstance(value.get(key), str | int) and not isinstance(value.get(key), bool):
            text = str(value[key])
            child = value.get("child")  # cascading select: "parent - child"
            if isinstance(child, dict) and isinstance(child.get("value"), str):
                text = f"{text} - {child['value']}"
            return text
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def comment_text(body: Any) -> str:
    """A comment body as plain text: API v2 sends a string, API v3 an ADF document."""
    if isinstance(body, str):
        return body
    if isinstance(body, dict):
        return adf_text(body)
    return ""


def adf_text(node: dict[str, Any]) -> str:
    """The text of an Atlassian Document Format node: block nodes end a line, mentions keep their text."""
    parts: list[str] = []
    _collect(node, parts)
    return "".join(parts).strip("\n")


def _collect(node: Any, parts: list[str]) -> None:
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    attrs = node.get("attrs") if isinstance(node.get("attrs"), dict) else {}
    if kind == "text" and isinstance(node.get("text"), str):
        parts.append(node["text"])
    elif kind in ("mention", "emoji", "status", "date") and isinstance(attrs.get("text"), str):
        parts.append(attrs["text"])
    elif kind == "inlineCard" and isinstance(attrs.get("url"), str):
        parts.append(attrs["url"])
    elif kind == "hardBreak":
        parts.append("\n")
    content = node.get("content")
    if isinstance(content, list):
        for child in content:
            _collect(child, parts)
    if kind in ADF_BLOCKS and parts and not parts[-1].endswith("\n"):
        parts.append("\n")
