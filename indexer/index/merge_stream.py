"""Merging segments' postings tables a range of terms at a time, so that a merge's memory
does not grow with the segments it merges.

A merge used to decode every posting and occurrence of every segment merged in, sort
them all, and encode the result: its peak was about 24 bytes per byte of text merged
(two segments of 38 MB of text each peaked at 1.8 GB), so the memory setting allowed
only small merges and a large corpus kept a hundred segments or more. Here the terms of
the merged table (the union of the segments' live terms, in order) are cut into ranges
of about `BATCH_OCCURRENCES` occurrences; each range is read from every segment (each
segment's terms are sorted, so a range is one slice of its tables), renumbered, ordered
by (term, document), and appended to the output streams (`StreamWriter`), which write
exactly the bytes `indexer.index.packed_table.encode` writes for the whole table: the
result is the same file, byte for byte, as an in-memory merge (tests/test_merge_stream.py).
"""

from __future__ import annotations

import os

import numpy as np

from indexer.index import packing
from indexer.index.distinct import distinct
from indexer.index.packed_table import _narrowest, zigzag

BATCH_OCCURRENCES = 1 << 22  # occurrences merged per pass: bounds its temporary arrays


class TableSource:
    """One segment's field table being merged in, read a range of its terms at a time;
    *docmap* gives each of its documents' new number (-1: deleted, dropped)."""

    def __init__(self, table, docmap: np.ndarray, grams: bool):
        self.table = table
        self.docmap = docmap
        self.tpost = table.tpost.astype(np.int64)
        self.tocc = table.tocc.astype(np.int64)
        self.terms = table.keys if grams else table.term_list()
        self.occ = np.diff(self.tocc)
        # Terms with a live posting: a deleted document's terms stay in the table.
        self.live = np.diff(self.tpost) > 0
        if (docmap < 0).any():
            lens = np.diff(self.tpost)
            docs = table._docs.all(lens)
            alive = docmap[docs] >= 0
            counts = np.add.reduceat(alive, self.tpost[:-1][lens > 0]) if len(alive) else []
            self.live[np.flatnonzero(lens > 0)] = np.asarray(counts) > 0

    def read(self, ta: int, tb: int, chars: bool):
        """(local term of each posting, new document, frequency, pos, start, end) of
        terms *ta*..*tb*, deleted documents' postings and occurrences dropped."""
        t = self.table
        oa, ob = int(self.tocc[ta]), int(self.tocc[tb])
        lens = np.diff(self.tpost[ta:tb + 1])
        docs = t._docs.terms(ta, tb, lens)
        heads = np.flatnonzero(t._flags(oa, ob))
        freq = np.diff(np.append(heads, ob - oa))
        post_term = np.repeat(np.arange(ta, tb), lens)
        pos, start, end = t.values(oa, ob)
        new = self.docmap[docs]
        live = new >= 0
        if not live.all():
            keep = np.repeat(live, freq)
            pos = pos[keep]
            if chars:
                start, end = start[keep], end[keep]
            post_term, new, freq = post_term[live], new[live], freq[live]
        return post_term, new, freq, pos, start, end


class RunSource:
    """The builder's own documents (`FieldBuilder._own_run`), read like a table."""

    def __init__(self, run: dict, grams: bool):
        self.run = run
        self.terms = run["terms"]
        n = len(self.terms)
        self.tpost = np.searchsorted(run["post_term"], np.arange(n + 1)).astype(np.int64)
        self.tocc = run["poff"][self.tpost]
        self.occ = np.diff(self.tocc)
        self.live = np.diff(self.tpost) > 0

    def read(self, ta: int, tb: int, chars: bool):
        r = self.run
        pa, pb = int(self.tpost[ta]), int(self.tpost[tb])
        oa, ob = int(self.tocc[ta]), int(self.tocc[tb])
        freq = np.diff(r["poff"][pa:pb + 1])
        return (r["post_term"][pa:pb], r["docs"][pa:pb], freq, r["pos"][oa:ob],
                r["start"][oa:ob] if chars else None, r["end"][oa:ob] if chars else None)


def union_terms(sources, grams: bool):
    """The merged table's terms (live in some source, in order) and, per source, each of
    its terms' place among them (a live term's index; a dead term's insertion point,
    so that every source's places stay in order)."""
    if grams:
        live = [np.asarray(s.terms)[s.live] for s in sources]
        terms = distinct(np.concatenate(live)) if live else np.zeros(0, dtype=np.int64)
        places = [np.searchsorted(terms, np.asarray(s.terms)) for s in sources]
        return terms, places
    terms = sorted(set().union(*({w for w, ok in zip(s.terms, s.live.tolist(), strict=True)
                                  if ok} for s in sources)))
    index = {w: i for i, w in enumerate(terms)}
    places = []
    for s in sources:
        p = np.fromiter((index.get(w, -1) for w in s.terms), dtype=np.int64,
                        count=len(s.terms))
        dead = np.flatnonzero(p < 0)
        if len(dead):
            from bisect import bisect_left

            p[dead] = [bisect_left(terms, s.terms[i]) for i in dead.tolist()]
        places.append(p)
    return terms, places


def batches(sources, places, nterms: int, limit: int = BATCH_OCCURRENCES):
    """Ranges of merged terms, each with at most about *limit* occurrences (a single
    term with more is a range of its own)."""
    occ = np.zeros(nterms, dtype=np.int64)
    for s, p in zip(sources, places, strict=True):
        if s.live.any():
            np.add.at(occ, p[s.live], s.occ[s.live])
    cum = np.cumsum(occ)
    bounds = [0]
    while bounds[-1] < nterms:
        base = int(cum[bounds[-1] - 1]) if bounds[-1] else 0
        nxt = int(np.searchsorted(cum, base + limit, "right"))
        bounds.append(min(nterms, max(nxt, bounds[-1] + 1)))
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def merged_batch(sources, places, u0: int, u1: int, chars: bool, span: int):
    """The postings of merged terms *u0*..*u1*: (term of each posting, its document,
    its frequency, pos, start, end), ordered by (term, document)."""
    parts = []
    for s, p in zip(sources, places, strict=True):
        ta, tb = int(np.searchsorted(p, u0, "left")), int(np.searchsorted(p, u1, "left"))
        if tb > ta:
            local, docs, freq, pos, start, end = s.read(ta, tb, chars)
            parts.append((p[local], docs, freq, pos, start, end))
    if not parts:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z, z, (z if chars else None), (z if chars else None)
    cat = [np.concatenate([x[k] for x in parts]) for k in range(3)]
    post_term, docs, freq = cat
    first_occ = np.concatenate([[0], np.cumsum(freq)[:-1]])
    order = np.argsort(post_term * span + docs, kind="stable")
    post_term, docs, freq, first_occ = (post_term[order], docs[order], freq[order],
                                        first_occ[order])
    ends = np.cumsum(freq)
    at = np.repeat(first_occ - (ends - freq), freq) + np.arange(int(ends[-1]) if len(ends) else 0)
    pos = np.concatenate([x[3] for x in parts])[at]
    start = np.concatenate([x[4] for x in parts])[at] if chars else None
    end = np.concatenate([x[5] for x in parts])[at] if chars else None
    return post_term, docs, freq, pos, start, end


class BlockStream:
    """`packing.pack` of a stream given a piece at a time: whole blocks are packed as
    they come, the rest waits for the next piece; the bytes go to *sink*."""

    def __init__(self, sink):
        self.sink = sink
        self.carry = np.zeros(0, dtype=np.uint32)
        self.codes: list[np.ndarray] = []
        self.n = 0
        self.top = 0

    def add(self, values: np.ndarray) -> None:
        if not len(values):
            return
        self.n += len(values)
        self.top = max(self.top, int(values.max()))
        v = np.concatenate([self.carry, values.astype(np.uint32)])
        whole = len(v) // packing.BLOCK * packing.BLOCK
        if whole:
            self._pack(v[:whole])
        self.carry = v[whole:]

    def _pack(self, v: np.ndarray) -> None:
        packed = packing.pack(v)
        self.sink(packed["w"])
        self.codes.append(packed["b"])

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """(block widths, superblock offsets), as `packing.pack` gives them."""
        if len(self.carry):
            self._pack(self.carry)
        codes = np.concatenate(self.codes) if self.codes else np.zeros(0, dtype=np.uint8)
        ends = np.concatenate([[0], np.cumsum(packing.BLOCK_BYTES[codes])])
        supers = ends[::packing.SUPER]
        if (len(codes) % packing.SUPER) or len(codes) == 0:
            supers = np.append(supers, ends[-1])
        return codes, supers.astype(np.uint64)

    def dtype(self):
        return _narrowest(np.array([self.top]))


class BitStream:
    """`np.packbits(flags, bitorder="little")` given a piece at a time."""

    def __init__(self, sink):
        self.sink = sink
        self.carry = np.zeros(0, dtype=bool)

    def add(self, flags: np.ndarray) -> None:
        v = np.concatenate([self.carry, flags])
        whole = len(v) // 8 * 8
        if whole:
            self.sink(np.packbits(v[:whole], bitorder="little"))
        self.carry = v[whole:]

    def finish(self) -> None:
        if len(self.carry):
            self.sink(np.packbits(self.carry, bitorder="little"))


def encode_merged(sources, places, nterms: int, chars: bool, term_chars, span: int,
                  sinks: dict):
    """The merged table encoded as `packed_table.encode` would: the small arrays in
    memory (returned, with the streams' descriptions), the large byte streams handed
    batch by batch to ``sinks[name]`` (``docs.w``, ``first``, ``pos.w``, and with
    offsets ``start.w``, ``endd.w``)."""
    per_term_post = np.zeros(nterms, dtype=np.int64)
    per_term_occ = np.zeros(nterms, dtype=np.int64)
    firsts = np.zeros(nterms, dtype=np.int64)
    run_codes, run_offs, run_bytes = [], [], 0
    first_bits = BitStream(sinks["first"])
    pos_s = BlockStream(sinks["pos.w"])
    start_s = BlockStream(sinks["start.w"]) if chars else None
    endd_s = BlockStream(sinks["endd.w"]) if chars else None
    end_top = 0
    ndocs = 0
    for u0, u1 in batches(sources, places, nterms):
        post_term, docs, freq, pos, start, end = merged_batch(sources, places, u0, u1,
                                                              chars, span)
        tpost = np.searchsorted(post_term, np.arange(u0, u1 + 1))
        lens = np.diff(tpost)
        per_term_post[u0:u1] = lens
        ends = np.cumsum(freq)
        tocc = np.concatenate([[0], ends])[tpost]
        per_term_occ[u0:u1] = np.diff(tocc)
        ndocs += len(docs)
        # Document numbers: each term's first apart, the others as gaps, one run per term.
        gaps = np.empty_like(docs)
        if len(docs):
            gaps[0] = docs[0]
            np.subtract(docs[1:], docs[:-1], out=gaps[1:])
        heads = tpost[:-1][lens > 0]
        firsts[u0:u1][lens > 0] = docs[heads]
        rest = np.ones(len(docs), dtype=bool)
        rest[heads] = False
        gaps = gaps[rest]
        if len(gaps) and int(gaps.min()) < 0:  # pragma: no cover - merges keep order
            raise ValueError("merged postings out of document order")
        packed = packing.pack_term_runs(gaps, np.maximum(lens - 1, 0))
        sinks["docs.w"](packed["w"])
        run_codes.append(packed["c"])
        run_offs.append(packed["o"][:-1].astype(np.int64) + run_bytes)
        run_bytes += int(packed["o"][-1])
        flags = np.zeros(len(pos), dtype=bool)
        flags[ends - freq] = True
        first_bits.add(flags)
        pos_s.add(pos)
        if chars:
            start_s.add(start)
            end_top = max(end_top, int(end.max()) if len(end) else 0)
            term_of = np.repeat(np.arange(u0, u1), np.diff(tocc))
            endd_s.add(zigzag(end.astype(np.int64) - start - term_chars[term_of]))
    first_bits.finish()
    tpost = np.concatenate([[0], np.cumsum(per_term_post)])
    arrays = {"tpost": tpost, "tocc": np.concatenate([[0], np.cumsum(per_term_occ)]),
              "docs.f": firsts,
              "docs.c": np.concatenate(run_codes) if run_codes else np.zeros(0, np.uint8),
              "docs.o": np.append(np.concatenate(run_offs) if run_offs else
                                  np.zeros(0, np.int64), run_bytes).astype(np.uint64)}
    streams = {"docs": {"n": ndocs, "signed": False, "dtype": "<u4", "runs": True}}
    named = [("pos", pos_s, False, pos_s.dtype())]
    if chars:
        named += [("start", start_s, False, start_s.dtype()),
                  ("endd", endd_s, True, _narrowest(np.array([end_top])))]
    for name, s, signed, dtype in named:
        arrays[f"{name}.b"], arrays[f"{name}.s"] = s.finish()
        streams[name] = {"n": s.n, "signed": signed, "dtype": np.dtype(dtype).str}
    return arrays, streams


class Spool:
    """A byte stream of a merged table, kept in a temporary file until its place in the
    tables file is known (arrays are written in order, each after the previous)."""

    def __init__(self, path: str):
        self.path = path
        self.size = 0
        self._f = open(path, "wb")  # noqa: SIM115 - closed in copy_to / discard

    def write(self, arr: np.ndarray) -> None:
        self._f.write(memoryview(np.ascontiguousarray(arr, dtype=np.uint8)))
        self.size += arr.size

    def copy_to(self, out) -> None:
        self._f.close()
        with open(self.path, "rb") as f:
            while chunk := f.read(16 << 20):
                out.write(chunk)
        self.discard()

    def discard(self) -> None:
        if not self._f.closed:
            self._f.close()
        if os.path.exists(self.path):
            os.remove(self.path)


def merged_arrays(fb, tmp: str):
    """(arrays in file order, stream descriptions) of a builder that merges tables:
    `indexer.index.merge_stream`, with the large streams spooled to files beside *tmp*."""
    from indexer.index.postings_tables_build import term_chars, word_table

    sources = [TableSource(t, m, fb.grams) for t, m in fb.tables]
    span = max((int(m.max()) for _, m in fb.tables if len(m)), default=0) + 1
    if fb.key_chunks:
        own = fb._own_run()
        if len(own["docs"]):
            sources.insert(0, RunSource(own, fb.grams))
            span = max(span, int(own["docs"].max()) + 1)
    terms, places = union_terms(sources, fb.grams)
    out: dict = {}
    if fb.grams:
        out["keys"] = np.asarray(terms, dtype=np.int64)
        chars_of = None
    else:
        out.update(word_table(terms))
        chars_of = term_chars(out["blob"], out["toff"])
    names = ["docs.w", "first", "pos.w"] + (["start.w", "endd.w"] if fb.chars else [])
    spools = {n: Spool(f"{tmp}.{n}") for n in names}
    try:
        arrays, streams = encode_merged(sources, places, len(terms), fb.chars, chars_of,
                                           span, {n: sp.write for n, sp in spools.items()})
    except BaseException:
        for sp in spools.values():
            sp.discard()
        raise
    order = ["tpost", "tocc", "docs.f", "docs.w", "docs.c", "docs.o", "first",
             "pos.w", "pos.b", "pos.s"]
    if fb.chars:
        order += ["start.w", "start.b", "start.s", "endd.w", "endd.b", "endd.s"]
    for key in order:
        out[key] = spools[key] if key in spools else arrays[key]
    return out, streams
