"""Cells that a text rendering ran together, recovered from the table's own arithmetic.

A text rendering prints a row of table 三 as "801000081": seven cells (80, 1, 0, 0, 0, 0,
81) with their borders lost. Spaces, where the rendering kept any, are borders; digits
between them may be several cells. The splits of a row that respect those borders, write
no number with a leading zero and make the six applicant columns add up to 总计 are its
candidates; the column identities of the table (the result rows add up to (七)总计, and
一 + 二 = (七) + 四) then choose among the rows' candidates. A cell is recovered when every
arrangement that satisfies all of them agrees on it; otherwise it stays None.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import combinations, product

from indexer.annual.sources import cell_value

# Beyond this many arrangements of the ambiguous rows, give up on the column identities
# (each row then keeps only what its own candidates agree on).
MAX_ARRANGEMENTS = 200_000
MAX_SPLITS = 5_000

Cells = tuple  # a row's cells: ints, floats or None


def splits(piece: str, parts: int) -> list[tuple[int, ...]]:
    """Every way to cut the digit string *piece* into *parts* numbers, none of them
    written with a leading zero; a leading minus sign belongs to the first."""
    if piece[:1] in ("-", "－"):
        return [(-first, *rest) for first, *rest in splits(piece[1:], parts)
                if first != 0]
    n = len(piece)
    if parts < 1 or parts > n:
        return []
    out = []
    for cuts in combinations(range(1, n), parts - 1):
        bounds = (0, *cuts, n)
        chunks = [piece[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
        if any(len(c) > 1 and c[0] == "0" for c in chunks):
            continue
        out.append(tuple(int(c) for c in chunks))
        if len(out) > MAX_SPLITS:
            break
    return out


def row_candidates(pieces: Sequence[str], width: int,
                   accept: Callable[[Cells], bool] = lambda cells: True) -> list[Cells]:
    """The rows of *width* cells that *pieces* (strings between borders) can be, each piece
    one cell or several, and that *accept* lets through. A piece that is not a plain digit
    string ("12.5", "/") is one cell."""
    def options(piece: str, parts: int):
        if parts == 1:
            return [(cell_value(piece),)]
        return splits(piece, parts) if piece.lstrip("-－").isdigit() else []

    out: list[Cells] = []

    def walk(i: int, left: int, acc: tuple) -> None:
        if len(out) > MAX_SPLITS:
            return
        if i == len(pieces):
            if left == 0 and accept(acc):
                out.append(acc)
            return
        rest = len(pieces) - i - 1
        for parts in range(1, left - rest + 1):
            for cells in options(pieces[i], parts):
                walk(i + 1, left - parts, acc + cells)

    if pieces and len(pieces) <= width:
        walk(0, width, ())
    return out


def sums_to_last(cells: Cells) -> bool:
    """The row's cells before the last add up to the last (None counts as unknown)."""
    if any(c is None for c in cells):
        return True
    return sum(cells[:-1]) == cells[-1]


def agreed(candidates: Sequence[Cells], width: int) -> Cells:
    """Each cell on which all *candidates* agree, else None."""
    if not candidates:
        return (None,) * width
    first = candidates[0]
    return tuple(first[i] if all(c[i] == first[i] for c in candidates) else None
                 for i in range(width))


def choose(candidates: dict[str, list[Cells]], width: int,
           consistent: Callable[[dict[str, Cells]], bool]) -> dict[str, Cells]:
    """One row of cells per key: the cells every consistent arrangement of the rows'
    *candidates* agrees on. When no arrangement is consistent (a report whose own sums
    are off) or there are too many to try, each row keeps what its own candidates agree
    on."""
    fixed = {k: c[0] for k, c in candidates.items() if len(c) == 1}
    open_keys = [k for k, c in candidates.items() if len(c) > 1]
    size = 1
    for k in open_keys:
        size *= len(candidates[k])
    alone = {k: agreed(c, width) for k, c in candidates.items()}
    if not open_keys or size > MAX_ARRANGEMENTS:
        return alone
    survivors = []
    for combo in product(*(candidates[k] for k in open_keys)):
        rows = dict(fixed, **dict(zip(open_keys, combo, strict=True)))
        if consistent(rows):
            survivors.append(combo)
    if not survivors:
        return alone
    out = dict(fixed)
    for i, k in enumerate(open_keys):
        out[k] = agreed([s[i] for s in survivors], width)
    return out
