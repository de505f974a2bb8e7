"""Tables 二, 三 and 四 of a standard annual report → the fixed `report` structure.

`report["requests"][row][column]`, `report["review"|"suit_direct"|"suit_after_review"]
[column]` and `report["proactive"][item][column]` hold numbers, or None where the cell is
empty, unreadable, or (in a text rendering) not decided by the table's arithmetic.
"""

from __future__ import annotations

import re

from indexer.annual import recover
from indexer.annual import template as T
from indexer.annual.sources import CellText
from indexer.annual.tables import locate, row_cells, sections, spaced, value_pieces

WIDTH = len(T.REQUEST_COLUMNS)


def template_of(text: str) -> str:
    """"2021" or "2019": the table headers tell, else the notice the report cites."""
    if re.search(spaced("本年制发件数"), text) or re.search(spaced("申请人无正当理由逾期"), text):
        return "2021"
    if re.search(spaced("本年新制作数量"), text):
        return "2019"
    if "〔2021〕30号" in text or "[2021]30号" in text:
        return "2021"
    return "2019"


def read_tables(src: CellText) -> dict | None:
    """The tables of *src*, or None when it has no standard table 三."""
    text = src.text
    where = sections(text)
    if "requests" not in where:
        return None
    fmt = template_of(text)
    start, end = where["requests"]
    split_other = bool(re.search(spaced("申请人无正当理由逾期"), text[start:end]))
    rows = T.request_rows(split_other)
    segments = locate(text, rows, start, end)
    if len(segments) < len(rows) // 2:
        return None
    requests = _requests(segments, [k for k, _n, _l in rows], src.divided)
    report = {"template": fmt, "requests": requests}
    report.update(_appeals(text, where, src.divided))
    report["proactive"] = _proactive(text, where, fmt, src.divided)
    return report


def _requests(segments: dict[str, str], keys: list[str], divided: bool) -> dict:
    candidates = {}
    for key in keys:
        pieces = value_pieces(segments.get(key, ""))
        candidates[key] = row_cells(pieces, WIDTH, divided, recover.sums_to_last)
    # Rows with no candidate (not found, or no split adds up) are unknown in every cell.
    for key, cands in candidates.items():
        if not cands:
            candidates[key] = [(None,) * WIDTH]
    results = T.result_rows(keys)
    chosen = recover.choose(candidates, WIDTH, lambda rows: _columns_hold(rows, results))
    return {key: dict(zip(T.REQUEST_COLUMNS, chosen[key], strict=True)) for key in keys}


def _columns_hold(rows: dict[str, tuple], results: list[str]) -> bool:
    """Table 三's column identities, where every cell they need is known."""
    for c in range(WIDTH):
        parts = [rows[k][c] for k in results]
        closed = rows["closed"][c]
        if closed is not None and None not in parts and sum(parts) != closed:
            return False
        ends = (rows["new"][c], rows["carried_over"][c], closed, rows["carried_forward"][c])
        if None not in ends and ends[0] + ends[1] != ends[2] + ends[3]:
            return False
    return True


def _appeals(text: str, where: dict, divided: bool) -> dict:
    width = len(T.APPEAL_COLUMNS)
    empty = {g: dict.fromkeys(T.APPEAL_COLUMNS) for g in T.APPEAL_GROUPS}
    if "appeals" not in where:
        return empty
    start, end = where["appeals"]
    # The values follow the last header cell (the third 总计).
    last = None
    for m in re.finditer(spaced("总计"), text[start:end]):
        last = m
    if last is None:
        return empty
    pieces = value_pieces(text[start + last.end():end])

    def groups_add_up(cells):
        return all(recover.sums_to_last(cells[i:i + width])
                   for i in range(0, len(cells), width))

    cands = row_cells(pieces, width * len(T.APPEAL_GROUPS), divided, groups_add_up)
    cells = recover.agreed(cands, width * len(T.APPEAL_GROUPS))
    return {g: dict(zip(T.APPEAL_COLUMNS, cells[i * width:(i + 1) * width], strict=True))
            for i, g in enumerate(T.APPEAL_GROUPS)}


def _proactive(text: str, where: dict, fmt: str, divided: bool) -> dict:
    items = T.PROACTIVE[fmt]
    out = {key: dict.fromkeys(cols) for key, _label, cols in items}
    if "proactive" not in where:
        return out
    start = where["proactive"][0]
    end = where["requests"][0]
    segments = locate(text, [(key, "", label) for key, label, _cols in items], start, end)
    for key, _label, cols in items:
        # No arithmetic ties these cells together: a run is decided only when it can be
        # cut one way (e.g. "000"); only 本年增/减 can be negative.
        def signs_fit(cells, cols=cols):
            return all(v is None or v >= 0 or col == "change" for v, col in zip(cells, cols,
                                                                              strict=True))

        cands = row_cells(value_pieces(segments.get(key, "")), len(cols), divided, signs_fit)
        out[key] = dict(zip(cols, recover.agreed(cands, len(cols)), strict=True))
    return out
