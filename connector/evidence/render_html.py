"""HTML pages from the templates in `connector/web/templates`: self-contained, autoescaped, no scripts (a
packet page carries its packet as inert JSON data).

The same environment serves the command line (no Flask app) and the web views.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from connector.store.people import Person

TEMPLATES = Path(__file__).resolve().parents[1] / "web" / "templates"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["duration"] = duration
    env.filters["deadline"] = deadline
    env.filters["who"] = who
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


PACKET_DATA = re.compile(r'<script type="application/json" id="ecm-packet">(.*?)</script>', re.DOTALL)


def packet_page(packet: dict[str, Any]) -> str:
    """The packet as a page; the packet rides along as inert JSON data, for `ecm evidence verify`."""
    data = json.dumps(packet, ensure_ascii=True)
    for char, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        data = data.replace(char, escaped)  # nothing left that HTML reads as markup
    return render("evidence.html", p=packet, packet_json=Markup(data))  # noqa: S704 - escaped just above


def read_packet(text: str) -> Any:
    """A packet from its JSON, or from the page `packet_page` made. Raises ValueError."""
    found = PACKET_DATA.search(text) if text.lstrip().startswith("<") else None
    if text.lstrip().startswith("<") and found is None:
        raise ValueError("an HTML page without the packet's data")
    try:
        return json.loads(found.group(1) if found else text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not a packet: {exc}") from None


def when(value: str | None) -> str:
    """ISO 8601 UTC → "2026-12-01 10:00 UTC" (or "—")."""
    if not value:
        return "—"
    return value[:16].replace("T", " ") + " UTC"


def deadline(value: str | None, zone: str | None) -> str:
    """ISO 8601 UTC → "2026-12-04 23:59 EST (2026-12-05 04:59 UTC)": the organisation's calendar zone,
    in which the procedure's deadlines are set, with UTC beside it."""
    if not value or not zone or zone == "UTC":
        return when(value)
    try:
        local = datetime.fromisoformat(value).astimezone(ZoneInfo(zone))
    except (ValueError, ZoneInfoNotFoundError):
        return when(value)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({when(value)})"


def who(identity: str | None, people: dict[str, Any] | None) -> str:
    """ "Lena Lead <lena@example.com> (5b10ac8d…)" from a packet's `people`; the identity alone if unknown."""
    if not identity:
        return "—"
    person = (people or {}).get(identity)
    if not person:
        return identity
    return Person(identity, person["display_name"], person.get("email")).describe()


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    sign, seconds = ("−" if seconds < 0 else ""), abs(seconds)
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours) + [f"{minutes} min"]
    return sign + " ".join(parts[:2])
