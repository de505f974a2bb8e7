"""The matches-per-year timeline: bar geometry for an inline SVG drawn on the server.

Years with no match inside the range still get a slot, so the gaps in time show; each
bar links to the search filtered to its year.
"""

from __future__ import annotations

from dataclasses import dataclass

from search_app.search.types import Facet, SearchRequest
from search_app.web.params import with_changes

WIDTH = 600
HEIGHT = 120
PAD = 18  # side margins so the first and last year labels are not clipped
LABEL_SPACE = 16  # room under the bars for year labels
MAX_SPAN = 120  # years; a wider span (bad dates in the data) keeps only the latest ones


@dataclass
class Bar:
    year: int
    count: int
    x: float
    y: float
    width: float
    height: float
    selected: bool
    request: SearchRequest | None  # None for an empty slot (nothing to link to)
    label: bool  # print the year under this bar


@dataclass
class Timeline:
    bars: list[Bar]
    width: int = WIDTH
    height: int = HEIGHT
    chart_height: int = HEIGHT - LABEL_SPACE


def build_timeline(req: SearchRequest, facet: Facet | None) -> Timeline | None:
    if facet is None:
        return None
    counts: dict[int, int] = {}
    for fv in facet.values:
        value = str(fv.value)
        if value.isdigit() and len(value) == 4 and fv.count > 0:
            counts[int(value)] = counts.get(int(value), 0) + fv.count
    if not counts:
        return None
    last = max(counts)
    first = max(min(counts), last - MAX_SPAN + 1)
    years = list(range(first, last + 1))
    selected = set(req.filters.get("year", []))
    slot = (WIDTH - 2 * PAD) / len(years)
    gap = min(2.0, slot * 0.2)
    chart_h = HEIGHT - LABEL_SPACE
    peak = max(counts.values())
    label_every = max(1, -(-len(years) // 8))  # about eight labels whatever the span
    bars = []
    for i, year in enumerate(years):
        count = counts.get(year, 0)
        h = 0.0 if not count else max(2.0, (chart_h - 4) * count / peak)
        is_selected = str(year) in selected
        if count:
            new_years = [] if selected == {str(year)} else [str(year)]
            filters = {k: list(v) for k, v in req.filters.items() if k != "year"}
            if new_years:
                filters["year"] = new_years
            link = with_changes(req, filters=filters, page=1)
        else:
            link = None
        bars.append(Bar(year=year, count=count, x=round(PAD + i * slot + gap / 2, 2),
                        y=round(chart_h - h, 2), width=round(slot - gap, 2),
                        height=round(h, 2), selected=is_selected, request=link,
                        label=year == last or (i % label_every == 0
                                               and last - year >= label_every * 0.7)))
    return Timeline(bars=bars)
