"""Charts drawn on the server as SVG (no script, so the console's CSP holds).

Colours are SVG presentation attributes, not ``style`` (inline styles are refused by the CSP);
every chart has a title and a description for screen readers, and each bar a tooltip title.
"""

from __future__ import annotations

import re
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
    title: str,
    labels: Sequence[str],
    values: Sequence[Mapping[str, int]],
    series: Sequence[Series],
    axis: Sequence[str] | None = None,
) -> Markup:
    """One stacked bar per label (e.g. an hour), one band per series, with a legend."""
    ident = _ident(title)
    totals = [sum(v.get(s.key, 0) for s in series) for v in values]
    peak = max([*totals, 1])
    plot_h = HEIGHT - BOTTOM - TOP
    step = (WIDTH - LEFT) / max(len(labels), 1)
    bar_w = max(step * 0.7, 1.0)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT + 24}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(_describe(labels, totals))}</desc>',
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
        tick = axis[i] if axis is not None else (label if i % max(len(labels) // 8, 1) == 0 else "")
        if tick:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle" '
                f'font-size="11">{escape(tick)}</text>'
            )
    for j, s in enumerate(series):
        lx = LEFT + j * 150
        parts.append(f'<rect x="{lx}" y="{HEIGHT + 8}" width="12" height="12" fill="{s.colour}"/>')
        parts.append(
            f'<text x="{lx + 16}" y="{HEIGHT + 18}" font-size="12">{escape(s.label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _ident(title: str) -> str:
    """An element id from a chart's title (two charts on a page need their own)."""
    return "chart-" + re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40]


def _describe(labels: Sequence[str], totals: Sequence[int]) -> str:
    if not labels:
        return "no data"
    return f"{sum(totals)} in total from {labels[0]} to {labels[-1]}; busiest: {max(totals)}"


@dataclass(frozen=True, slots=True)
class Marker:
    label: str
    value: float


def waterfall(
    title: str,
    start: tuple[str, float],
    steps: Sequence[tuple[str, float]],
    markers: Sequence[Marker] = (),
) -> Markup:
    """How a sum came about: a start bar, then one bar per step from the running total (green
    up, red down), and the final total; ``markers`` are vertical threshold lines."""
    rows = [start, *steps]
    running = [start[1]]
    for _, value in steps:
        running.append(running[-1] + value)
    low = min([0.0, *running, *(m.value for m in markers)])
    high = max([0.0, *running, *(m.value for m in markers)])
    span = (high - low) or 1.0
    width, label_w, row_h = 520, 150, 24
    plot_w = width - label_w - 50

    def x(v: float) -> float:
        return label_w + plot_w * (v - low) / span

    height = (len(rows) + 1) * row_h + 20 + 14 * max(len(markers), 1)
    parts = [
        f'<svg class="chart weights" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="wf-title wf-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="wf-title">{escape(title)}</title>',
        f'<desc id="wf-desc">{escape(_describe_steps(start, steps, running[-1]))}</desc>',
    ]
    before = 0.0
    for i, (label, value) in enumerate(rows):
        after = running[i]
        a, b = (x(0.0), x(after)) if i == 0 else (x(before), x(after))
        y = 10 + i * row_h
        cls = "pos" if after >= before else "neg"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12">'
            f"{escape(label)}</text>"
        )
        parts.append(
            f'<rect class="{cls}" x="{min(a, b):.1f}" y="{y + 3}" '
            f'width="{max(abs(b - a), 1):.1f}" height="{row_h - 8}" data-step="'
            f'{escape(label)}"><title>{escape(label)}: {value:+.2f}</title></rect>'
        )
        parts.append(
            f'<text x="{max(a, b) + 4:.1f}" y="{y + 15}" font-size="11">{value:+.2f}</text>'
        )
        before = after
    y = 10 + len(rows) * row_h
    parts.append(
        f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12" '
        f'font-weight="bold">total</text>'
    )
    parts.append(
        f'<rect x="{min(x(0), x(before)):.1f}" y="{y + 3}" '
        f'width="{max(abs(x(before) - x(0)), 1):.1f}" height="{row_h - 8}" '
        f'fill="#0b57d0"><title>total: {before:.2f}</title></rect>'
    )
    bottom = 10 + (len(rows) + 1) * row_h
    for i, m in enumerate(markers):
        parts.append(
            f'<line x1="{x(m.value):.1f}" y1="4" x2="{x(m.value):.1f}" '
            f'y2="{bottom + 14 * i + 4}" stroke="#5c5c5c" stroke-dasharray="4 3"/>'
        )
        parts.append(
            f'<text x="{x(m.value):.1f}" y="{bottom + 14 * i + 14}" '
            f'text-anchor="middle" font-size="11">{escape(m.label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _describe_steps(
    start: tuple[str, float], steps: Sequence[tuple[str, float]], total: float
) -> str:
    said = ", ".join(f"{label} {value:+.2f}" for label, value in steps)
    return f"{start[0]} {start[1]:+.2f}, {said}; total {total:+.2f}"
