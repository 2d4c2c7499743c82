"""HTML pages from the templates in `connector/web/templates`: self-contained, autoescaped, no scripts.

The same environment serves the command line (no Flask app) and the web views.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

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
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def packet_page(packet: dict[str, Any]) -> str:
    return render("evidence.html", p=packet)


def when(value: str | None) -> str:
    """ISO 8601 UTC → "2026-12-01 10:00 UTC" (or "—")."""
    if not value:
        return "—"
    return value[:16].replace("T", " ") + " UTC"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    sign, seconds = ("−" if seconds < 0 else ""), abs(seconds)
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours) + [f"{minutes} min"]
    return sign + " ".join(parts[:2])
