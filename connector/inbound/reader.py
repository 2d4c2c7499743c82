"""Checked accessors for untrusted JSON bodies: a wrong shape raises `MalformedBody` naming the path.

doc = load_object(body)
key = doc.obj("issue", required=True).text("key", required=True)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import orjson

from connector.errors import MalformedBody

JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
MAX_DEPTH = 64  # real Jira and ServiceNow bodies, rich-text (ADF) comments included, nest under 20 levels


def load_object(body: bytes) -> JsonObject:
    """The body as a JSON object, or `MalformedBody`. A body nested deeper than `MAX_DEPTH` is refused
    before it is parsed, so neither the parser nor a later walk over it (rich text) runs out of stack."""
    if _deeper_than(body, MAX_DEPTH):
        raise MalformedBody(f"body is nested deeper than {MAX_DEPTH} levels")
    # orjson parses a Jira body in about a third of the standard library's time, and as strict JSON: no
    # NaN, no lone surrogate (PostgreSQL could not store one either). Its errors are ValueErrors.
    try:
        data = orjson.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedBody(f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MalformedBody(f"body must be a JSON object, not {_kind(data)}")
    return JsonObject(data, "")


def _deeper_than(body: bytes, limit: int) -> bool:
    """Whether brackets nest more than about `limit` levels, read from the raw bytes with C-speed bytes
    operations: first with the brackets inside strings left in (the common case, ~10 µs), and only when
    that looks deep, again with the strings dropped (exact, ~10x dearer)."""
    if not _nests_past(body.translate(None, NOT_BRACKETS), limit, unbalanced=True):
        return False
    return _nests_past(JSON_STRING.sub(b"", body).translate(None, NOT_BRACKETS), limit, unbalanced=False)


def _nests_past(brackets: bytes, limit: int, *, unbalanced: bool) -> bool:
    """Remove the innermost pairs once per level (a pass may take two levels); what is left after `limit`
    passes nests deeper. Brackets that never pair up count as `unbalanced`."""
    for _ in range(limit):
        shorter = brackets.replace(b"{}", b"").replace(b"[]", b"")
        if shorter == brackets:
            return bool(brackets) and unbalanced
        brackets = shorter
    return bool(brackets)


class JsonObject:
    """A JSON object from a delivery; every read checks the type of what it finds."""

    __slots__ = ("_data", "path")

    def __init__(self, data: dict[str, Any], path: str) -> None:
        self._data = data
        self.path = path

    def _where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return self._data.get(key) is not None

    def names(self) -> list[str]:
        return list(self._data)

    def mapping(self) -> Mapping[str, Any]:
        """The object as JSON gave it, read-only: for rendering only."""
        return MappingProxyType(self._data)

    def raw(self, key: str) -> Any:
        """The value as JSON gave it (str, number, bool, None, list or dict): for rendering only."""
        return self._data.get(key)

    def text(self, key: str, *, required: bool = False) -> str | None:
        """A string (numbers are accepted and rendered: Jira sends some ids as numbers)."""
        value = self._data.get(key)
        if value is None:
            if required:
                raise MalformedBody(f"{self._where(key)}: missing")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise MalformedBody(f"{self._where(key)}: expected a string, not {_kind(value)}")
        return str(value)

    def required_text(self, key: str) -> str:
        value = self.text(key, required=True)
        assert value is not None
        return value

    def number(self, key: str) -> float | None:
        value = self._data.get(key)
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value)

    def obj(self, key: str, *, required: bool = False) -> JsonObject | None:
        value = self._data.get(key)
        if value is None:
            if required:
                raise MalformedBody(f"{self._where(key)}: missing")
            return None
        if not isinstance(value, dict):
            raise MalformedBody(f"{self._where(key)}: expected an object, not {_kind(value)}")
        return JsonObject(value, self._where(key))

    def required_obj(self, key: str) -> JsonObject:
        value = self.obj(key, required=True)
        assert value is not None
        return value

    def objs(self, key: str) -> list[JsonObject]:
        """A list of objects (missing means empty)."""
        value = self._data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise MalformedBody(f"{self._where(key)}: expected a list, not {_kind(value)}")
        where = self._where(key)
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise MalformedBody(f"{where}[{index}]: expected an object, not {_kind(item)}")
        return [JsonObject(item, f"{where}[{index}]") for index, item in enumerate(value)]

    def texts(self, key: str) -> list[str]:
        """A list of strings (missing means empty)."""
        value = self._data.get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise MalformedBody(f"{self._where(key)}: expected a list of strings")
        return list(value)


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")
