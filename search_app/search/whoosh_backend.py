"""`WhooshBackend`: the SearchBackend over one Whoosh index directory.

One searcher is shared by all threads. Every request takes a reference to the current
*generation* (searcher + its column arrays + a small cache of query doc sets); when the
index changed on disk (``searcher.up_to_date()`` is false, or the index path now points
at a new generation directory) a new searcher is opened and the old one is closed once
the last request using it has finished. ``Searcher.refresh()`` is not used because it
may close readers that another thread is still reading.

A query is evaluated once per request, over the whole collection, by `evaluate`
(numpy over cached posting arrays): that gives the matching documents as a boolean mask
(exact totals; facet counts are one bincount per facet; filters come from the columns)
and their BM25F scores (title field boost 3) together. The optional bonus clauses
(words in a row, the whole query as an exact title, every word in the title) are
phrase checks, the costly part, so they only rescore the best RESCORE_K candidates.
Results of the base query are cached per generation by the query's repr.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as _dt
import os
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.searching import Searcher

from indexer.index import store
from indexer.index.postings_tables import DamagedIndex
from indexer.index.schema import stored_to_dict
from search_app.search import evaluate as ev
from search_app.search import facets as facetlib
from search_app.search import similar, suggest
from search_app.search import snippets as sn
from search_app.search.query_compile import Compiled, combine, compile_query
from search_app.search.term_postings import TermCache
from search_app.search.types import (
    FACETS,
    MAX_PAGE_SIZE,
    Hit,
    SearchRequest,
    SearchResult,
    check_request,
)

CHECK_EVERY = 0.5  # seconds between checks that the index changed on disk
MASK_CACHE = 64  # query results (mask + scores) kept per generation
# Whole results pages kept per generation, by normalised request: a citizen's reload,
# back button or shared link costs nothing (a new generation starts an empty cache).
PAGE_CACHE = 256
# Candidates (best by the base query's score) that the bonus clauses rescore. A document
# outside them would need a bonus larger than the score gap to reach the first page.
RESCORE_K = 200
# Similar documents kept per generation, by document: the document page and its JSON
# twin, a reload, ask for the same ones.
SIMILAR_CACHE = 256
MAX_FACET_LIMIT = 100

class IndexMissing(FileNotFoundError):
    """No index at the given path."""


def _open_index(index_dir: Path):
    real = Path(os.path.realpath(index_dir))
    # Indexes made with `gongkai index` record their format and analysis settings, checked
    # before Whoosh unpickles a schema whose classes this version may not have; one made
    # directly with Whoosh (as some tests do) has no meta file to check.
    if real.is_dir() and (real / store.META_FILE).exists():
        store.check_compatible(real)
    with store.foreign_pickles(real):
        if not real.is_dir() or not whoosh_index.exists_in(str(real)):
            raise IndexMissing(f"no index at {index_dir} (build one with: gongkai index PATH...)")
        ix = whoosh_index.open_dir(str(real))
    # Whoosh maps a compound segment file and then wraps each part in a BytesIO, which
    # copies it: every searcher held the whole posting file (over 600 MB at 10k
    # documents) in memory. Plain file reads through the OS page cache copy nothing.
    ix.storage.supports_mmap = False
    return real, ix


class _Generation:
    """One index generation: its searchers and everything cached for it.

    Whoosh reads stored fields through a shared file handle (seek, then read), so one
    searcher used by two threads at once can return another document's bytes. Each
    thread therefore gets its own searcher of the generation; the column arrays and the
    doc-set cache are shared."""

    def __init__(self, real: Path, ix):
        self.real = real
        self.ix = ix
        self._toc = ix._read_toc()  # every searcher of a generation reads this one TOC
        self.primary = self._open()  # for up_to_date() and building the columns
        self._local = threading.local()
        # The opening thread reads through the primary searcher too: each searcher of a
        # 10k-document index holds over 600 MB, and up_to_date() and the columns read
        # other files than the stored fields this thread reads.
        self._local.searcher = self.primary
        self._all = [self.primary]
        self.refs = 0
        self.retired = False
        self._lock = threading.Lock()
        self._columns = None
        self._masks: dict = {}
        self.pages: OrderedDict = OrderedDict()
        self.similar: OrderedDict = OrderedDict()
        self.doc_freqs: dict[str, int] = {}  # of body words, for similar documents
        self.terms = TermCache()

    def _open(self):
        toc = self._toc
        reader = self.ix._reader(self.ix.storage, toc.schema, toc.segments, toc.generation)
        return Searcher(reader, fromindex=self.ix)

    @property
    def searcher(self):
        s = getattr(self._local, "searcher", None)
        if s is None:
            with self._lock:
                s = self._local.searcher = self._open()
                self._all.append(s)
        return s

    @property
    def columns(self) -> facetlib.Columns:
        if self._columns is None:
            with self._lock:
                if self._columns is None:
                    self._columns = facetlib.Columns(self.primary.reader())
        return self._columns

    def evaluator(self) -> ev.Evaluator:
        cols = self.columns
        return ev.Evaluator(self.searcher, self.terms, cols.live, cols.year)

    def result(self, q: wq.Query) -> ev.Result:
        """Mask and scores of *q* (shared: callers copy before changing them)."""
        key = repr(q)
        hit = self._masks.get(key)
        if hit is None:
            hit = self.evaluator().run(q)
            with self._lock:
                if len(self._masks) >= MASK_CACHE:
                    self._masks.pop(next(iter(self._masks)), None)
                self._masks[key] = hit
        return hit

    def mask(self, q: wq.Query | None) -> np.ndarray:
        """Documents matching *q* (every live document for None)."""
        if q is None:
            return self.columns.live.copy()
        return self.result(q).mask.copy()

    def close(self) -> None:
        with self._lock:
            for s in self._all:
                s.close()
            self._all.clear()


class WhooshBackend:
    def __init__(self, index_dir: str | os.PathLike):
        self.index_dir = Path(index_dir)
        # Opened while a writer commits, the files listed can be replaced by the next
        # commit's: open again (store.retrying).
        self._gen = store.retrying(lambda: _Generation(*_open_index(self.index_dir)))
        self._lock = threading.Lock()
        self._checked = time.monotonic()
        self._closed = False

    # --- generations ---------------------------------------------------------------

    def _maybe_refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < CHECK_EVERY:
            return
        self._checked = now
        gen = self._gen
        real = Path(os.path.realpath(self.index_dir))
        try:
            if real != gen.real:
                real, ix = _open_index(self.index_dir)
                new = _Generation(real, ix)
            elif not gen.primary.up_to_date():
                new = _Generation(gen.real, gen.ix)
            else:
                return
        except (OSError, IndexMissing, DamagedIndex):
            return  # an index being swapped, or a damaged one: keep serving the old one
        self._gen = new
        gen.retired = True
        if gen.refs == 0:
            gen.close()

    def _take(self, force: bool = False) -> _Generation:
        with self._lock:
            if self._closed:
                raise RuntimeError("backend is closed")
            if force:
                self._checked = 0.0
            self._maybe_refresh()
            gen = self._gen
            gen.refs += 1
            return gen

    def _release(self, gen: _Generation) -> None:
        with self._lock:
            gen.refs -= 1
            if gen.retired and gen.refs == 0:
                gen.close()

    @contextmanager
    def _use(self):
        gen = self._take()
        try:
            gen.searcher  # noqa: B018 - open this thread's searcher now
        except OSError:
            # Its segment files were merged away since the last check: move on.
            self._release(gen)
            gen = self._take(force=True)
        try:
            yield gen
        finally:
            self._release(gen)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            gen = self._gen
            gen.retired = True
            if gen.refs == 0:
                gen.close()

    # --- search --------------------------------------------------------------------

    def search(self, request: SearchRequest) -> SearchResult:
        started = time.perf_counter()
        check_request(request)
        filters = facetlib.clean_filters(request.filters)
        limit = min(max(0, int(request.facet_limit)), MAX_FACET_LIMIT)
        key = (" ".join((request.q or "").split()), tuple(sorted(
            (k, tuple(v)) for k, v in filters.items())), request.sort, request.page,
            request.size, limit, bool(request.snippets))
        comp = None
        with self._use() as gen:
            with gen._lock:
                cached = gen.pages.get(key)
                if cached is not None:
                    gen.pages.move_to_end(key)
            if cached is not None:
                return dataclasses.replace(
                    cached, request=request, hits=[copy.copy(h) for h in cached.hits],
                    took_ms=(time.perf_counter() - started) * 1000)
            comp = compile_query(request.q or "")
            cols = gen.columns
            masks = facetlib.filter_masks(cols, filters)
            qmask = gen.mask(comp.query)
            scoring = comp.query
            relaxed = False
            final = facetlib.combine(masks.values(), qmask)
            if not final.any() and len(comp.units) >= 2:
                relaxed_mask, scoring = _relax(gen, comp, masks)
                if relaxed_mask is not None:
                    qmask, relaxed = relaxed_mask, True
                    final = facetlib.combine(masks.values(), qmask)
            total = int(final.sum())
            result_facets = facetlib.facets(cols, qmask, masks, filters, limit)
            docs, scores = self._page(gen, request, comp, scoring, final)
            rx = sn.match_regex(comp.marks)
            hits = [self._hit(gen, d, s, rx, request.snippets, comp.word_marks)
                    for d, s in zip(docs, scores, strict=True)]
            suggestions = _suggestions(gen, request, comp, filters, masks) if total == 0 else []
            result = SearchResult(request=request, total=total, hits=hits,
                                  facets=result_facets,
                                  took_ms=(time.perf_counter() - started) * 1000,
                                  relaxed=relaxed, suggestions=suggestions)
            with gen._lock:
                gen.pages[key] = dataclasses.replace(
                    result, hits=[copy.copy(h) for h in hits])
                if len(gen.pages) > PAGE_CACHE:
                    gen.pages.popitem(last=False)
        return result

    def _page(self, gen, request, comp: Compiled, scoring, final: np.ndarray
              ) -> tuple[list[int], list[float]]:
        start = (request.page - 1) * request.size
        end = start + request.size
        docs = np.flatnonzero(final)
        if request.sort == "relevance" and comp.scored and scoring is not None:
            return _ranked(gen, comp, scoring, docs, start, end)
        dates = gen.columns.date[docs]
        missing = dates == 0
        # Newest or oldest first; documents without a date last either way; then by
        # document number so that pages are stable.
        key = np.where(missing, np.iinfo(np.int64).max,
                       -dates if request.sort != "oldest" else dates)
        order = np.lexsort((docs, key))
        picked = docs[order[start:end]]
        return [int(d) for d in picked], [0.0] * len(picked)

    def _hit(self, gen, docnum: int, score: float, rx, with_snippet: bool,
             whole_words=()) -> Hit:
        d = stored_to_dict(gen.searcher.stored_fields(docnum))
        snippet_html = snippet_text = ""
        if with_snippet:
            snippet_html, snippet_text = sn.snippet(d["body"], rx, whole_words=whole_words)
        return Hit(id=d["id"], title=d["title"], agency=d["agency"], pub_date=d["pub_date"],
                   written_date=d["written_date"], region=d["region"],
                   year=d["year"], classification=d["classification"], doc_type=d["doc_type"],
                   doc_no=d["doc_no"], url=d["url"], source=d["source"], score=round(score, 4),
                   snippet=snippet_html, snippet_text=snippet_text,
                   title_html=sn.highlight(d["title"], rx, whole_words))

    # --- documents -----------------------------------------------------------------

    def document(self, doc_id: str, q: str = "") -> dict | None:
        with self._use() as gen:
            docnum = gen.searcher.document_number(id=doc_id)
            if docnum is None:
                return None
            d = stored_to_dict(gen.searcher.stored_fields(docnum))
        return sn.marked_document(d, q)

    def report_documents(self) -> list[dict]:
        """Every annual report's stored fields without its body (`search.reports`)."""
        with self._use() as gen:
            cols = gen.columns
            has = (cols.coded["report_format"].codes >= 0) & cols.live
            out = []
            for docnum in np.flatnonzero(has):
                d = stored_to_dict(gen.searcher.stored_fields(int(docnum)))
                d.pop("body", None)
                out.append(d)
        return out

    def more_like_this(self, doc_id: str, limit: int = 5) -> list[Hit]:
        """The documents most like *doc_id* (`similar`: its key terms searched by the
        search evaluator), without itself; [] for an unknown id or a document without
        text."""
        limit = max(1, min(int(limit), MAX_PAGE_SIZE))
        with self._use() as gen:
            s = gen.searcher
            docnum = s.document_number(id=doc_id)
            if docnum is None:
                return []
            key = (docnum, limit)
            with gen._lock:
                found = gen.similar.get(key)
                if found is not None:
                    gen.similar.move_to_end(key)
            if found is None:
                stored = s.stored_fields(docnum)
                text = similar.analysed_text(stored.get("title", ""), stored.get("body", ""))
                found = similar.similar_docs(gen.evaluator(), docnum, text, limit,
                                             gen.doc_freqs)
                with gen._lock:
                    gen.similar[key] = found
                    if len(gen.similar) > SIMILAR_CACHE:
                        gen.similar.popitem(last=False)
            return [self._hit(gen, d, score, None, True) for d, score in found]

    def stats(self) -> dict:
        with self._use() as gen:
            cols = gen.columns
            out = {"documents": int(gen.searcher.doc_count()), "facets": {}}
            for name in FACETS:
                counts = cols.counts(name, cols.live)
                out["facets"][name] = [{"value": v, "count": c} for v, c in
                                       sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
            try:
                mtime = gen.ix.last_modified()
                out["last_modified"] = _dt.datetime.fromtimestamp(
                    mtime, _dt.UTC).isoformat(timespec="seconds")
            except (OSError, ValueError, OverflowError):
                out["last_modified"] = None
        return out


# --- helpers ---------------------------------------------------------------------------

def _ranked(gen, comp: Compiled, scoring, docs: np.ndarray, start: int, end: int
            ) -> tuple[list[int], list[float]]:
    """docs[start:end] in relevance order. Bonus clauses on titles are cheap (titles are
    short) and are added for every document; the body phrase bonus (words in a row in
    the body: positions of common words in long texts) only for the best RESCORE_K by
    that score (all of those tied with the last one, too), the rest following by
    score. The rescored set does not depend on the page asked for, so pages are
    slices of one order."""
    base = gen.result(scoring).scores_of(docs)
    cheap = [b for b in comp.bonus if not _touches_body(b)]
    costly = [b for b in comp.bonus if _touches_body(b)]
    if cheap and len(docs):
        base += _bonus(gen, cheap, docs)
    head = np.ones(len(docs), dtype=bool)
    if len(docs) > RESCORE_K:
        kth = np.partition(base, len(base) - RESCORE_K)[len(base) - RESCORE_K]
        head = base >= kth
    hd, hs = docs[head], base[head].copy()
    if costly and len(hd):
        hs += _bonus(gen, costly, hd)
    # Best first; equal scores by document number, as Whoosh orders them.
    order = np.lexsort((hd, -hs))
    out_d, out_s = hd[order][start:end], hs[order][start:end]
    if end > len(hd):
        rd, rs = docs[~head], base[~head]
        order = np.lexsort((rd, -rs))[max(0, start - len(hd)):end - len(hd)]
        out_d = np.concatenate([out_d, rd[order]])
        out_s = np.concatenate([out_s, rs[order]])
    return [int(d) for d in out_d], [float(x) for x in out_s]


def _touches_body(q: wq.Query) -> bool:
    return any(f.startswith("body") for f, _ in q.iter_all_terms())


def _bonus(gen, clauses: list[wq.Query], docs: np.ndarray) -> np.ndarray:
    """The summed scores of the optional *clauses* for each of *docs*."""
    return gen.evaluator().run(wq.Or(clauses), within=docs).scores_of(docs)


def _relax(gen, comp: Compiled, masks) -> tuple[np.ndarray | None, wq.Query | None]:
    """When no document has every word: the documents with the most of them (and all
    the non-word requirements), ranked by an OR of the words."""
    base = gen.mask(combine(comp.rest)) if comp.rest else gen.mask(None)
    base = facetlib.combine(masks.values(), base)
    counts = np.zeros(base.shape, dtype=np.int32)
    for _, uq in comp.units:
        counts += gen.mask(uq)
    for k in range(len(comp.units) - 1, 0, -1):
        m = base & (counts >= k)
        if m.any():
            qmask = (counts >= k) & (gen.mask(combine(comp.rest)) if comp.rest
                                     else gen.mask(None))
            scoring = wq.Or([uq for _, uq in comp.units])
            if comp.rest:
                scoring = wq.And([scoring] + comp.rest)
            return qmask, scoring
    return None, None


def _suggestions(gen, req: SearchRequest, comp: Compiled, filters, masks) -> list[dict]:
    """Ways out of an empty result (`suggest`), each with the number of results it
    would give."""
    out = []
    qmask = gen.mask(comp.query)
    for name, v, rest in suggest.filter_choices(filters):
        others = facetlib.filter_masks(gen.columns, rest)
        n = int(facetlib.combine(others.values(), qmask).sum())
        out.append(suggest.drop_filter(req, name, v, rest, n))
    if len(comp.units) >= 2 and not comp.rest:
        # One mask per word, then "every word but i" from the per-document count: linear
        # in the number of words (re-evaluating each n-1 word query was quadratic, seconds
        # for a 64-word query).
        units = [gen.mask(uq) for _, uq in comp.units]
        counts = np.sum(units, axis=0, dtype=np.int32)
        labels = [label for label, _ in comp.units]
        for i in range(len(units)):
            all_but_i = (counts - units[i]) == len(units) - 1
            n = int(facetlib.combine(masks.values(), all_but_i).sum())
            out.append(suggest.drop_word(req, labels, i, filters, n))
    return suggest.best(out)
