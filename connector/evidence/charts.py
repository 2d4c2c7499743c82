"""Server-rendered bar charts as inline SVG, with a title, a description and a text label on every bar."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

BAR_HEIGHT, GAP, LABEL_WIDTH, BAR_WIDTH, VALUE_WIDTH = 22, 6, 150, 260, 70
BAR_COLOUR = "#1f4e79"  # 8.9:1 on white
TEXT_COLOUR = "#1b1b1b"


def bar_chart(chart_id: str, title: str, bars: Sequence[tuple[str, float]], unit: str = "") -> Markup:
    """A horizontal bar chart; with no bars, a line saying so (still titled)."""
    if not bars:
        return Markup('<p class="chart-empty"><strong>{}</strong>: no data in this period.</p>').format(title)
    top = max(value for _, value in bars) or 1
    height = len(bars) * (BAR_HEIGHT + GAP) + GAP
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    summary = ", ".join(f"{label}: {_number(value)}{unit}" for label, value in bars)
    parts = [
        f'<svg role="img" aria-labelledby="{chart_id}-t {chart_id}-d" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(summary)}</desc>',
    ]
    for n, (label, value) in enumerate(bars):
        y = GAP + n * (BAR_HEIGHT + GAP)
        length = max(1, round(BAR_WIDTH * value / top)) if value else 0
        middle = y + BAR_HEIGHT * 0.7
        parts += [
            f'<text x="{LABEL_WIDTH - 8}" y="{middle}" text-anchor="end" font-size="13" '
            f'fill="{TEXT_COLOUR}">{escape(label)}</text>',
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length}" height="{BAR_HEIGHT}" fill="{BAR_COLOUR}"/>',
            f'<text x="{LABEL_WIDTH + length + 6}" y="{middle}" font-size="13" '
            f'fill="{TEXT_COLOUR}">{escape(_number(value))}{escape(unit)}</text>',
        ]
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in parts went through escape()


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"
