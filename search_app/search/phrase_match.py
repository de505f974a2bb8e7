"""Matching a phrase's terms by their positions, with numpy: each term's occurrences
as sorted ``document << 32 | position`` keys, so that each step of the match is one
search in C, over the candidate documents only."""

from __future__ import annotations

import numpy as np

from indexer.index.distinct import distinct, distinct_sorted
from indexer.index.packing import ranges
from search_app.search.doc_sets import member, select


def _joined(grams) -> str:
    """The text whose overlapping bigrams are *grams* ("" when they do not overlap)."""
    grams = [g.decode() if isinstance(g, bytes) else g for g in grams]
    if not grams or any(len(g) != 2 for g in grams):
        return ""
    out = grams[0]
    for a, b in zip(grams, grams[1:], strict=False):
        if a[1] != b[0]:
            return ""
        out += b[1]
    return out


def _sorted_unique(a: np.ndarray) -> np.ndarray:
    """``np.unique(a)`` for an *a* that is almost always sorted already (keys gathered
    posting by posting): one comparison pass instead of a sort."""
    if len(a) < 2:
        return a
    return distinct_sorted(a) if (a[1:] >= a[:-1]).all() else distinct(a)


def _phrase_docs(ps, cand: np.ndarray, slop: int) -> np.ndarray:
    """Documents among *cand* (sorted document numbers) where the terms of *ps* occur
    in order: at consecutive positions for slop 1, else each next term 1..slop positions
    after the previous one (Whoosh's ordered SpanNear with mindist 1). Occurrences are compared as
    ``document << 32 | position`` keys, sorted, so each step is a search in C."""
    n = len(ps)

    def keys(i: int, alive: np.ndarray) -> np.ndarray:
        """Keys of term i's occurrences in the *alive* documents (sorted numbers),
        gathering only their postings' occurrences (a common word has millions; the
        candidates are few)."""
        p = ps[i]
        sel = select(p.ids, alive)
        first, end = p.poff[sel], p.poff[sel + 1]
        lens = end - first
        docs = np.repeat(p.ids[sel], lens)
        # Index of every occurrence of the selected postings, in order.
        at = ranges(first, lens)
        return (docs << 32) | p.pos[at].astype(np.int64)

    alive = cand
    if slop <= 1:
        # Start positions (position of term i minus i) consistent with every term,
        # rarest term first: it rules out most starts at once.
        order = sorted(range(n), key=lambda i: len(ps[i].ids))
        first = order[0]
        starts = keys(first, alive) - first
        for i in order[1:]:
            if not len(starts):
                break
            alive = _sorted_unique(starts >> 32)
            ki = _sorted_unique(keys(i, alive) - i)
            starts = starts[member(ki, starts)]
        return _sorted_unique(starts >> 32)
    reach = keys(0, alive)
    for i in range(1, n):
        if not len(reach):
            break
        reach = _sorted_unique(reach)
        alive = _sorted_unique(reach >> 32)
        q = keys(i, alive)
        ok = np.zeros(len(q), dtype=bool)
        for k in range(1, slop + 1):
            ok |= member(reach, q - k)
        reach = q[ok]
    return _sorted_unique(reach >> 32)
