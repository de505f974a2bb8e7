"""Whole-collection evaluation of a compiled query with numpy: one pass gives both the
matching documents (a boolean mask, for totals and facet counts) and their BM25F
scores (a dense float array, for the top hits).

Why not Whoosh's matchers: they walk documents one at a time in Python, and the
backend needed two such walks per request (``docs_for_query`` for the mask, then
``search`` for the scores). Here a term's postings are slices of the segment's numpy
tables (`indexer.index.postings_tables`, written by the indexer for title, body and their exact
bigram fields; other fields, and segments written by plain Whoosh, are read from
Whoosh's posting blocks), cached per index generation; boolean structure is array
arithmetic; and a phrase is checked only in documents that contain all its terms (and,
through ``within``, only where the caller still needs an answer), by intersecting
sorted ``document << 32 | position`` keys of its terms' occurrences.

Scores follow Whoosh's own definitions so that ranking does not change: BM25F per
term (``idf = log(N / (df + 1)) + 1``, B=0.75, K1=1.2, the weight stored in the
posting, the document's field length), sums over Or/And children, phrase = the sum of
its terms' scores, query boosts multiplied in.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from math import log

import numpy as np
from whoosh import query as wq
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher

from indexer.index.codec import tables_of
from indexer.index.columns import LENGTH_OF_BYTE, length_codes
from indexer.index.postings import CompactCharacters

B, K1 = 0.75, 1.2  # Whoosh's BM25F defaults, which the backend's searchers use
TERM_CACHE_BYTES = 160 * 1024 * 1024  # posting arrays kept per index generation
# A phrase reads its candidates' positions one posting at a time when the term has over
# this many occurrences per candidate; else all of the term's (measured: a read costs
# about as much as copying this many positions).
OCCURRENCES_PER_READ = 2500


class Postings:
    """One term's postings over the whole index: global document numbers and weights,
    and (read on demand) every occurrence: posting k's occurrences are
    ``poff[k]:poff[k+1]`` of ``pos`` (and of ``start``/``end`` for fields that store
    character offsets)."""

    __slots__ = ("ids", "weights", "poff", "pos", "start", "end", "nbytes", "spans",
                 "scores")

    def __init__(self, ids, weights, poff=None, pos=None, start=None, end=None,
                 spans=None):
        self.ids = ids
        self.weights = weights
        self.poff = poff
        self.pos = pos
        self.start = start
        self.end = end
        # Without occurrences: where each segment's occurrences lie in its table,
        # (table, first, end), so that a phrase adds them without reading the postings
        # again (None: a segment without tables, read again in full).
        self.spans = spans
        # BM25F of each posting, once computed: the statistics it needs (document
        # count, field lengths) are those of the cache's index generation.
        self.scores = None
        self.nbytes = sum(a.nbytes for a in (ids, weights, poff, pos, start, end)
                          if a is not None)

    @property
    def has_values(self) -> bool:
        return self.pos is not None


_I64 = np.zeros(0, dtype=np.int64)
_EMPTY = Postings(_I64, np.zeros(0, dtype=np.float64), np.zeros(1, dtype=np.int64), _I64,
                  _I64, _I64)


def _read_table(table, btext: bytes, offset: int, with_values: bool):
    t = table.find(btext)
    if t < 0:
        return None
    docs, poff, pos, start, end, span = table.read(t, with_values)
    ids = docs.astype(np.int64)
    ids += offset
    weights = np.diff(poff).astype(np.float64)
    if table.boost != 1.0:
        weights *= table.boost
    # Positions and offsets stay in the table's narrow type (cached that way).
    return ids, weights, (poff, pos, start, end), (table,) + span


def _values_of(span):
    """Positions (and offsets) of one segment's occurrences of a term."""
    table, a, b = span
    return (table.pos[a:b], None if table.start is None else table.start[a:b],
            None if table.end is None else table.end[a:b])


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
            weights.append(np.asarray(m._weights, dtype=np.float64))
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
        weights.append(np.asarray(w, dtype=np.float64))
        values.extend(v)
    ids_a = np.concatenate(ids) + offset if ids else np.zeros(0, dtype=np.int64)
    w_a = np.concatenate(weights) if weights else np.zeros(0, dtype=np.float64)
    if not with_values:
        return ids_a, w_a, (None, None, None, None), None
    flats = [np.frombuffer(v, dtype=np.uint32, offset=4).astype(np.int64) for v in values]
    step = 3 if chars else 1
    poff = np.zeros(len(flats) + 1, dtype=np.int64)
    poff[1:] = np.cumsum([len(f) // step for f in flats])
    flat = np.concatenate(flats) if flats else _I64
    occ = (poff, flat[0::3], flat[1::3], flat[2::3]) if chars else (poff, flat, None, None)
    return ids_a, w_a, occ, None


def _cat(arrays):
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


def _join(parts, with_values: bool) -> Postings:
    """One term's postings from its parts: (ids, weights, (poff, pos, start, end),
    span) per segment."""
    ids = _cat([p[0] for p in parts])
    ws = _cat([p[1] for p in parts])
    poffs = [p[2][0] for p in parts]
    if any(x is None for x in poffs):  # a segment without tables, read without values
        return Postings(ids, ws)
    base, glob = 0, []
    for i, poff in enumerate(poffs):
        glob.append(poff[(0 if i == 0 else 1):] + base)
        base += int(poff[-1])
    poff = _cat(glob)
    if not with_values:
        return Postings(ids, ws, poff, spans=[p[3] for p in parts])
    pos, start, end = ([p[2][k] for p in parts] for k in (1, 2, 3))
    chars = all(x is not None for x in start)
    return Postings(ids, ws, poff, _cat(pos), _cat(start) if chars else None,
                    _cat(end) if chars else None)


def _restricted(p: Postings, sel: np.ndarray, offsets: bool = False) -> Postings:
    """Postings *sel* of *p* with their positions (and with *offsets*, their character
    offsets), read posting by posting."""
    sizes = [b - a for _, a, b in p.spans]
    first = np.concatenate(([0], np.cumsum(sizes)))  # where each segment's part starts
    starts, ends = p.poff[sel], p.poff[sel + 1]
    part = np.searchsorted(first, starts, "right") - 1
    pos, start, end = [], [], []
    for s, e, i in zip(starts.tolist(), ends.tolist(), part.tolist(), strict=True):
        table, a, _ = p.spans[i]
        lo, hi = a + s - int(first[i]), a + e - int(first[i])
        pos.append(table.pos[lo:hi])
        if offsets and table.start is not None:
            start.append(table.start[lo:hi])
            end.append(table.end[lo:hi])
    poff = np.concatenate(([0], np.cumsum(ends - starts)))
    out = Postings(p.ids[sel], p.weights[sel], poff, _cat(pos) if pos else _I64)
    if start:
        out.start, out.end = _cat(start), _cat(end)
    return out


def _with_values(p: Postings) -> Postings:
    """*p* with its occurrences, read from where its spans say they lie."""
    vals = [_values_of(span) for span in p.spans]
    pos, start, end = ([v[k] for v in vals] for k in (0, 1, 2))
    chars = all(x is not None for x in start)
    out = Postings(p.ids, p.weights, p.poff, _cat(pos), _cat(start) if chars else None,
                   _cat(end) if chars else None)
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


class Result:
    """A query's matching documents and their scores (0 where not matching)."""

    __slots__ = ("mask", "score")

    def __init__(self, mask: np.ndarray, score: np.ndarray):
        self.mask = mask
        self.score = score


class Evaluator:
    """Evaluates compiled queries against one searcher (one thread's)."""

    def __init__(self, searcher, cache: TermCache, live: np.ndarray, year: np.ndarray):
        self.s = searcher
        self.reader = searcher.reader()
        self.cache = cache
        self.live = live
        self.year = year
        self.n = live.shape[0]
        self.leaves = [(leaf.reader(), off) for leaf, off in searcher.leaf_searchers()]
        self.schema = searcher.schema
        # (exact field, text) → documents known to contain text in that field (sorted
        # document numbers).
        self._implied: dict = {}

    # --- postings and scores ----------------------------------------------------

    def postings(self, field: str, text, with_values: bool = False) -> Postings:
        key = self._key(field, text)
        if key is None:
            return _EMPTY
        btext = key[1]
        p = self.cache.get(key)
        if p is not None and (p.has_values or not with_values):
            return p
        if p is not None and p.spans is not None and None not in p.spans:
            p = _with_values(p) if p.spans else _EMPTY
            self.cache.put(key, p)
            return p
        chars = isinstance(self.schema[field].format, CompactCharacters)
        parts = []
        for reader, off in self.leaves:
            tables = tables_of(reader)
            if field in tables:
                part = _read_table(tables[field], btext, off, with_values)
                if part is not None:
                    parts.append(part)
            elif (field, btext) in reader:
                parts.append(_read_matcher(reader.postings(field, btext), off, with_values,
                                           chars))
        p = _join(parts, with_values) if parts else _EMPTY
        self.cache.put(key, p)
        return p

    def _key(self, field: str, text) -> tuple | None:
        """The cache key of a term (None: no such term can exist)."""
        if field not in self.schema:
            return None
        try:
            btext = self.schema[field].to_bytes(text) if isinstance(text, str) else text
        except ValueError:
            return None
        return (field, btext)

    def char_spans(self, field: str, text: str, docnum: int) -> set[tuple[int, int]]:
        """(start, end) of each place where *text* is indexed as a word or sub-word in
        document *docnum*'s *field*, from the stored character offsets: of the cached
        occurrences, else of this one posting's (a common word's are megabytes)."""
        p = self.postings(field, text)
        i = int(np.searchsorted(p.ids, docnum))
        if i >= len(p.ids) or p.ids[i] != docnum:
            return set()
        if not p.has_values and p.spans and None not in p.spans:
            p, i = _restricted(p, np.array([i]), offsets=True), 0
        elif not p.has_values:
            p = self.postings(field, text, with_values=True)
        if p.start is None:
            return set()
        a, b = int(p.poff[i]), int(p.poff[i + 1])
        return set(zip(p.start[a:b].tolist(), p.end[a:b].tolist(), strict=True))

    def field_lengths(self, field: str) -> np.ndarray | None:
        """Per-document lengths of a scorable field (None: the field has none)."""
        lengths = self.cache.lengths.get(field)
        if lengths is None:
            if not self.schema[field].scorable:
                return None
            lengths = np.zeros(self.n, dtype=np.float64)
            for reader, off in self.leaves:
                n = reader.doc_count_all()
                codes = length_codes(reader, field)
                if codes is not None:  # the column's bytes at once, not a call per doc
                    lengths[off:off + n] = LENGTH_OF_BYTE[codes]
                else:
                    dfl = reader.doc_field_length
                    for d in range(n):
                        lengths[off + d] = dfl(d, field, 1)
            self.cache.lengths[field] = lengths
        return lengths

    def term_scores(self, field: str, text, p: Postings, sel=None) -> np.ndarray:
        """BM25F of each posting in *p*, or of those selected by *sel* (Whoosh's
        formula and statistics)."""
        if p.scores is None:
            lengths = self.field_lengths(field)
            if lengths is None:
                p.scores = p.weights
            else:
                # Whoosh's idf (log(N / (df + 1)) + 1, deleted documents counted in
                # both, as Whoosh counts them): df is the number of postings, already
                # in hand, instead of a second term lookup in every segment.
                idf = log(self.n / (len(p.ids) + 1)) + 1
                avgfl = self.s.avg_field_length(field) or 1
                tf, fl = p.weights, lengths[p.ids]
                p.scores = idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * fl / avgfl)))
                p.nbytes += p.scores.nbytes
                if len(p.ids):
                    self.cache.put(self._key(field, text), p)
        return p.scores if sel is None else p.scores[sel]

    # --- evaluation ---------------------------------------------------------------

    def run(self, q, within: np.ndarray | None = None) -> Result:
        """Mask and scores of *q*. With *within*, the answer is exact only inside it
        (phrases are not checked elsewhere), which is all an optional clause or the
        second operand of an And needs."""
        out = self._eval(q, within)
        out.mask &= self.live
        out.score[~out.mask] = 0.0  # deleted documents' postings are still on disk
        return out

    def _empty(self) -> Result:
        return Result(np.zeros(self.n, dtype=bool), np.zeros(self.n, dtype=np.float64))

    def _eval(self, q, within) -> Result:
        boost = getattr(q, "boost", 1.0)
        if isinstance(q, wq.Term):
            r = self._term(q.fieldname, q.text)
        elif isinstance(q, wq.Phrase):
            r = self._phrase(q.fieldname, q.words, q.slop, within)
        elif isinstance(q, wq.AndNot):
            r = self._eval(q.a, within)
            neg = self._eval(q.b, r.mask if within is None else (r.mask & within))
            r.mask &= ~neg.mask
            r.score[~r.mask] = 0.0
        elif isinstance(q, wq.AndMaybe):
            r = self._eval(q.a, within)
            opt = self._eval(q.b, r.mask if within is None else (r.mask & within))
            opt.score[~r.mask] = 0.0
            r.score += opt.score
        elif isinstance(q, wq.And):
            # Cheap children first, so that phrases are checked only in documents that
            # every other child already matches.
            kids = sorted(q.subqueries, key=_cost)
            # Documents that could match every child, from their terms' postings alone:
            # a phrase inside the first child is then checked only there, not in the
            # whole collection.
            bounds = [b for b in (self._bound(k) for k in kids) if b is not None]
            if bounds:
                # (Bounds are new arrays: combining them in place changes no caller's.)
                within = bounds[0] if within is None else within & bounds[0]
                for b in bounds[1:]:
                    within &= b
            r = None
            for k in kids:
                lim = within if r is None else (r.mask if within is None else r.mask & within)
                kr = self._eval(k, lim)
                if r is None:
                    r = kr
                else:
                    r.mask &= kr.mask
                    r.score += kr.score
            if r is None:
                r = self._empty()
            r.score[~r.mask] = 0.0
        elif isinstance(q, wq.Or):
            r = self._empty()
            # Terms first: a word found as a word in title/body has its characters in
            # title_exact/body_exact, so a sibling exact-character phrase of the same
            # text needs no position check in those documents (see `_phrase`).
            kids = sorted(q.subqueries, key=_cost)
            added = []
            for k in kids:
                if isinstance(k, wq.Term):
                    # Added in place: no arrays of the whole collection for a term.
                    p = self._add_term(r, k.fieldname, k.text, k.boost)
                    key = (k.fieldname + "_exact", k.text)
                    if k.fieldname in ("title", "body") and key not in self._implied:
                        self._implied[key] = p.ids
                        added.append(key)
                    continue
                kr = self._eval(k, within)
                r.mask |= kr.mask
                r.score += kr.score  # 0 outside kr.mask (every branch keeps it so)
            for key in added:
                del self._implied[key]
        elif isinstance(q, wq.Not):
            inner = self._eval(q.query, within)
            r = Result(self.live & ~inner.mask, np.zeros(self.n, dtype=np.float64))
        elif isinstance(q, wq.Every):
            r = Result(self.live.copy(), np.zeros(self.n, dtype=np.float64))
        elif isinstance(q, wq.NumericRange) and q.fieldname == "year":
            lo = q.start if q.start is not None else -1
            hi = q.end if q.end is not None else 1 << 31
            m = (self.year >= lo) & (self.year <= hi)
            r = Result(m, m.astype(np.float64))
        elif isinstance(q, wq.Prefix):
            r = self._empty()
            field = q.fieldname
            for text in self.reader.expand_prefix(field, q.text):
                p = self.postings(field, text)
                r.mask[p.ids] = True
            r.score[r.mask] = 1.0  # Whoosh scores a prefix query as a constant
        elif isinstance(q, wq.NullQuery.__class__) or q is wq.NullQuery:
            r = self._empty()
        else:  # anything else: Whoosh's own matcher (not used by compiled queries)
            r = self._empty()
            m = q.matcher(self.s)
            while m.is_active():
                r.mask[m.id()] = True
                r.score[m.id()] = m.score()
                m.next()
            boost = 1.0
        if boost != 1.0:
            r.score *= boost
        return r

    def _positions(self, field: str, word, p: Postings, alive: np.ndarray) -> Postings:
        """*p* with positions, at least in the *alive* documents. A few candidates of a
        common term get their own occurrences read (a read each) instead of all of the
        term's (a bigram such as 人民 has millions)."""
        if p.has_values:
            return p
        sel = np.flatnonzero(alive[p.ids])
        if (p.spans and None not in p.spans
                and len(sel) * OCCURRENCES_PER_READ < int(p.poff[-1])):
            return _restricted(p, sel)
        return self.postings(field, word, with_values=True)

    def _bound(self, q) -> np.ndarray | None:
        """A mask of documents that contains every match of *q* (None: any document
        may match), from postings without positions: a phrase's bound is where all
        its terms occur."""
        if isinstance(q, wq.Term | wq.Phrase):
            out = np.zeros(self.n, dtype=bool)
            out[self._bound_ids(q)] = True
            return out
        if isinstance(q, wq.Or):
            out = np.zeros(self.n, dtype=bool)
            for k in q.subqueries:
                if isinstance(k, wq.Term | wq.Phrase):  # no mask of its own needed
                    out[self._bound_ids(k)] = True
                    continue
                b = self._bound(k)
                if b is None:
                    return None
                out |= b
            return out
        if isinstance(q, wq.And):
            out = None
            for k in q.subqueries:
                b = self._bound(k)
                if b is not None:
                    out = b if out is None else (out & b)
            return out
        if isinstance(q, wq.AndMaybe | wq.AndNot):
            return self._bound(q.a)
        return None

    def _bound_ids(self, q) -> np.ndarray:
        """The bound of a term or phrase as sorted document numbers."""
        if isinstance(q, wq.Term):
            return self.postings(q.fieldname, q.text).ids
        if not q.words:
            return _I64
        return _intersect([self.postings(q.fieldname, w).ids for w in q.words])

    def _term(self, field: str, text) -> Result:
        r = self._empty()
        self._add_term(r, field, text)
        return r

    def _add_term(self, r: Result, field: str, text, boost: float = 1.0) -> Postings:
        """Adds a term's documents and scores to *r*; returns its postings."""
        p = self.postings(field, text)
        if len(p.ids):
            r.mask[p.ids] = True
            sc = self.term_scores(field, text, p)
            r.score[p.ids] += sc if boost == 1.0 else sc * boost
        return p

    def _phrase(self, field: str, words, slop: int, within) -> Result:
        r = self._empty()
        if not words:
            return r
        # Positions are read only once some document could match: one term (the
        # exact alternative of a two-character word, say) never needs them.
        ps = [self.postings(field, w) for w in words]
        # Candidates as sorted document numbers: intersecting from the rarest term
        # touches only its postings, not the whole collection.
        cand = _intersect([p.ids for p in ps])
        if within is not None:
            cand = cand[within[cand]]
        implied = self._implied.get((field, _joined(words))) if self._implied else None
        if implied is not None and len(cand):
            known = _member(implied, cand)
            r.mask[cand[known]] = True
            cand = cand[~known]
        if len(ps) == 1:
            r.mask[cand] = True
        elif len(cand):
            alive = np.zeros(self.n, dtype=bool)
            alive[cand] = True
            views = [self._positions(field, w, p, alive) for w, p in zip(words, ps,
                                                                           strict=True)]
            r.mask[_phrase_docs(views, alive, slop)] = True
        # Scores only where the phrase matched (often a handful of a term's postings).
        for w, p in zip(words, ps, strict=True):
            sel = r.mask[p.ids]
            if sel.any():
                r.score[p.ids[sel]] += self.term_scores(field, w, p, sel)
        return r


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


def _member(sorted_keys: np.ndarray, probe: np.ndarray) -> np.ndarray:
    """Which of *probe* are in *sorted_keys*."""
    if not len(sorted_keys):
        return np.zeros(len(probe), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, probe), len(sorted_keys) - 1)
    return sorted_keys[at] == probe


def _sorted_unique(a: np.ndarray) -> np.ndarray:
    """``np.unique(a)`` for an *a* that is almost always sorted already (keys gathered
    posting by posting): one comparison pass instead of a sort."""
    if len(a) < 2:
        return a
    step = a[1:] != a[:-1]
    if not (a[1:] >= a[:-1]).all():
        return np.unique(a)
    return a[np.concatenate(([True], step))]


def _intersect(id_arrays: list[np.ndarray]) -> np.ndarray:
    """The numbers in every one of the sorted *id_arrays*, ascending."""
    arrays = sorted(id_arrays, key=len)
    out = arrays[0]
    for ids in arrays[1:]:
        if not len(out):
            break
        out = out[_member(ids, out)]
    return out


def _phrase_docs(ps, cand: np.ndarray, slop: int) -> np.ndarray:
    """Documents among *cand* where the terms of *ps* occur in order: at consecutive
    positions for slop 1, else each next term 1..slop positions after the previous one
    (Whoosh's ordered SpanNear with mindist 1). Occurrences are compared as
    ``document << 32 | position`` keys, sorted, so each step is a search in C."""
    n = len(ps)

    def keys(i: int, alive: np.ndarray) -> np.ndarray:
        """Keys of term i's occurrences in the *alive* documents, gathering only their
        postings' occurrences (a common word has millions; the candidates are few)."""
        p = ps[i]
        sel = np.flatnonzero(alive[p.ids])
        first, end = p.poff[sel], p.poff[sel + 1]
        lens = end - first
        docs = np.repeat(p.ids[sel], lens)
        # Index of every occurrence of the selected postings, in order.
        at = np.repeat(first - (np.cumsum(lens) - lens), lens) + np.arange(int(lens.sum()))
        return (docs << 32) | p.pos[at].astype(np.int64)

    member = _member
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
            alive = np.zeros_like(cand)
            alive[starts >> 32] = True
            ki = _sorted_unique(keys(i, alive) - i)
            starts = starts[member(ki, starts)]
        return _sorted_unique(starts >> 32)
    reach = keys(0, alive)
    for i in range(1, n):
        if not len(reach):
            break
        alive = np.zeros_like(cand)
        alive[reach >> 32] = True
        reach = _sorted_unique(reach)
        q = keys(i, alive)
        ok = np.zeros(len(q), dtype=bool)
        for k in range(1, slop + 1):
            ok |= member(reach, q - k)
        reach = q[ok]
    return _sorted_unique(reach >> 32)


def _cost(q) -> int:
    """Evaluation order inside an And: plain terms, then compounds, phrases last."""
    if isinstance(q, wq.Term | wq.NumericRange):
        return 0
    if isinstance(q, wq.Phrase):
        return 2
    return 1
