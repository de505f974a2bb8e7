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

from math import log

import numpy as np
from whoosh import query as wq

from indexer.index.codec import tables_of
from indexer.index.columns import LENGTH_OF_BYTE, length_codes
from indexer.index.postings import CompactCharacters
from search_app.search.phrase_match import _intersect, _joined, _member, _phrase_docs
from search_app.search.term_postings import (
    _EMPTY,
    _I64,
    Postings,
    TermCache,
    _join,
    _read_matcher,
    _read_table,
    _restricted,
    _with_values,
)

B, K1 = 0.75, 1.2  # Whoosh's BM25F defaults, which the backend's searchers use
# A phrase reads its candidates' positions one posting at a time when the term has over
# this many occurrences per candidate; else all of the term's (measured: a read costs
# about as much as copying this many positions).
OCCURRENCES_PER_READ = 2500


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


def _cost(q) -> int:
    """Evaluation order inside an And: plain terms, then compounds, phrases last."""
    if isinstance(q, wq.Term | wq.NumericRange):
        return 0
    if isinstance(q, wq.Phrase):
        return 2
    return 1
