"""An agency's annual-report figures over the years as an SVG bar chart: drawn on the
server, readable without JavaScript, every bar a link to its report."""

from __future__ import annotations

from markupsafe import Markup, escape

# (figure key, legend label, colour): bars of one year, left to right.
SERIES = (
    ("received", "本年新收申请", "#3465a4"),
    ("granted_or_partly", "予以公开或部分公开", "#4e9a06"),
    ("unable", "无法提供", "#c17d11"),
    ("denied", "不予公开", "#a40000"),
    ("appeals", "行政复议和诉讼", "#5c3566"),
)
WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 52, 8, 12, 30


# Series that add two of a row's figures (unknown when either is).
_SUMS = {"granted_or_partly": ("granted", "partly_granted"), "appeals": ("reviews", "lawsuits")}


def _value(row: dict, key: str):
    if key not in _SUMS:
        return row.get(key)
    parts = [row.get(k) for k in _SUMS[key]]
    return None if None in parts else sum(parts)


def _nice_max(value: float) -> int:
    """The axis top: the first of 1, 2, 3, 4, 5, 6, 8 times a power of ten at or above
    *value* (at least 4, so that the four grid steps are whole numbers)."""
    if value <= 4:
        return 4
    step = 1
    while True:
        for m in (1, 2, 3, 4, 5, 6, 8):
            if m * step >= value:
                return m * step
        step *= 10


def chart_svg(rows: list[dict], link) -> Markup:
    """*rows* (one per year, any order) as an SVG; *link(row)* gives a report's URL."""
    # Years whose report states none of the figures would be a row of "?": left out.
    rows = sorted((r for r in rows if any(_value(r, k) is not None for k, _l, _c in SERIES)),
                  key=lambda r: r["report_year"])
    values = [_value(r, k) for r in rows for k, _l, _c in SERIES]
    top = _nice_max(max([v for v in values if v is not None] or [0]))
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(rows))
    bar = min(18.0, (slot - 8) / len(SERIES))
    # No role="img": that would hide the bars' links from screen readers.
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="report-chart" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" aria-label="各年度依申请公开办理情况">']
    # The legend is HTML beside the chart (`SERIES`): it stays legible on a phone.
    for i in range(5):  # horizontal grid lines and their values
        v = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#ddd"/><text x="{LEFT - 6}" y="{y + 5:.1f}" font-size="14" '
                     f'text-anchor="end">{v:g}</text>')
    for i, row in enumerate(rows):
        x0 = LEFT + slot * i + (slot - bar * len(SERIES)) / 2
        # The whole year's column is the link, not only its bars (a thumb misses bars).
        parts.append(f'<a href="{escape(link(row))}"><rect class="hit-area" '
                     f'x="{LEFT + slot * i:.1f}" y="{TOP}" width="{slot:.1f}" '
                     f'height="{HEIGHT - TOP}" fill="transparent"/>')
        for j, (key, label, colour) in enumerate(SERIES):
            v = _value(row, key)
            bx = x0 + bar * j
            if v is None:  # not stated or not readable: a mark on the axis, not a zero
                parts.append(f'<text x="{bx + bar / 2:.1f}" y="{TOP + plot_h - 3}" '
                             f'font-size="12" text-anchor="middle" fill="#888">?</text>')
                continue
            h = plot_h * v / top
            parts.append(f'<rect x="{bx:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar - 1:.1f}" '
                         f'height="{h:.1f}" fill="{colour}"><title>{row["report_year"]}年 '
                         f'{escape(label)}：{v}</title></rect>')
        parts.append(f'<text x="{LEFT + slot * i + slot / 2:.1f}" y="{HEIGHT - 8}" '
                     f'font-size="14" text-anchor="middle">{row["report_year"]}</text></a>')
    parts.append("</svg>")
    return Markup("".join(parts))
