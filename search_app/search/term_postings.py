"""One term's postings over the whole index, as the search evaluator reads them: from
each segment's numpy tables (`indexer.index.postings_tables`) or, for segments and
fields without tables, from Whoosh's posting blocks; joined across segments into global
document numbers; occurrences (positions) read on demand; cached per index generation
(`TermCache`, LRU by size). Character offsets, which older indexes store for words, are
never read: snippets find their matches in the stored text."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher

TERM_CACHE_BYTES = 160 * 1024 * 1024  # posting arrays kept per index generation


class Postings:
    """One term's postings over the whole index: global document numbers and weights,
    and (read on demand) every occurrence: posting k's occurrences are
    ``poff[k]:poff[k+1]`` of ``pos``."""

    __slots__ = ("ids", "weights", "poff", "pos", "nbytes", "spans", "scores")

    def __init__(self, ids, weights, poff=None, pos=None, spans=None):
        self.ids = ids
        self.weights = weights
        self.poff = poff
        self.pos = pos
        # Without occurrences: where each segment's occurrences lie in its table,
        # (table, first, end), so that a phrase adds them without reading the postings
        # again (None: a segment without tables, read again in full).
        self.spans = spans
        # BM25F of each posting, once computed: the statistics it needs (document
        # count, field lengths) are those of the cache's index generation.
        self.scores = None
        self.nbytes = sum(a.nbytes for a in (ids, weights, poff, pos) if a is not None)

    @property
    def has_values(self) -> bool:
        return self.pos is not None


_I64 = np.zeros(0, dtype=np.int64)
_EMPTY = Postings(_I64, np.zeros(0, dtype=np.float32), np.zeros(1, dtype=np.int32), _I64)


def _narrow(poff: np.ndarray) -> np.ndarray:
    """Occurrence offsets as int32 where they fit. With weights as float32 (a term
    frequency times a field boost, exact in it) a cached posting takes 24 bytes
    instead of 32: measured at a million documents, the term cache held 20 terms
    and 72% of the postings a run of plain queries read were terms it had dropped."""
    return poff.astype(np.int32) if len(poff) and poff[-1] < 2**31 else poff


def _read_table(table, btext: bytes, offset: int, with_values: bool):
    t = table.find(btext)
    if t < 0:
        return None
    docs, poff, pos, _, _, span = table.read(t, with_values, "p")
    ids = docs.astype(np.int64)
    ids += offset
    weights = np.diff(poff).astype(np.float32)  # see `_narrow`
    if table.boost != 1.0:
        weights *= np.float32(table.boost)
    # Positions stay in the table's narrow type (cached that way).
    return ids, weights, (poff, pos), (table,) + span


def _positions_of(span):
    """Positions of one segment's occurrences of a term."""
    table, a, b = span
    return table.pos[a:b]


def _read_matcher(m, offset: int, with_values: bool, chars: bool):
    """(ids, weights, occurrences) of a Whoosh leaf matcher, a block at a time when
    possible; the occurrences decoded from the compact formats' values."""
    ids, weights, values = [], [], []
    if isinstance(m, FilterMatcher):  # deleted documents: the live mask drops them later
        m = m.child
    if isinstance(m, W3LeafMatcher):
        while m.is_active():
            m._read_ids()
            m._read_weights()
            ids.append(np.asarray(m._ids, dtype=np.int64))
            weights.append(np.asarray(m._weights, dtype=np.float32))
            if with_values:
                m._read_values()
                values.extend(m._values)
            m._next_block()
    else:  # inlined postings of a rare term, or a ListMatcher
        i, w, v = [], [], []
        while m.is_active():
            i.append(m.id())
            w.append(m.weight())
            if with_values:
                v.append(m.value())
            m.next()
        ids.append(np.asarray(i, dtype=np.int64))
        weights.append(np.asarray(w, dtype=np.float32))
        values.extend(v)
    ids_a = np.concatenate(ids) + offset if ids else np.zeros(0, dtype=np.int64)
    w_a = np.concatenate(weights) if weights else np.zeros(0, dtype=np.float32)
    if not with_values:
        return ids_a, w_a, (None, None), None
    flats = [np.frombuffer(v, dtype=np.uint32, offset=4).astype(np.int64) for v in values]
    step = 3 if chars else 1
    poff = np.zeros(len(flats) + 1, dtype=np.int64)
    poff[1:] = np.cumsum([len(f) // step for f in flats])
    flat = np.concatenate(flats) if flats else _I64
    return ids_a, w_a, (poff, flat[0::step]), None


def _cat(arrays):
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


def _join(parts, with_values: bool) -> Postings:
    """One term's postings from its parts: (ids, weights, (poff, pos), span) per
    segment."""
    ids = _cat([p[0] for p in parts])
    ws = _cat([p[1] for p in parts])
    poffs = [p[2][0] for p in parts]
    if any(x is None for x in poffs):  # a segment without tables, read without values
        return Postings(ids, ws)
    base, glob = 0, []
    for i, poff in enumerate(poffs):
        glob.append(poff[(0 if i == 0 else 1):] + base)
        base += int(poff[-1])
    poff = _narrow(_cat(glob))
    if not with_values:
        return Postings(ids, ws, poff, spans=[p[3] for p in parts])
    return Postings(ids, ws, poff, _cat([p[2][1] for p in parts]))


def _restricted(p: Postings, sel: np.ndarray) -> Postings:
    """Postings *sel* (ascending) of *p* with their positions, decoding only the blocks
    of occurrences they lie in."""
    sizes = [b - a for _, a, b in p.spans]
    first = np.concatenate(([0], np.cumsum(sizes)))  # where each segment's part starts
    starts, ends = p.poff[sel].astype(np.int64), p.poff[sel + 1].astype(np.int64)
    part = np.searchsorted(first, starts, "right") - 1
    cuts = np.searchsorted(part, np.arange(len(p.spans) + 1))
    pos = []
    for i in range(len(p.spans)):
        a, b = int(cuts[i]), int(cuts[i + 1])
        if a == b:
            continue
        table, at, _ = p.spans[i]
        shift = at - int(first[i])
        pos.append(table.gather_positions(starts[a:b] + shift, ends[a:b] + shift))
    poff = _narrow(np.concatenate(([0], np.cumsum(ends - starts))))
    return Postings(p.ids[sel], p.weights[sel], poff, _cat(pos) if pos else _I64)


def _with_values(p: Postings) -> Postings:
    """*p* with its occurrences, read from where its spans say they lie."""
    out = Postings(p.ids, p.weights, p.poff, _cat([_positions_of(span) for span in p.spans]))
    if p.scores is not None:
        out.scores = p.scores
        out.nbytes += p.scores.nbytes
    return out


class TermCache:
    """Posting arrays of one index generation, shared by its threads (LRU by size)."""

    def __init__(self, limit: int = TERM_CACHE_BYTES):
        self.limit = limit
        self.size = 0
        self._d: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.lengths: dict[str, np.ndarray] = {}

    def get(self, key) -> Postings | None:
        with self._lock:
            entry = self._d.get(key)
            if entry is None:
                return None
            self._d.move_to_end(key)
            return entry[0]

    def put(self, key, p: Postings) -> None:
        """Adds *p*, or counts its size again (it grew: scores were added)."""
        with self._lock:
            old = self._d.pop(key, None)
            if old is not None:
                self.size -= old[1]
            self._d[key] = (p, p.nbytes)  # the size as counted
            self.size += p.nbytes
            while self.size > self.limit and len(self._d) > 1:
                _, (_, gone) = self._d.popitem(last=False)
                self.size -= gone
