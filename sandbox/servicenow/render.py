"""Records as the Table API writes them: display values, reference links, field selection, errors, paging."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from sandbox.servicenow.schema import CHOICE_LABELS, TABLES

Lookup = Callable[[str, str], dict[str, str] | None]


@dataclass(frozen=True)
class View:
    """The sysparm_* options that shape a response."""

    display: str = "false"  # "false" | "true" | "all"
    exclude_link: bool = False
    fields: tuple[str, ...] = ()

    @classmethod
    def from_args(cls, args: dict[str, str]) -> View:
        display = args.get("sysparm_display_value", "false").lower()
        fields = tuple(f.strip() for f in args.get("sysparm_fields", "").split(",") if f.strip())
        return cls(
            display=display if display in ("true", "all") else "false",
            exclude_link=args.get("sysparm_exclude_reference_link", "false").lower() == "true",
            fields=fields,
        )


def error_body(message: str, detail: str | None) -> dict[str, object]:
    return {"error": {"message": message, "detail": detail}, "status": "failure"}


class Renderer:
    def __init__(self, lookup: Lookup, base_url: str) -> None:
        self._lookup = lookup
        self._base = base_url.rstrip("/")

    def record(
        self, table: str, record: dict[str, str], view: View, read: Callable[[str], str | None]
    ) -> dict:
        names = view.fields or tuple(record)
        out: dict[str, object] = {}
        for name in names:
            value = read(name)
            if value is None:
                continue
            out[name] = self.value(table, name, value, view)
        return out

    def value(self, table: str, name: str, value: str, view: View) -> object:
        spec = TABLES.get(table)
        target = spec.references.get(name) if spec and "." not in name else None
        if target is None:
            if view.display == "false":
                return value
            shown = self.display_value(table, name, value)
            return shown if view.display == "true" else {"display_value": shown, "value": value}
        return self._reference(target, value, view)

    def display_value(self, table: str, name: str, value: str) -> str:
        labels = CHOICE_LABELS.get((table, name))
        return labels.get(value, value) if labels else value

    def reference_display(self, target: str, value: str) -> str:
        spec = TABLES.get(target)
        row = self._lookup(target, value) if value else None
        if row is None or spec is None:
            return value
        return row.get(spec.display_field, value)

    def _reference(self, target: str, value: str, view: View) -> object:
        if not value:
            return {"display_value": "", "value": ""} if view.display == "all" else ""
        link = f"{self._base}/api/now/table/{target}/{value}"
        shown = self.reference_display(target, value)
        body: dict[str, str] = {
            "false": {"link": link, "value": value},
            "true": {"display_value": shown, "link": link},
            "all": {"display_value": shown, "link": link, "value": value},
        }[view.display]
        if view.exclude_link:
            body.pop("link")
            return shown if view.display == "true" else (value if view.display == "false" else body)
        return body


def link_header(url: str, args: dict[str, str], offset: int, limit: int, total: int) -> str:
    """`Link` as ServiceNow writes it: first, prev, next, last (prev/next only where they exist)."""

    def at(position: int) -> str:
        query = {**args, "sysparm_offset": str(position), "sysparm_limit": str(limit)}
        return f"<{url}?{urlencode(query)}>"

    last = max(0, ((total - 1) // limit) * limit) if total and limit else 0
    parts = [f'{at(0)};rel="first"']
    if offset > 0:
        parts.append(f'{at(max(0, offset - limit))};rel="prev"')
    if offset + limit < total:
        parts.append(f'{at(offset + limit)};rel="next"')
    parts.append(f'{at(last)};rel="last"')
    return ",".join(parts)
