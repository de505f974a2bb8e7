"""The standard tables read from a `CellText`: rows found by their labels, in order, and
the value run after each label cut into cells.

Rows are looked for one after the other from the table's heading on, each label after
the previous one, so the words a label shares with headers and prose ("其他", "总计")
never match out of place. The text between a row's label and the next row's label holds
the rest of the label (PDF and Word wrap labels) and then the row's values, up to the
first character that cannot be part of a value.
"""

from __future__ import annotations

import re

from indexer.annual import recover
from indexer.annual import template as T
from indexer.annual.sources import NULL_TOKENS, cell_value

_VALUE_CHARS = r"0-9.,\s∅/／\-－—–"
_VALUE_RUN = re.compile(rf"[{_VALUE_CHARS}]*")
_FIRST_VALUE = re.compile(r"[0-9∅/／\-－—–]")
_MINUS_BORDER = re.compile(r"(?<=\d)(?=[-－]\d)")


def spaced(label: str) -> str:
    """A regex for *label* with any whitespace between its characters."""
    return r"\s*".join(re.escape(ch) for ch in label if not ch.isspace())


def heading(numeral: str, words: str) -> re.Pattern:
    return re.compile(rf"{numeral}\s*[、.．]\s*{spaced(words)}")


HEADINGS = {
    "proactive": heading("二", T.SECTION_PROACTIVE),
    "requests": heading("三", T.SECTION_REQUESTS),
    # Only the start: one report prints "行政法复议".
    "appeals": heading("四", "政府信息公开行政"),
    "problems": heading("五", "存在的主要问题"),
}


def sections(text: str) -> dict[str, tuple[int, int]]:
    """(start, end) of each table's section in *text*; a section ends where the next
    one found begins."""
    found = {}
    pos = 0
    for name, pattern in HEADINGS.items():
        m = pattern.search(text, pos)
        if m:
            found[name] = m.start()
            pos = m.end()
    names = list(found)
    out = {}
    for i, name in enumerate(names):
        end = found[names[i + 1]] if i + 1 < len(names) else len(text)
        out[name] = (found[name], end)
    return out


def _label_pattern(number: str, label: str) -> re.Pattern:
    if number:
        return re.compile(rf"{number}\s*[.．、]\s*{spaced(label)}")
    # "（一）" may be printed "(一)"
    label = re.sub(r"[（(]", "(", label)
    label = re.sub(r"[）)]", ")", label)
    pattern = spaced(label).replace(r"\(", r"[（(]").replace(r"\)", r"[）)]")
    return re.compile(pattern)


def locate(text: str, rows, start: int, end: int) -> dict[str, str]:
    """The text after each row's label up to the next found label, by row key (a row
    whose label is not found is left out)."""
    hits = []
    pos = start
    for key, number, label in rows:
        m = _label_pattern(number, label).search(text, pos, end)
        if m:
            hits.append((key, m.start(), m.end()))
            pos = m.end()
    out = {}
    for i, (key, _s, e) in enumerate(hits):
        stop = hits[i + 1][1] if i + 1 < len(hits) else end
        out[key] = text[e:stop]
    return out


def value_pieces(segment: str) -> list[str]:
    """The value run of a row's segment, split at whitespace: the rest of the label is
    skipped, and the run stops at the first character no value has."""
    m = _FIRST_VALUE.search(segment)
    if not m:
        return []
    run = _VALUE_RUN.match(segment, m.start()).group(0)
    # A minus sign after a digit opens the next cell ("2648-18538": 上一年项目数量 2648,
    # then 本年增/减 -185… run together with the next cell); a comma or full stop at a
    # piece's end is the sentence's, not the number's.
    pieces = (q.strip(",.") for p in re.split(r"\s+", run) for q in _MINUS_BORDER.split(p))
    return [q for q in pieces if q]


def row_cells(pieces: list[str], width: int, divided: bool, accept=None) -> list[tuple]:
    """Candidate rows of *width* cells. Divided text: the pieces themselves when there are
    exactly *width* of them (nothing otherwise: a missing cell is not guessed).
    Run-together text: every split the arithmetic (*accept*) allows."""
    if divided:
        # Empty cells after the last column (layout cells, merged cells) are not cells.
        while len(pieces) > width and pieces[-1] in NULL_TOKENS:
            pieces = pieces[:-1]
    if len(pieces) == width:
        return [tuple(cell_value(p) for p in pieces)]
    if divided or len(pieces) > width or any(p in NULL_TOKENS for p in pieces):
        return []
    return recover.row_candidates(pieces, width, accept or (lambda cells: True))
