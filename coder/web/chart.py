"""Line charts as inline SVG, drawn by our own code: no plotting library, no script, no CDN.

The report's monthly chart (precision, recall, F, accuracy and coverage by month, and the counts
of the workbook's Figure 6) is a picture the page carries inline, so it shows in any browser,
prints, and is saved with the page. Every text in it is escaped. A month without a value (a
precision with nothing auto-coded) leaves a gap: a series is one <polyline> per unbroken run of
months, each point a circle whose <title> the browser shows on hover. Colours come with dash
patterns, so the lines stay apart in print and for colour-blind readers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

WIDTH, HEIGHT = 960, 380
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 56, 64
FONT = "Microsoft YaHei, PingFang SC, Noto Sans CJK SC, sans-serif"
MAX_LABELS = 14  # month labels on the x axis; beyond, every k-th


@dataclass(frozen=True)
class Series:
    key: str  # a stable name (data-measure), e.g. "precision"
    label: str  # shown in the legend
    color: str
    values: Sequence[float | int | None]
    dash: str | None = None  # an SVG stroke-dasharray


# The report's measures, in the order of the legend.
MEASURES = (
    ("precision", "精确率 P", "#1f4e79", None),
    ("recall", "召回率 R", "#c0392b", "7 4"),
    ("f_measure", "F 值", "#2e8b57", "2 3"),
    ("accuracy", "准确率 A", "#7d3c98", "10 3 2 3"),
    ("coverage", "覆盖率", "#d35400", "4 2"),
)


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def _nice_max(top: float, steps: int = 5) -> float:
    """The top of a count axis of `steps` ticks: `steps` times 1, 2, 2.5, 4 or 5 times a power of ten,
    at or above `top` (at least `steps`, so ticks stay whole)."""
    if top <= steps:
        return float(steps)
    rough = top / steps
    power = 10 ** math.floor(math.log10(rough))
    whole = (1, 2, 2.5, 4, 5, 10) if power >= 10 else (1, 2, 4, 5, 10)  # no tick of 2.5 diagnoses
    step = next(m * power for m in whole if m * power >= rough)
    return float(step * steps)


def line_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    percent: bool,
    chart_id: str,
) -> Markup:
    """An SVG line chart of `series` over `categories` (a value per category, None for none).

    Percentages run from a floor of tens (the lowest value, less a margin; the axis is labelled) to
    100 %; counts from 0 to a round number."""
    n = len(categories)
    values = [v for s in series for v in s.values if v is not None]
    if percent:
        lo = max(0.0, math.floor((min(values, default=0.0) - 0.02) * 10) / 10)
        hi = 1.0
        ticks = [lo + i * (hi - lo) / 5 for i in range(6)] if lo > 0 else [i / 5 for i in range(6)]
    else:
        lo, hi = 0.0, _nice_max(max(values, default=0.0))
        ticks = [hi * i / 5 for i in range(6)]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + (plot_w / 2 if n == 1 else i * plot_w / (n - 1))

    def y(v: float) -> float:
        return TOP + plot_h - (v - lo) / ((hi - lo) or 1) * plot_h

    e = escape
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    span = f"{categories[0]} 至 {categories[-1]}，共 {n} 个月" if n else "没有数据"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{e(chart_id)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="{e(title_id)} {e(desc_id)}" font-family="{FONT}" font-size="12">',
        f'<title id="{e(title_id)}">{e(title)}</title>',
        f'<desc id="{e(desc_id)}">{e(span)}；{e("、".join(s.label for s in series))}</desc>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="22" font-size="15" font-weight="bold" fill="#1d2733">{e(title)}</text>',
    ]
    # grid and y axis
    out.append('<g class="y-axis" fill="#4a5866" text-anchor="end">')
    for t in ticks:
        ty = y(t)
        label = _pct(t).replace(".0%", "%") if percent else _num(t)
        out.append(
            f'<line x1="{LEFT}" y1="{ty:.1f}" x2="{WIDTH - RIGHT}" y2="{ty:.1f}" stroke="#e3e8ee" stroke-width="1"/>'
            f'<text x="{LEFT - 8}" y="{ty + 4:.1f}">{e(label)}</text>'
        )
    out.append("</g>")
    cy = TOP + plot_h / 2
    out.append(
        f'<text class="axis-title" x="16" y="{cy:.1f}" transform="rotate(-90 16 {cy:.1f})" text-anchor="middle" '
        f'fill="#4a5866">{e(y_label)}</text>'
    )
    # x axis
    base = TOP + plot_h
    out.append(f'<line x1="{LEFT}" y1="{base:.1f}" x2="{WIDTH - RIGHT}" y2="{base:.1f}" stroke="#9fb3c8"/>')
    step = max(1, math.ceil(n / MAX_LABELS))
    out.append('<g class="x-axis" fill="#4a5866" text-anchor="middle">')
    for i, c in enumerate(categories):
        if i % step == 0 or i == n - 1:
            out.append(
                f'<line x1="{x(i):.1f}" y1="{base:.1f}" x2="{x(i):.1f}" y2="{base + 5:.1f}" stroke="#9fb3c8"/>'
                f'<text x="{x(i):.1f}" y="{base + 20:.1f}">{e(c)}</text>'
            )
    out.append("</g>")
    out.append(
        f'<text class="axis-title" x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 12}" text-anchor="middle" '
        f'fill="#4a5866">{e(x_label)}</text>'
    )
    if percent and lo > 0:
        out.append(
            f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 12}" text-anchor="end" fill="#6b7c8f">'
            f"{e(f'纵轴从 {_pct(lo)} 起')}</text>"
        )
    # legend
    lx = LEFT
    for s in series:
        dash = f' stroke-dasharray="{e(s.dash)}"' if s.dash else ""
        out.append(
            f'<g class="legend" data-measure="{e(s.key)}">'
            f'<line x1="{lx}" y1="40" x2="{lx + 26}" y2="40" stroke="{e(s.color)}" stroke-width="2.5"{dash}/>'
            f'<text x="{lx + 32}" y="44" fill="#1d2733">{e(s.label)}</text></g>'
        )
        lx += 40 + 13 * len(s.label) + 24
    # the series
    for s in series:
        dash = f' stroke-dasharray="{e(s.dash)}"' if s.dash else ""
        out.append(f'<g class="series" data-measure="{e(s.key)}">')
        runs: list[list[tuple[float, float]]] = [[]]
        for i, v in enumerate(s.values[:n]):
            if v is None:
                runs.append([])
            else:
                runs[-1].append((x(i), y(v)))
        for run in runs:
            if len(run) > 1:
                points = " ".join(f"{px:.1f},{py:.1f}" for px, py in run)
                out.append(
                    f'<polyline points="{points}" fill="none" stroke="{e(s.color)}" stroke-width="2.5" '
                    f'stroke-linejoin="round"{dash}/>'
                )
        for i, v in enumerate(s.values[:n]):
            if v is not None:
                shown = _pct(v) if percent else _num(v)
                out.append(
                    f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5" fill="{e(s.color)}">'
                    f"<title>{e(categories[i])} {e(s.label)}：{e(shown)}</title></circle>"
                )
        out.append("</g>")
    out.append("</svg>")
    return Markup("".join(out))


def measures_chart(by_month: Sequence[dict[str, Any]], chart_id: str = "chart-measures") -> Markup:
    """Precision, recall, F, accuracy and coverage by month, from the report's by_month rows."""
    months = [r["month"] for r in by_month]
    series = [Series(key, label, color, [r[key] for r in by_month], dash) for key, label, color, dash in MEASURES]
    return line_chart(
        months,
        series,
        title="每月编码质量：精确率、召回率、F 值、准确率、覆盖率",
        x_label="月份（按最后一次人工审核的日期）",
        y_label="百分比",
        percent=True,
        chart_id=chart_id,
    )


def volume_chart(by_month: Sequence[dict[str, Any]], chart_id: str = "chart-volume") -> Markup:
    """Auto-coded vs confirmed correct by month: the workbook's chart (the paper's Figure 6)."""
    months = [r["month"] for r in by_month]
    series = [
        Series("auto_coded", "自动编码（TP+FP）", "#1f4e79", [r["tp"] + r["fp"] for r in by_month]),
        Series("confirmed_correct", "确认正确（TP）", "#2e8b57", [r["tp"] for r in by_month], "6 3"),
    ]
    return line_chart(
        months,
        series,
        title="每月自动编码与确认正确的诊断数",
        x_label="月份",
        y_label="诊断数（条）",
        percent=False,
        chart_id=chart_id,
    )
