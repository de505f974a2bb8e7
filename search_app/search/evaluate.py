"""Evaluation of a compiled query with numpy: one pass gives both the matching
documents (sorted document numbers, for totals and facet counts) and their BM25F scores
(for the top hits). Each node of the query is a set of documents with scores
(`doc_sets`), costing what it matches rather than the size of the collection.

Why not Whoosh's matchers: they walk documents one at a time in Python, and the
backend needed two such walks per request (``docs_for_query`` for the mask, then
``search`` for the scores). Here a term's postings are slices of the segment's numpy
tables (`indexer.index.postings_tables`, written by the indexer for title, body and
their exact bigram fields; other fields, and segments written by plain Whoosh, are read
from Whoosh's posting blocks), cached per index generation; boolean structure is set
algebra on sorted document numbers; and a phrase is checked only in documents that
contain all its terms (and, through ``within``, only where the caller still needs an
answer), by intersecting sorted ``document << 32 | position`` keys of its terms'
occurrences.

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
from indexer.index.packing import BLOCK
from indexer.index.postings import CompactCharacters
from search_app.search import doc_sets as ds
from search_app.search.doc_sets import Result
from search_app.search.phrase_match import _joined, _phrase_docs
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
# A phrase decodes only its candidates' blocks of positions when those hold less than
# this share of the term's occurrences; else all of them, which the term cache keeps
# for the next query.
RESTRICTED_SHARE = 0.5
# A term is taken only inside its And's candidates, and scored only where needed,
# when it has this many times more postings than there are candidates.
WITHIN_SHARE = 8


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

    def _bm25(self, field: str, p: Postings, sel) -> np.ndarray:
        """BM25F of the postings *sel* of *p* (all with None), as Whoosh computes it:
        its idf (log(N / (df + 1)) + 1, deleted documents counted in both, as Whoosh
        counts them), df being the number of postings, already in hand, instead of a
        second term lookup in every segment."""
        lengths = self.field_lengths(field)
        tf = p.weights if sel is None else p.weights[sel]
        if lengths is None:
            return tf.astype(np.float64)
        idf = log(self.n / (len(p.ids) + 1)) + 1
        avgfl = self.s.avg_field_length(field) or 1
        tf = tf.astype(np.float64)
        fl = lengths[p.ids if sel is None else p.ids[sel]]
        return idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * fl / avgfl)))

    def _scores_at(self, field: str, text, p: Postings, sel) -> np.ndarray:
        """BM25F of the postings *sel* of *p*: of those only when they are few beside
        the term's postings (a common bigram of a phrase that matched a handful of
        documents), else of all of them, cached (`term_scores`)."""
        if p.scores is None and len(sel) * WITHIN_SHARE < len(p.ids):
            return self._bm25(field, p, sel)
        return self.term_scores(field, text, p, sel)

    def term_scores(self, field: str, text, p: Postings, sel=None) -> np.ndarray:
        """BM25F of each posting in *p*, or of those selected by *sel*: computed for
        every posting once and cached with them."""
        if p.scores is None:
            p.scores = self._bm25(field, p, None)
            p.nbytes += p.scores.nbytes
            if len(p.ids):
                self.cache.put(self._key(field, text), p)
        return p.scores if sel is None else p.scores[sel]

    # --- evaluation ---------------------------------------------------------------

    def run(self, q, within: np.ndarray | None = None) -> Result:
        """Documents and scores of *q*. With *within* (sorted document numbers), the
        answer is exact only inside it (phrases are not checked elsewhere), which is all
        an optional clause or the second operand of an And needs."""
        h = self._eval(q, within)
        if len(h):
            keep = self.live[h.ids]  # deleted documents' postings are still on disk
            if not keep.all():
                h = ds.Hits(h.ids[keep], h.scores[keep])
        return Result(h.ids, h.scores, self.n)

    def _eval(self, q, within) -> ds.Hits:
        boost = getattr(q, "boost", 1.0)
        if isinstance(q, wq.Term):
            r = self._term(q.fieldname, q.text, within)
        elif isinstance(q, wq.Phrase):
            r = self._phrase(q.fieldname, q.words, q.slop, within)
        elif isinstance(q, wq.AndNot):
            r = self._eval(q.a, within)
            neg = self._eval(q.b, self._limit(r.ids, within))
            r = ds.without(r, neg.ids)
        elif isinstance(q, wq.AndMaybe):
            r = self._eval(q.a, within)
            r = ds.plus(r, self._eval(q.b, self._limit(r.ids, within)))
        elif isinstance(q, wq.And):
            r = self._and(q, within)
        elif isinstance(q, wq.Or):
            r = self._or(q, within)
        elif isinstance(q, wq.Not):
            out = self.live.copy()
            out[self._eval(q.query, within).ids] = False
            r = ds.from_mask(out, 0.0)
        elif isinstance(q, wq.Every):
            r = ds.from_mask(self.live, 0.0)
        elif isinstance(q, wq.NumericRange) and q.fieldname == "year":
            lo = q.start if q.start is not None else -1
            hi = q.end if q.end is not None else 1 << 31
            r = ds.from_mask((self.year >= lo) & (self.year <= hi), 1.0)
        elif isinstance(q, wq.Prefix):
            field = q.fieldname
            ids = ds.union_ids([self.postings(field, text).ids
                                for text in self.reader.expand_prefix(field, q.text)], self.n)
            r = ds.Hits(ids, np.ones(len(ids)))  # Whoosh scores a prefix query as a constant
        elif isinstance(q, wq.NullQuery.__class__) or q is wq.NullQuery:
            r = ds.EMPTY
        else:  # anything else: Whoosh's own matcher (not used by compiled queries)
            found: dict[int, float] = {}
            m = q.matcher(self.s)
            while m.is_active():
                found[m.id()] = m.score()
                m.next()
            ids = np.array(sorted(found), dtype=np.int64)
            r = ds.Hits(ids, np.array([found[i] for i in ids.tolist()], dtype=np.float64))
            boost = 1.0
        return r.boosted(boost)

    @staticmethod
    def _limit(ids: np.ndarray, within) -> np.ndarray:
        return ids if within is None else ds.intersect_ids(ids, within)

    def _and(self, q, within) -> ds.Hits:
        # Cheap children first, so that phrases are checked only in documents that every
        # other child already matches.
        kids = sorted(q.subqueries, key=_cost)
        # Documents that could match every child, from their terms' postings alone: a
        # phrase inside the first child is then checked only there, not in the whole
        # collection.
        bounds = [b for b in (self._bound(k) for k in kids) if b is not None]
        if within is not None:
            bounds.append(within)
        if bounds:
            within = ds.intersect_all(bounds)
        r = None
        for k in kids:
            kr = self._eval(k, within if r is None else self._limit(r.ids, within))
            r = kr if r is None else ds.intersect(r, kr)
            if not len(r):
                break
        return ds.EMPTY if r is None else r

    def _or(self, q, within) -> ds.Hits:
        # Terms first: a word found as a word in title/body has its characters in
        # title_exact/body_exact, so a sibling exact-character phrase of the same text
        # needs no position check in those documents (see `_phrase`).
        kids = sorted(q.subqueries, key=_cost)
        parts, added = [], []
        for k in kids:
            kr = self._eval(k, within)
            parts.append(kr)
            if isinstance(k, wq.Term) and k.fieldname in ("title", "body"):
                key = (k.fieldname + "_exact", k.text)
                if key not in self._implied:
                    self._implied[key] = kr.ids
                    added.append(key)
        for key in added:
            del self._implied[key]
        return ds.union(parts, self.n)

    def _positions(self, field: str, word, p: Postings, cand: np.ndarray) -> Postings:
        """*p* with positions, at least in the documents *cand*. Candidates that are a
        small share of a common term's postings get only their blocks of occurrences
        decoded (a bigram such as 人民 has millions)."""
        if p.has_values:
            return p
        sel = ds.select(p.ids, cand)
        if p.spans and None not in p.spans:
            # Values decoded: the candidates' occurrences, each rounded out to its block.
            touched = int((p.poff[sel + 1] - p.poff[sel]).sum()) + len(sel) * BLOCK
            if touched < RESTRICTED_SHARE * int(p.poff[-1]):
                return _restricted(p, sel)
        return self.postings(field, word, with_values=True)

    def _bound(self, q) -> np.ndarray | None:
        """Sorted document numbers that contain every match of *q* (None: any document
        may match), from postings without positions: a phrase's bound is where all its
        terms occur."""
        if isinstance(q, wq.Term | wq.Phrase):
            return self._bound_ids(q)
        if isinstance(q, wq.Or):
            parts = []
            for k in q.subqueries:
                b = self._bound(k)
                if b is None:
                    return None
                parts.append(b)
            return ds.union_ids(parts, self.n)
        if isinstance(q, wq.And):
            parts = [b for b in (self._bound(k) for k in q.subqueries) if b is not None]
            return ds.intersect_all(parts) if parts else None
        if isinstance(q, wq.AndMaybe | wq.AndNot):
            return self._bound(q.a)
        return None

    def _bound_ids(self, q) -> np.ndarray:
        """The bound of a term or phrase as sorted document numbers."""
        if isinstance(q, wq.Term):
            return self.postings(q.fieldname, q.text).ids
        if not q.words:
            return _I64
        return ds.intersect_all([self.postings(q.fieldname, w).ids for w in q.words])

    def _term(self, field: str, text, within=None) -> ds.Hits:
        p = self.postings(field, text)
        if not len(p.ids):
            return ds.EMPTY
        if within is not None and len(within) * WITHIN_SHARE < len(p.ids):
            # A common term inside a few candidates: its documents there only, so that
            # the unions and intersections of its siblings never see all of them (nor
            # its scores over every posting, unless cached).
            sel = ds.select(p.ids, within)
            return ds.Hits(p.ids[sel], self._scores_at(field, text, p, sel))
        return ds.Hits(p.ids, self.term_scores(field, text, p))

    def _phrase(self, field: str, words, slop: int, within) -> ds.Hits:
        if not words:
            return ds.EMPTY
        # Positions are read only once some document could match: one term (the exact
        # alternative of a two-character word, say) never needs them.
        ps = [self.postings(field, w) for w in words]
        # Candidates as sorted document numbers: intersecting from the rarest term
        # touches only its postings, not the whole collection.
        cand = ds.intersect_all([p.ids for p in ps])
        if within is not None:
            cand = ds.intersect_ids(cand, within)
        implied = self._implied.get((field, _joined(words))) if self._implied else None
        matched = []
        if implied is not None and len(cand):
            known = ds.member(implied, cand)
            matched.append(cand[known])
            cand = cand[~known]
        if len(ps) == 1:
            matched.append(cand)
        elif len(cand):
            views = [self._positions(field, w, p, cand)
                     for w, p in zip(words, ps, strict=True)]
            matched.append(_phrase_docs(views, cand, slop))
        ids = ds.union_ids(matched, self.n)
        if not len(ids):
            return ds.EMPTY
        # Scores only where the phrase matched (often a handful of a term's postings),
        # added term by term in the phrase's order.
        scores = np.zeros(len(ids), dtype=np.float64)
        for w, p in zip(words, ps, strict=True):
            scores += self._scores_at(field, w, p, ds.select(p.ids, ids))
        return ds.Hits(ids, scores)


def _cost(q) -> int:
    """Evaluation order inside an And: plain terms, then compounds, phrases last."""
    if isinstance(q, wq.Term | wq.NumericRange):
        return 0
    if isinstance(q, wq.Phrase):
        return 2
    return 1
