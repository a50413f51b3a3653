"""Hour-by-hour charts of one place, drawn on the server as inline SVG.

Two charts share one time axis (the 48 forecast hours):

* the **level chart**: the place's warning score (the risk matrix of the chance
  of excess water and its impact, the quantity its level is decided on) against
  the level thresholds (dashed lines named in words), the place's level per hour
  as coloured columns, and the start of each level, the peak and the end of its
  warning marked;
* the **driver chart**: rain per hour as bars and, where the area has a sea, the
  sea level as a curve against the dike crest.

No script and no library: the SVG is part of the page, prints, and works with
JavaScript off. Every chart has a ``<title>``/``<desc>`` and the page carries the
same numbers as a table (the text alternative).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

#: Drawing size in SVG user units; the SVG scales to the page width.
WIDTH, HEIGHT = 560, 240
LEFT, RIGHT, TOP, BOTTOM = 52, 46, 18, 46

#: Dash pattern per level, so threshold lines are told apart without colour.
_LEVEL_DASH = {"yellow": "6 4", "orange": "10 4", "red": "2 3"}
_LEVEL_STROKE = {"yellow": "#8a6d00", "orange": "#a34400", "red": "#5c0618"}


@dataclass(frozen=True)
class Axis:
    """The shared time axis: one slot per forecast hour and its labels."""

    #: Tick labels per hour index (``""`` where no tick is drawn).
    ticks: Sequence[str]
    #: Caption of the axis (e.g. "Time (Danish time)").
    label: str

    @property
    def n(self) -> int:
        return len(self.ticks)

    def x(self, i: float) -> float:
        """Left edge of hour slot ``i`` (centre is ``x(i + 0.5)``)."""
        return LEFT + (WIDTH - LEFT - RIGHT) * i / max(1, self.n)


def _f(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _open(chart_id: str, title: str, desc: str) -> list[str]:
    return [
        f'<svg class="wx-chart" id="{chart_id}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]


def _time_axis(axis: Axis) -> list[str]:
    base = HEIGHT - BOTTOM
    out = [f'<line class="axis" x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}"/>']
    for i, tick in enumerate(axis.ticks):
        if not tick:
            continue
        x = _f(axis.x(i))
        out.append(f'<line class="tick" x1="{x}" y1="{base}" x2="{x}" y2="{base + 5}"/>')
        out.append(f'<text class="tick-label" x="{x}" y="{base + 18}" '
                   f'text-anchor="middle">{escape(tick)}</text>')
    out.append(f'<text class="axis-label" x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 6}" '
               f'text-anchor="middle">{escape(axis.label)}</text>')
    return out


def _y_axis(values: Sequence[float], to_y, fmt) -> list[str]:
    out = [f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}"/>']
    for v in values:
        y = _f(to_y(v))
        out.append(f'<line class="grid" x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}"/>')
        out.append(f'<text class="tick-label" x="{LEFT - 6}" y="{y}" text-anchor="end" '
                   f'dominant-baseline="middle">{escape(fmt(v))}</text>')
    return out


def level_chart(
    chart_id: str, axis: Axis, score: Sequence[float], levels: Sequence[int],
    thresholds: dict[str, tuple[float, str]], markers: Sequence[tuple[int, str]],
    *, title: str, desc: str, percent, y_label: str = "",
) -> str:
    """SVG of a place's warning score per hour against the level thresholds.

    Parameters
    ----------
    chart_id : str
        Unique id in the page (ids of title and description derive from it).
    axis : Axis
        The hours.
    score : sequence of float
        The warning score 0–1 per hour, compared with the thresholds to give the
        level (NaN: no value, drawn as a gap).
    levels : sequence of int
        0–3 per hour; each hour's column is tinted with its level's colour.
    thresholds : dict
        Level key -> (probability 0–1, label such as "Orange 40%").
    markers : sequence of (hour index, label)
        Vertical lines (onset, peak, end).
    title, desc : str
        Accessible name and description.
    percent : callable
        Formats a score 0–1 for the y axis.
    y_label : str
        Caption of the y axis, in plain words.
    """
    plot_h = HEIGHT - TOP - BOTTOM

    def to_y(p: float) -> float:
        return TOP + plot_h * (1.0 - min(1.0, max(0.0, p)))

    out = _open(chart_id, title, desc)
    keys = {1: "yellow", 2: "orange", 3: "red"}
    for i, lvl in enumerate(levels):
        if lvl > 0:
            x0, x1 = axis.x(i), axis.x(i + 1)
            out.append(f'<rect class="hour-level hour-level-{keys[lvl]}" x="{_f(x0)}" y="{TOP}" '
                       f'width="{_f(x1 - x0)}" height="{plot_h}" fill="var(--risk-{keys[lvl]})"'
                       ' fill-opacity="0.28"/>')
    out += _y_axis([0.0, 0.25, 0.5, 0.75, 1.0], to_y, percent)
    if y_label:
        out.append(f'<text class="axis-label y-axis-label" x="6" y="{TOP - 4}">'
                   f'{escape(y_label)}</text>')
    for key, (p, label) in thresholds.items():
        y = _f(to_y(p))
        out.append(f'<line class="threshold threshold-{key}" x1="{LEFT}" y1="{y}" '
                   f'x2="{WIDTH - RIGHT}" y2="{y}" stroke="{_LEVEL_STROKE.get(key, "#333")}" '
                   f'stroke-dasharray="{_LEVEL_DASH.get(key, "4 4")}"/>')
        out.append(f'<text class="threshold-label" x="{WIDTH - RIGHT - 4}" y="{_f(to_y(p) - 4)}" '
                   f'text-anchor="end">{escape(label)}</text>')
    points, path = [], []
    for i, p in enumerate(score):
        if p is None or not math.isfinite(p):
            if points:
                path.append(points)
            points = []
            continue
        points.append(f"{_f(axis.x(i + 0.5))},{_f(to_y(p))}")
    if points:
        path.append(points)
    for run in path:
        out.append(f'<polyline class="score" points="{" ".join(run)}"/>')
    out += _markers(axis, markers)
    out += _time_axis(axis)
    out.append("</svg>")
    return "\n".join(out)


def _markers(axis: Axis, markers: Sequence[tuple[int, str]]) -> list[str]:
    out = []
    for n, (i, label) in enumerate(markers):
        x = axis.x(i + 0.5)
        anchor = "start" if x < WIDTH * 0.75 else "end"
        dx = 3 if anchor == "start" else -3
        out.append(f'<line class="marker" x1="{_f(x)}" y1="{TOP}" x2="{_f(x)}" '
                   f'y2="{HEIGHT - BOTTOM}"/>')
        out.append(f'<text class="marker-label" x="{_f(x + dx)}" y="{TOP + 12 + 13 * (n % 3)}" '
                   f'text-anchor="{anchor}">{escape(label)}</text>')
    return out


def driver_chart(
    chart_id: str, axis: Axis, rain: Sequence[float] | None, sea_level: Sequence[float] | None,
    dike_crest: float | None, markers: Sequence[tuple[int, str]], *, title: str, desc: str,
    rain_label: str, sea_label: str, crest_label: str, metres,
) -> str:
    """SVG of the drivers over the same hours: rain bars (left axis, mm/h) and the sea
    level curve against the dike crest (right axis, m)."""
    plot_h = HEIGHT - TOP - BOTTOM
    out = _open(chart_id, title, desc)
    if rain is not None:
        finite = [r for r in rain if r is not None and math.isfinite(r)]
        top = max(2.0, math.ceil(max(finite, default=0.0) / 2.0) * 2.0)

        def rain_y(v: float) -> float:
            return TOP + plot_h * (1.0 - min(1.0, max(0.0, v) / top))

        out += _y_axis([0.0, top / 2, top], rain_y, lambda v: f"{_f(v)}")
        out.append(f'<text class="axis-label" x="6" y="{TOP - 4}">{escape(rain_label)}</text>')
        for i, r in enumerate(rain):
            if r is None or not math.isfinite(r) or r <= 0:
                continue
            x0, x1 = axis.x(i) + 1, axis.x(i + 1) - 1
            y = rain_y(r)
            out.append(f'<rect class="rain" x="{_f(x0)}" y="{_f(y)}" width="{_f(x1 - x0)}" '
                       f'height="{_f(TOP + plot_h - y)}"/>')
    if sea_level is not None:
        finite = [s for s in sea_level if s is not None and math.isfinite(s)]
        lo = min([*finite, *( [dike_crest] if dike_crest is not None else [])], default=0.0)
        hi = max([*finite, *( [dike_crest] if dike_crest is not None else [])], default=1.0)
        step = 0.5 if hi - lo <= 2.5 else 1.0
        lo, hi = math.floor(lo / step) * step - step, math.ceil(hi / step) * step + step

        def sea_y(v: float) -> float:
            return TOP + plot_h * (1.0 - (v - lo) / (hi - lo))

        ticks = [lo + i * step for i in range(round((hi - lo) / step) + 1)]
        for v in ticks[:: max(1, len(ticks) // 5)]:
            y = _f(sea_y(v))
            out.append(f'<text class="tick-label sea-tick" x="{WIDTH - RIGHT + 2}" y="{y}" '
                       f'dominant-baseline="middle">{escape(metres(v))}</text>')
        out.append(f'<text class="axis-label sea-axis-label" x="{WIDTH - 6}" y="{TOP - 4}" '
                   f'text-anchor="end">{escape(sea_label)}</text>')
        if dike_crest is not None and math.isfinite(dike_crest):
            y = _f(sea_y(dike_crest))
            out.append(f'<line class="crest" x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}"/>')
            out.append(f'<text class="crest-label" x="{LEFT + 4}" y="{_f(sea_y(dike_crest) - 4)}">'
                       f'{escape(crest_label)}</text>')
        pts = [f"{_f(axis.x(i + 0.5))},{_f(sea_y(s))}" for i, s in enumerate(sea_level)
               if s is not None and math.isfinite(s)]
        if pts:
            out.append(f'<polyline class="sea-level" points="{" ".join(pts)}"/>')
    out += _markers(axis, markers)
    out += _time_axis(axis)
    out.append("</svg>")
    return "\n".join(out)
