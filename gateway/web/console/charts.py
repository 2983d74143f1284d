"""Charts drawn on the server as SVG (no script, so the console's CSP holds).

Colours are SVG presentation attributes, not ``style`` (inline styles are refused by the CSP);
every chart has a title and a description for screen readers, and each bar a tooltip title.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 220, 40, 24, 10


@dataclass(frozen=True, slots=True)
class Series:
    key: str
    label: str
    colour: str


def stacked_bars(
    title: str, labels: Sequence[str], values: Sequence[Mapping[str, int]], series: Sequence[Series]
) -> Markup:
    """One stacked bar per label (e.g. an hour), one band per series, with a legend."""
    totals = [sum(v.get(s.key, 0) for s in series) for v in values]
    peak = max([*totals, 1])
    plot_h = HEIGHT - BOTTOM - TOP
    step = (WIDTH - LEFT) / max(len(labels), 1)
    bar_w = max(step * 0.7, 1.0)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT + 24}" role="img" '
        f'aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">{escape(_describe(labels, totals))}</desc>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH}" y2="{TOP + plot_h}" '
        'stroke="#888" stroke-width="1"/>',
        f'<text x="{LEFT - 4}" y="{TOP + 8}" text-anchor="end" font-size="11">{peak}</text>',
        f'<text x="{LEFT - 4}" y="{TOP + plot_h}" text-anchor="end" font-size="11">0</text>',
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = LEFT + i * step + (step - bar_w) / 2
        y: float = TOP + plot_h
        for s in series:
            n = value.get(s.key, 0)
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{s.colour}" data-series="{escape(s.key)}">'
                f"<title>{escape(label)}: {n} {escape(s.label)}</title></rect>"
            )
        if i % max(len(labels) // 8, 1) == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle" '
                f'font-size="11">{escape(label)}</text>'
            )
    for j, s in enumerate(series):
        lx = LEFT + j * 150
        parts.append(f'<rect x="{lx}" y="{HEIGHT + 8}" width="12" height="12" fill="{s.colour}"/>')
        parts.append(
            f'<text x="{lx + 16}" y="{HEIGHT + 18}" font-size="12">{escape(s.label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _describe(labels: Sequence[str], totals: Sequence[int]) -> str:
    if not labels:
        return "no data"
    return f"{sum(totals)} in total from {labels[0]} to {labels[-1]}; busiest: {max(totals)}"
