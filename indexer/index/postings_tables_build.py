"""Writing the postings tables of `indexer.index.postings_tables` (whose docstring describes the
file): one segment's occurrences collected per field, document by document, plus the
tables of segments merged in, sorted once with numpy into flat arrays, and written
packed (`indexer.index.packed_table`)."""

from __future__ import annotations

import json
import os
import zlib

import numpy as np

from indexer.index import faults, merge_stream, packed_table
from indexer.index.distinct import distinct, distinct_sorted
from indexer.index.postings_tables import ALIGN, MAGIC, FieldTable


class FieldBuilder:
    """Occurrences of one field of one segment, in the order documents arrive."""

    def __init__(self, grams: bool, chars: bool, boost: float):
        self.grams = grams
        self.chars = chars
        self.boost = boost
        self.vocab: dict[str, int] = {}  # word fields: term → provisional id
        # A chunk per document: each occurrence's term key (grams) or provisional id
        # (words), and for words its position and offsets. The document of each
        # occurrence, and a gram's position (its index in the document), are not stored
        # per occurrence: they follow from the chunks' documents and lengths, which halves
        # what a worker holds while it collects (measured: 10 → 6 bytes per byte of text).
        self.key_chunks: list[np.ndarray] = []
        self.chunk_docs: list[int] = []
        self.pos_chunks: list[np.ndarray | None] = []  # None: positions 0, 1, 2, ...
        self.span_chunks: list[tuple[np.ndarray, np.ndarray]] = []
        self.sorted = True  # occurrences ordered by (document, position) within each term
        self.runs: list[dict] = []  # sorted runs merged in memory (`arrays`)
        self.tables: list[tuple] = []  # segments' tables merged in (add_table), unread

    def add_grams(self, docnum: int, keys: np.ndarray) -> None:
        self.key_chunks.append(keys)
        self.chunk_docs.append(docnum)
        self.pos_chunks.append(None)

    def add_gram_positions(self, docnum: int, key: int, positions) -> None:
        """The positions of one gram in one document (postings of a merged segment that
        plain Whoosh wrote)."""
        pos = np.asarray(positions, dtype=np.uint32)
        self.key_chunks.append(np.full(len(pos), key, dtype=np.int64))
        self.chunk_docs.append(docnum)
        self.pos_chunks.append(pos)

    def add_words(self, docnum: int, words: list[str], pos, start=None, end=None) -> None:
        """One document's word occurrences, in position order (*start*, *end*: their
        character offsets, kept only by a field that stores them)."""
        vocab = self.vocab
        for w in set(words).difference(vocab):
            vocab[w] = len(vocab)
        self.key_chunks.append(np.fromiter(map(vocab.__getitem__, words), dtype=np.int32,
                                           count=len(words)))
        self.chunk_docs.append(docnum)
        self.pos_chunks.append(np.asarray(pos, dtype=np.uint32))
        if self.chars:
            self.span_chunks.append((np.asarray(start, dtype=np.uint32),
                                     np.asarray(end, dtype=np.uint32)))

    def add_table(self, table: FieldTable, docmap: np.ndarray) -> None:
        """Every posting of *table* (a segment being merged in), documents renumbered by
        *docmap* (old → new, -1 for a deleted document, whose postings are dropped).
        Kept as it is, unread: `write` merges tables a range of terms at a time
        (`indexer.index.merge_stream`); the table must stay open until then."""
        if table.occurrences:
            self.tables.append((table, docmap))

    def _table_run(self, table: FieldTable, docmap: np.ndarray) -> dict:
        """*table* decoded whole, as a sorted run (`arrays`, the in-memory merge)."""
        flat = table.flat()
        docs = docmap[flat["docs"]]
        poff = flat["poff"]
        per_term = np.diff(flat["tpost"])
        run = {"terms": table.keys if self.grams else table.term_list(),
               "post_term": np.repeat(np.arange(len(per_term)), per_term),
               "docs": docs, "poff": poff, "pos": flat["pos"]}
        if self.chars:
            run["start"], run["end"] = flat["start"], flat["end"]
        del flat
        live = docs >= 0
        if not live.all():  # drop deleted documents' postings and their occurrences
            freq = np.diff(poff)
            keep_occ = np.repeat(live, freq)
            for key in ("pos", "start", "end"):
                if key in run:
                    run[key] = run[key][keep_occ]
            run["post_term"], run["docs"] = run["post_term"][live], docs[live]
            run["poff"] = np.concatenate([[0], np.cumsum(freq[live])])
        return run

    def release(self) -> None:
        """Drop everything collected (its arrays have been written)."""
        self.vocab = {}
        self.key_chunks, self.chunk_docs, self.pos_chunks, self.span_chunks = [], [], [], []
        self.runs = []
        self.tables = []

    def _own_run(self):
        """The occurrences added document by document, as a run like `add_table`'s.
        Arrays are replaced one at a time (and names dropped): measured on a worker's
        flush, the largest field's sort holds about 24 bytes per occurrence."""
        ranks, lengths, pos, start, end = self._columns()
        chunk_docs = np.asarray(self.chunk_docs, dtype=np.uint32)
        self.chunk_docs = []
        if not self.grams:
            used = np.zeros(len(self.vocab), dtype=bool)
            used[ranks] = True
            # Code point order = UTF-8 byte order.
            ordered = sorted(w for w, t in self.vocab.items() if used[t])
            rank_of = np.zeros(len(self.vocab), dtype=np.int32)
            rank_of[[self.vocab[w] for w in ordered]] = np.arange(len(ordered))
            ranks = rank_of[ranks] if len(ranks) else ranks
        # (Gram keys sort like their terms: the keys are the ranks.)
        if self.sorted:
            # Documents arrive in ascending order with positions ascending, so a stable
            # sort by term keeps (document, position) order; the sort's permutation is
            # each occurrence's place in arrival order, from which its document and (for
            # grams) its position follow, instead of being carried through the sort.
            order = np.argsort(ranks, kind="stable")
            ranks.sort(kind="stable")  # = ranks[order], without a second copy
            docs, pos, start, end = _arrival(order, lengths, chunk_docs, pos, start, end)
        else:  # postings of a plain Whoosh segment, term by term: a full sort
            docs = np.repeat(chunk_docs, lengths)
            if pos is None:
                pos = _chunk_indexes(lengths)
            order = np.lexsort((pos, docs, ranks))
            ranks, docs, pos = ranks[order], docs[order], pos[order]
            if start is not None:
                start, end = start[order], end[order]
        del order
        n = len(ranks)
        if self.grams:  # sorted keys → the term table and dense ranks
            new_term = np.ones(n, dtype=bool)
            new_term[1:] = ranks[1:] != ranks[:-1]
            term_list = ranks[new_term]
            ranks = np.cumsum(new_term, dtype=np.int32)
            ranks -= 1
            del new_term
        else:
            term_list = ordered
        first = np.ones(n, dtype=bool)
        if n:
            first[1:] = (ranks[1:] != ranks[:-1]) | (docs[1:] != docs[:-1])
        heads = np.flatnonzero(first)
        del first
        post_term = ranks[heads]
        del ranks
        post_docs = docs[heads].astype(np.int64)
        del docs
        # "dense": the terms are sorted, and every one of them has postings here.
        run = {"terms": term_list, "dense": True, "post_term": post_term, "docs": post_docs,
               "poff": np.append(heads, n).astype(np.int64), "pos": pos}
        if self.chars:
            run["start"], run["end"] = start, end
        return run

    def _columns(self):
        """The chunks joined: term keys (or provisional ids), each chunk's length,
        positions (None where every chunk is a gram chunk: position = index in its
        chunk), and for words the offsets. Each list is emptied once joined: the chunks
        and the joined array are not all held at once."""
        def cat(chunks, dtype):
            parts = [np.asarray(c, dtype=dtype) for c in chunks]
            return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

        lengths = np.fromiter(map(len, self.key_chunks), dtype=np.int64,
                              count=len(self.key_chunks))
        terms = cat(self.key_chunks, np.int64 if self.grams else np.int32)
        self.key_chunks = []
        if all(p is None for p in self.pos_chunks):
            pos = None
        else:
            pos = cat([np.arange(n, dtype=np.uint32) if p is None else p
                       for p, n in zip(self.pos_chunks, lengths.tolist(), strict=True)],
                      np.uint32)
        self.pos_chunks = []
        if self.chars:
            start = cat([s for s, _ in self.span_chunks], np.uint32)
            end = cat([e for _, e in self.span_chunks], np.uint32)
        else:
            start = end = None
        self.span_chunks = []
        return terms, lengths, pos, start, end

    def arrays(self) -> dict[str, np.ndarray]:
        """The flat arrays of the whole table, merged in memory (`write` streams merges
        instead; this stays the reference it is tested against)."""
        own = self._own_run()
        self.runs += [self._table_run(t, m) for t, m in self.tables]
        self.tables = []
        runs = [r for r in [own, *self.runs] if len(r["docs"])] or [own]
        out: dict[str, np.ndarray] = {}
        # The union of the terms that still have postings (a merged-in segment's term
        # table includes the terms of its deleted documents), and each run's term
        # numbers in it; a lone run of this segment's own documents is that already.
        if len(runs) == 1 and runs[0].get("dense"):  # one segment's own documents
            terms = runs[0]["terms"]
            maps = [np.arange(len(terms), dtype=np.int64)]
        elif self.grams:
            used = [distinct_sorted(r["post_term"]) for r in runs]
            live = [np.asarray(r["terms"])[u] for r, u in zip(runs, used, strict=True)]
            terms = distinct(np.concatenate(live))
            maps = []
            for r, u, lv in zip(runs, used, live, strict=True):
                m = np.zeros(len(r["terms"]), dtype=np.int64)
                m[u] = np.searchsorted(terms, lv)
                maps.append(m)
        else:
            used = [distinct_sorted(r["post_term"]) for r in runs]
            live = [[r["terms"][i] for i in u.tolist()] for r, u in zip(runs, used, strict=True)]
            terms = sorted(set().union(*live))  # code point order = UTF-8 byte order
            index = {w: i for i, w in enumerate(terms)}
            maps = []
            for r, u, lv in zip(runs, used, live, strict=True):
                m = np.zeros(len(r["terms"]), dtype=np.int64)
                m[u] = [index[w] for w in lv]
                maps.append(m)
        nterms = len(terms)
        if self.grams:
            out["keys"] = np.asarray(terms, dtype=np.int64)
        else:
            out.update(word_table(terms))
        if len(runs) == 1:
            run, m = runs[0], maps[0]
            post_term = m[run["post_term"]] if len(run["post_term"]) else run["post_term"]
            out["tpost"] = np.searchsorted(post_term, np.arange(nterms + 1)).astype(np.int64)
            out["docs"], out["poff"], out["pos"] = run["docs"], run["poff"], run["pos"]
            if self.chars:
                out["start"], out["end"] = run["start"], run["end"]
            return out
        # Several runs: order their postings by (term, document), then gather each
        # posting's occurrences in that order.
        post_term = np.concatenate([m[r["post_term"]] for r, m in zip(runs, maps, strict=True)])
        docs = np.concatenate([r["docs"] for r in runs])
        freq = np.concatenate([np.diff(r["poff"]) for r in runs])
        bases = np.cumsum([0] + [int(r["poff"][-1]) for r in runs])
        first_occ = np.concatenate([r["poff"][:-1] + b for r, b in zip(runs, bases, strict=False)])
        span = int(docs.max()) + 1 if len(docs) else 1
        if nterms * span < (1 << 62):
            # Stable (timsort) finds the runs already sorted and only merges them.
            order = np.argsort(post_term * span + docs, kind="stable")
        else:  # pragma: no cover - beyond any index this machine can build
            order = np.lexsort((docs, post_term))
        post_term, docs, freq, first_occ = (post_term[order], docs[order], freq[order],
                                            first_occ[order])
        poff = np.concatenate([[0], np.cumsum(freq)])
        at = np.repeat(first_occ - poff[:-1], freq) + np.arange(int(poff[-1]))
        out["tpost"] = np.searchsorted(post_term, np.arange(nterms + 1)).astype(np.int64)
        out["docs"], out["poff"] = docs, poff
        out["pos"] = np.concatenate([r["pos"] for r in runs])[at]
        if self.chars:
            out["start"] = np.concatenate([r["start"] for r in runs])[at]
            out["end"] = np.concatenate([r["end"] for r in runs])[at]
        return out


_PIECE = 1 << 22  # occurrences located per pass: bounds the temporary int64 arrays


def _chunk_indexes(lengths: np.ndarray) -> np.ndarray:
    """0, 1, ... within each chunk of *lengths*, for all chunks one after another."""
    idx = np.arange(int(lengths.sum()), dtype=np.uint32)
    if len(lengths):
        idx -= np.repeat((np.cumsum(lengths) - lengths).astype(np.uint32), lengths)
    return idx


def _arrival(order, lengths, chunk_docs, pos, start, end):
    """Document, position and offsets of each occurrence, in the sorted order *order*
    (indexes into arrival order), computed a piece at a time."""
    n = len(order)
    chunk_start = np.cumsum(lengths) - lengths
    docs = np.empty(n, dtype=np.uint32)
    new_pos = np.empty(n, dtype=np.uint32)
    new_start = np.empty(n, dtype=np.uint32) if start is not None else None
    new_end = np.empty(n, dtype=np.uint32) if end is not None else None
    for c in range(0, n, _PIECE):
        o = order[c:c + _PIECE]
        # side="right": an empty chunk shares its start with the next one.
        k = np.searchsorted(chunk_start, o, side="right") - 1
        docs[c:c + _PIECE] = chunk_docs[k]
        new_pos[c:c + _PIECE] = o - chunk_start[k] if pos is None else pos[o]
        if start is not None:
            new_start[c:c + _PIECE] = start[o]
            new_end[c:c + _PIECE] = end[o]
    return docs, new_pos, new_start, new_end


def word_table(terms: list[str]) -> dict[str, np.ndarray]:
    """The term table of a word field: the terms' UTF-8 bytes end to end, where each
    starts, and a lookup table by CRC-32 (one search instead of ~20 string comparisons)."""
    encoded = [w.encode("utf-8", "surrogatepass") for w in terms]
    out = {"blob": np.frombuffer(b"".join(encoded), dtype=np.uint8),
           "toff": np.concatenate([[0], np.cumsum([len(b) for b in encoded],
                                                  dtype=np.int64)]).astype(np.int64)}
    crc = np.fromiter(map(zlib.crc32, encoded), dtype=np.uint32, count=len(encoded))
    out["crc_order"] = np.argsort(crc, kind="stable").astype(np.uint32)
    out["crc"] = crc[out["crc_order"]]
    return out


def term_chars(blob: np.ndarray, toff: np.ndarray) -> np.ndarray:
    """Length in characters of each term of a word table (its UTF-8 lead bytes: the
    count `indexer.index.postings_tables` makes when it reads the table back)."""
    cum = np.concatenate([[0], np.cumsum((blob & 0xC0) != 0x80)])
    toff = toff.astype(np.int64)
    return cum[toff[1:]] - cum[toff[:-1]]


def _narrow(arr: np.ndarray) -> np.ndarray:
    """*arr* (non-negative integers) in the smallest unsigned type that holds it: most
    segments' document numbers and positions fit 16 bits, which halves the file. The
    type is recorded per array, and readers widen what they slice."""
    if arr.dtype.kind not in "iu":
        return arr
    top = int(arr.max()) if arr.size else 0
    for dt in (np.uint8, np.uint16, np.uint32, np.uint64):
        if top <= np.iinfo(dt).max:
            return arr.astype(dt, copy=False)
    return arr


# Room kept for the JSON header before the arrays (four fields need about 2 KB); the
# header is padded with spaces to fill it, which JSON ignores.
HEADER_ROOM = 16384


def write(path: str, fields: dict[str, FieldBuilder], stream_merges: bool = True) -> None:
    """Write the tables of *fields* to *path* (through a temporary name, so that a reader
    never opens a half-written file). Each field's arrays are written as soon as they
    are built and its builder emptied: a flush holds one field's built arrays at a
    time, not all four fields'. A builder that merges segments' tables merges them a
    range of terms at a time (`indexer.index.merge_stream`), unless *stream_merges* is
    off (the in-memory merge, kept as the reference the tests compare it with)."""
    header: dict = {"fields": {}}
    base = -(-(len(MAGIC) + 8 + HEADER_ROOM) // ALIGN) * ALIGN
    offset = 0
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        for name in list(fields):
            fb = fields[name]
            entry = {"grams": fb.grams, "chars": fb.chars, "boost": fb.boost, "arrays": {}}
            if fb.tables and stream_merges:  # a merge, a range of terms at a time
                built, entry["streams"] = merge_stream.merged_arrays(fb, tmp)
            else:
                built = fb.arrays()
                packed, entry["streams"] = packed_table.encode(
                    built, None if fb.grams else term_chars(built["blob"], built["toff"]))
                built.update(packed)
                del packed
            fb.release()
            for key in list(built):
                arr = built.pop(key)
                f.seek(base + offset)
                if isinstance(arr, merge_stream.Spool):
                    entry["arrays"][key] = ["|u1", offset, arr.size]
                    arr.copy_to(f)
                    nbytes = arr.size
                else:
                    arr = np.ascontiguousarray(_narrow(arr) if key != "keys" else arr)
                    entry["arrays"][key] = [arr.dtype.str, offset, int(arr.size)]
                    f.write(memoryview(arr).cast("B"))
                    nbytes = arr.nbytes
                offset += -(-nbytes // ALIGN) * ALIGN
                del arr
            header["fields"][name] = entry
        # Arrays written, header not yet: a crash leaves a half-written file, under the
        # temporary name only.
        faults.crash_point("worker:tables-writing" if faults.in_worker() else "tables:writing")
        head = json.dumps(header).encode()
        if len(head) > HEADER_ROOM:  # pragma: no cover - would take thousands of fields
            raise ValueError("postings tables header too large")
        f.seek(0)
        f.write(MAGIC + HEADER_ROOM.to_bytes(8, "little") + head.ljust(HEADER_ROOM))
        f.truncate(base + offset)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)

