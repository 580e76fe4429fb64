"""Server-rendered SVG charts for the dashboard: no chart library, no script, no CDN.

Every chart is an `<svg role="img">` named by its `<title>` and described in words by its
`<desc>`; axes and values are real `<text>` labels, and each mark has its own `<title>` (a
tooltip on hover). Colours come from CSS classes (bi/static/bi/dashboard.css), so the
admin's light and dark themes both apply. All text is escaped here.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import ceil, cos, floor, log10, pi, sin

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 480, 230
LEFT, RIGHT, TOP, BOTTOM = 46, 8, 18, 30
MAX_X_LABELS = 7
VALUE_LABELS_UP_TO = 16  # columns; more and the numbers would overlap

Formatter = Callable[[float], str]


def plain(value: float) -> str:
    return f"{value:,.0f}"


@dataclass(frozen=True)
class Series:
    name: str
    css: str  # class of its marks, e.g. "s1"
    values: Sequence[float]


def nice_step(top: float, ticks: int = 4, integer: bool = True) -> float:
    """A round step (1, 2 or 5 times a power of ten; 2.5 too for money), about `ticks` lines."""
    if top <= 0:
        return 1
    raw = top / ticks
    magnitude = 10 ** floor(log10(raw))
    for multiple in (1, 2, 5, 10) if integer else (1, 2, 2.5, 5, 10):
        step = multiple * magnitude
        if raw <= step:
            return max(1, step) if integer else step
    return 10 * magnitude  # pragma: no cover (the loop always returns)


def _svg(chart_id: str, title: str, desc: str, body: str, width=WIDTH, height=HEIGHT):
    return mark_safe(  # noqa: S308 (every piece of text was escaped above)
        f'<svg class="wr-chart" id="{escape(chart_id)}" role="img" '
        f'viewBox="0 0 {width} {height}" preserveAspectRatio="xMidYMid meet" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>'
        f"{body}</svg>"
    )


def _empty(message: str, width=WIDTH, height=HEIGHT) -> str:
    return (
        f'<text class="empty" x="{width / 2}" y="{height / 2}" text-anchor="middle">'
        f"{escape(message)}</text>"
    )


def _y_axis(top: float, step: float, plot_h: float, axis: Formatter) -> str:
    parts = []
    ticks = round(top / step)
    for n in range(ticks + 1):
        value = n * step
        y = TOP + plot_h - plot_h * value / top
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(axis(value))}</text>"
        )
    return "".join(parts)


def _x_labels(categories: Sequence[str], slot: float) -> str:
    every = max(1, ceil(len(categories) / MAX_X_LABELS))
    parts = []
    for i, label in enumerate(categories):
        if i % every:
            continue
        x = LEFT + slot * (i + 0.5)
        parts.append(
            f'<text class="axis" x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    return "".join(parts)


def column_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    categories: Sequence[str],
    series: Sequence[Series],
    fmt: Formatter = plain,
    axis: Formatter = plain,
    integer: bool = True,
    empty: str = "Nothing in this period.",
    mark_labels: Sequence[str] | None = None,
) -> SafeString:
    """Columns per category; several series stack. `mark_labels` name the categories in
    the marks' tooltips (e.g. full dates where the axis shows "3 Nov")."""
    stacks = [sum(s.values[i] for s in series) for i in range(len(categories))]
    highest = max(stacks, default=0)
    if highest <= 0:
        return _svg(chart_id, title, desc, _empty(empty))
    step = nice_step(highest, integer=integer)
    top = step * ceil(highest / step)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(categories)
    bar_w = max(2.0, min(44.0, slot * 0.68))
    names = mark_labels or categories
    parts = [_y_axis(top, step, plot_h, axis)]
    for i, _category in enumerate(categories):
        x = LEFT + slot * i + (slot - bar_w) / 2
        base = TOP + plot_h
        for s in series:
            value = s.values[i]
            if value <= 0:
                continue
            h = plot_h * value / top
            base -= h
            tip = f"{names[i]}: {fmt(value)}" + (f" {s.name}" if len(series) > 1 else "")
            parts.append(
                f'<rect class="mark {escape(s.css)}" x="{x:.1f}" y="{base:.1f}" '
                f'width="{bar_w:.1f}" height="{h:.1f}" rx="2"><title>{escape(tip)}</title></rect>'
            )
        if len(categories) <= VALUE_LABELS_UP_TO and stacks[i] > 0:
            parts.append(
                f'<text class="value" x="{x + bar_w / 2:.1f}" y="{base - 5:.1f}" '
                f'text-anchor="middle">{escape(fmt(stacks[i]))}</text>'
            )
    parts.append(
        f'<line class="baseline" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
        f'y1="{TOP + plot_h}" y2="{TOP + plot_h}"/>'
    )
    parts.append(_x_labels(categories, slot))
    return _svg(chart_id, title, desc, "".join(parts))


def line_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    categories: Sequence[str],
    values: Sequence[float],
    fmt: Formatter = plain,
    axis: Formatter = plain,
    empty: str = "Nothing in this period.",
    mark_labels: Sequence[str] | None = None,
) -> SafeString:
    """A line with the area under it, a dot per category."""
    highest = max(values, default=0)
    if highest <= 0:
        return _svg(chart_id, title, desc, _empty(empty))
    step = nice_step(highest, integer=False)
    top = step * ceil(highest / step)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(categories)
    names = mark_labels or categories
    points = [
        (LEFT + slot * (i + 0.5), TOP + plot_h - plot_h * value / top)
        for i, value in enumerate(values)
    ]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    base = TOP + plot_h
    area = f"{points[0][0]:.1f},{base} {line} {points[-1][0]:.1f},{base}"
    parts = [
        _y_axis(top, step, plot_h, axis),
        f'<polygon class="area" points="{area}"/>',
        f'<polyline class="line" points="{line}"/>',
    ]
    show_values = len(values) <= VALUE_LABELS_UP_TO
    dot = 3.5 if len(values) <= 31 else 1.5  # a dot per day would crowd a long range
    for i, ((x, y), value) in enumerate(zip(points, values, strict=True)):
        parts.append(
            f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="{dot}">'
            f"<title>{escape(f'{names[i]}: {fmt(value)}')}</title></circle>"
        )
        if show_values and value > 0 and (len(values) <= 8 or value == highest):
            parts.append(
                f'<text class="value" x="{x:.1f}" y="{y - 9:.1f}" text-anchor="middle">'
                f"{escape(fmt(value))}</text>"
            )
    parts.append(
        f'<line class="baseline" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}"/>'
    )
    parts.append(_x_labels(categories, slot))
    return _svg(chart_id, title, desc, "".join(parts))


def bar_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    items: Sequence[tuple[str, float]],
    fmt: Formatter = plain,
    empty: str = "Nothing in this period.",
    label_width: int = 150,
    row: int = 30,
) -> SafeString:
    """Horizontal bars, one per item, labelled on the left and valued on the right."""
    highest = max((value for _, value in items), default=0)
    if highest <= 0:
        return _svg(chart_id, title, desc, _empty(empty, height=120), height=120)
    height = TOP + row * len(items) + 8
    value_room = 70
    plot_w = WIDTH - label_width - value_room - RIGHT
    parts = []
    for i, (label, value) in enumerate(items):
        y = TOP + row * i
        w = max(2.0, plot_w * value / highest)
        short = label if len(label) <= 20 else label[:19] + "…"
        parts.append(
            f'<text class="label" x="{label_width - 10}" y="{y + row / 2 + 4:.1f}" '
            f'text-anchor="end">{escape(short)}<title>{escape(label)}</title></text>'
            f'<rect class="mark s{i % 6 + 1}" x="{label_width}" y="{y + 5}" width="{w:.1f}" '
            f'height="{row - 10}" rx="3"><title>{escape(f"{label}: {fmt(value)}")}</title></rect>'
            f'<text class="value" x="{label_width + w + 8:.1f}" y="{y + row / 2 + 4:.1f}">'
            f"{escape(fmt(value))}</text>"
        )
    return _svg(chart_id, title, desc, "".join(parts), height=height)


def donut_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    parts: Sequence[tuple[str, float, str]],
    centre: str,
    centre_note: str,
    empty: str = "No unicorns yet.",
) -> SafeString:
    """A ring split into `parts` (label, value, css class), a figure in its middle, and a
    legend of labels, counts and shares below it."""
    width, height = 320, 200 + 28 * len(parts)
    total = sum(value for _, value, _ in parts)
    if total <= 0:
        return _svg(chart_id, title, desc, _empty(empty, width, height), width, height)
    cx, cy, r, thickness = width / 2, 92, 74, 26
    body = [f'<circle class="track" cx="{cx}" cy="{cy}" r="{r}" stroke-width="{thickness}"/>']
    start = -pi / 2
    for label, value, css in parts:
        if value <= 0:
            continue
        sweep = 2 * pi * value / total
        end = start + sweep
        tip = escape(f"{label}: {value:,.0f} ({value / total:.0%})")
        if sweep >= 2 * pi - 1e-9:
            body.append(
                f'<circle class="slice {escape(css)}" cx="{cx}" cy="{cy}" r="{r}" '
                f'stroke-width="{thickness}"><title>{tip}</title></circle>'
            )
        else:
            x1, y1 = cx + r * cos(start), cy + r * sin(start)
            x2, y2 = cx + r * cos(end), cy + r * sin(end)
            large = 1 if sweep > pi else 0
            body.append(
                f'<path class="slice {escape(css)}" stroke-width="{thickness}" '
                f'd="M {x1:.2f} {y1:.2f} A {r} {r} 0 {large} 1 {x2:.2f} {y2:.2f}">'
                f"<title>{tip}</title></path>"
            )
        start = end
    body.append(
        f'<text class="centre" x="{cx}" y="{cy + 8}" text-anchor="middle">{escape(centre)}</text>'
        f'<text class="centre-note" x="{cx}" y="{cy + 26}" text-anchor="middle">'
        f"{escape(centre_note)}</text>"
    )
    for i, (label, value, css) in enumerate(parts):
        y = 2 * cy + 36 + i * 28
        body.append(
            f'<rect class="swatch {escape(css)}" x="40" y="{y - 11}" width="14" height="14" '
            f'rx="3"/><text class="legend" x="64" y="{y}">{escape(label)}</text>'
            f'<text class="legend-value" x="{width - 40}" y="{y}" text-anchor="end">'
            f"{value:,.0f} · {value / total:.0%}</text>"
        )
    return _svg(chart_id, title, desc, "".join(body), width, height)


def legend(series: Sequence[Series]) -> SafeString:
    """An HTML legend for stacked series (the SVG's desc names them too)."""
    items = "".join(
        f'<li><span class="swatch {escape(s.css)}" aria-hidden="true"></span>{escape(s.name)}</li>'
        for s in series
    )
    return mark_safe(f'<ul class="chart-legend">{items}</ul>')  # noqa: S308 (escaped)
