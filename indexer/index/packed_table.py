"""The postings of one field table as packed streams (format 2 of `indexer.index.postings_tables`):
how the flat arrays the builder makes are encoded, and how a reader decodes any slice.

Streams (each block-packed by `indexer.index.packing`, so any slice decodes on its own):

- ``docs``: each term's first document (``docs.f``), and for its other postings the
  gap to the previous posting's document, packed in one run per term at that run's
  own width, a run of more than 128 gaps in blocks of 128 at their own widths
  (`packing.pack_term_runs`, format 3): a term's documents are one read, one decode
  and one cumsum;
- ``first``: a bitmap over occurrences, set where a posting's occurrences begin: every
  posting's frequency (and ``poff``) at one bit per occurrence;
- ``pos``: each occurrence's position, as it is;
- ``start``: each occurrence's first character, as it is;
- ``endd``: the end minus the start minus the term's length in characters, zigzag
  coded: almost always 0, which packs to no bits at all.

Why positions and offsets are not gaps within their posting: measured at 10,000
documents, gaps took about as many bits (a bigram recurs hundreds of characters apart;
a posting's first position is as wide as any), and undoing them made a term's read
several times slower (a bitmap, a rank and a segmented sum per read). As they are, any
slice of occurrences decodes by itself.

A gap stream that could be negative (postings out of document order, never written by
this code) is zigzag coded instead; its header says so.
"""

from __future__ import annotations

import numpy as np

from indexer.index import packing
from indexer.index.distinct import distinct_sorted

CHUNK = 1 << 20  # values decoded per pass: bounds the temporary arrays
# Ranges gathered slice by slice up to this many (a read each); more are gathered by
# their blocks, whose bookkeeping costs as much as several reads.
FEW_RANGES = 8


class DamagedIndex(RuntimeError):
    """A tables file that cannot be read as one (truncated, overwritten)."""


def zigzag(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.int64)
    return ((x << 1) ^ (x >> 63)).astype(np.uint64)


def unzigzag(z: np.ndarray) -> np.ndarray:
    z = z.astype(np.int64)
    return (z >> 1) ^ -(z & 1)


def encode(built: dict, term_chars: np.ndarray | None) -> tuple[dict, dict]:
    """(arrays, stream descriptions) of format 2 from the builder's flat arrays
    (``tpost``, ``docs``, ``poff``, ``pos``, ``start``, ``end``; the term table
    passes through). *term_chars*: each term's length in characters (fields with
    offsets). The flat arrays are removed from *built* as they are encoded."""
    arrays: dict[str, np.ndarray] = {}
    streams: dict[str, dict] = {}

    def put(name: str, values: np.ndarray, signed: bool, dtype) -> None:
        for key, arr in packing.pack(values).items():
            arrays[f"{name}.{key}"] = arr
        streams[name] = {"n": int(len(values)), "signed": signed, "dtype": np.dtype(dtype).str}

    tpost = built.pop("tpost").astype(np.int64)
    poff = built.pop("poff").astype(np.int64)
    nocc = int(poff[-1]) if len(poff) else 0
    arrays["tpost"] = tpost
    arrays["tocc"] = poff[tpost]
    docs = built.pop("docs").astype(np.int64)
    gaps = np.empty_like(docs)
    if len(docs):
        gaps[0] = docs[0]
        np.subtract(docs[1:], docs[:-1], out=gaps[1:])
    heads = tpost[:-1][np.diff(tpost) > 0]  # each term's first posting
    firsts = docs[heads]
    rest = np.ones(len(docs), dtype=bool)
    rest[heads] = False
    gaps = gaps[rest]
    signed = bool(len(gaps)) and int(gaps.min()) < 0
    # Each term's first document apart (in memory when read), and its other postings'
    # gaps in one run per term at that run's width: a first document number as wide as
    # the segment would otherwise set the width of most terms' runs.
    first = np.zeros(len(tpost) - 1, dtype=np.int64)
    first[np.diff(tpost) > 0] = firsts
    arrays["docs.f"] = first
    df = np.diff(tpost)
    for key, arr in packing.pack_term_runs(zigzag(gaps) if signed else gaps,
                                           np.maximum(df - 1, 0)).items():
        arrays[f"docs.{key}"] = arr
    streams["docs"] = {"n": int(len(docs)), "signed": signed, "dtype": "<u4", "runs": True}
    del docs, gaps
    flags = np.zeros(nocc, dtype=bool)
    flags[poff[:-1]] = True
    arrays["first"] = np.packbits(flags, bitorder="little")
    del flags
    pos = built.pop("pos")
    put("pos", pos, False, _narrowest(pos))
    del pos
    if "start" in built:
        start, end = built.pop("start"), built.pop("end")
        put("start", start, False, _narrowest(start))
        # The ends' differences from their terms' lengths, a few million at a time:
        # int64 arrays over every occurrence would double a flush's memory.
        tocc = arrays["tocc"]
        coded = np.empty(nocc, dtype=np.uint64)
        for c in range(0, nocc, 1 << 22):
            sl = slice(c, min(nocc, c + (1 << 22)))
            term_of = np.searchsorted(tocc, np.arange(sl.start, sl.stop), "right") - 1
            coded[sl] = zigzag(end[sl].astype(np.int64) - start[sl] - term_chars[term_of])
        put("endd", coded, True, _narrowest(end))
        del coded
    return arrays, streams


def _narrowest(values: np.ndarray):
    top = int(values.max()) if len(values) else 0
    for dt in (np.uint8, np.uint16, np.uint32):
        if top <= np.iinfo(dt).max:
            return dt
    return np.uint64


# --- reading -------------------------------------------------------------------------


class Stream:
    """One packed stream in a tables file: its bytes read per slice, the block widths
    and the superblocks' byte offsets in memory."""

    __slots__ = ("words", "widths", "supers", "sizes", "n", "signed", "dtype")

    def __init__(self, arrays: dict, name: str, info: dict):
        self.words = arrays[name + ".w"]
        # One byte per 128 values, kept in memory (6 MB at 100,000 documents): every
        # read needs its blocks' widths, and a read of the file for them cost as much
        # as decoding a small term.
        self.widths = np.asarray(arrays[name + ".b"][:])
        self.sizes = packing.BLOCK_BYTES
        self.supers = np.asarray(arrays[name + ".s"][:], dtype=np.int64)
        self.n = info["n"]
        self.signed = info["signed"]
        self.dtype = np.dtype(info["dtype"])

    def raw(self, lo: int, hi: int) -> np.ndarray:
        """Stored values *lo*..*hi* (unsigned, zigzag still applied)."""
        if hi <= lo:
            return np.zeros(0, dtype=np.uint32)
        if hi - lo > CHUNK:
            return np.concatenate([self.raw(a, min(hi, a + CHUNK))
                                   for a in range(lo, hi, CHUNK)])
        block, per = packing.BLOCK, packing.SUPER
        ba, bb = lo // block, (hi - 1) // block + 1
        sb = (ba // per) * per
        codes = self.widths[ba:bb]
        b0 = int(self.supers[ba // per])
        if ba > sb:
            b0 += int(self.sizes[self.widths[sb:ba]].sum())
        if bb - ba == 1:  # one block (most terms' postings, a posting's occurrences)
            bits = packing.WIDTHS[codes[0]]
            i, j = lo - ba * block, hi - ba * block
            if bits in (8, 16, 32):  # whole bytes: read only the values asked for
                width = bits // 8
                data = self.words[b0 + i * width:b0 + j * width]
                return data.view(f"<u{width}")
            data = self.words[b0:b0 + block * bits // 8]
            return packing.decode_width(data, bits, block)[i:j]
        data = self.words[b0:b0 + int(self.sizes[codes].sum())]
        return packing.unpack(data, codes, lo - ba * block, hi - ba * block)

    def values(self, lo: int, hi: int) -> np.ndarray:
        """Values *lo*..*hi* as int64 (zigzag codes undone)."""
        raw = self.raw(lo, hi)
        return unzigzag(raw) if self.signed else raw.astype(np.int64)

    def gather(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Stored values of the ranges ``lo[k]:hi[k]`` (ascending, not overlapping),
        one after another, decoding only the blocks they touch: a few hundred
        documents' occurrences of a bigram with millions, without the rest."""
        lo, hi = np.asarray(lo, dtype=np.int64), np.asarray(hi, dtype=np.int64)
        keep = hi > lo
        lo, hi = lo[keep], hi[keep]
        if not len(lo):
            return np.zeros(0, dtype=np.uint32)
        if len(lo) <= FEW_RANGES:
            parts = [self.raw(a, b) for a, b in zip(lo.tolist(), hi.tolist(), strict=True)]
            return parts[0] if len(parts) == 1 else np.concatenate(parts)
        block = packing.BLOCK
        ba, bb = lo // block, (hi - 1) // block + 1
        blocks = distinct_sorted(packing.ranges(ba, bb - ba))
        starts = self._block_starts(blocks)
        sizes = self.sizes[self.widths[blocks]]
        data = self._read_blocks(blocks, starts, sizes)
        values = packing.unpack(data, self.widths[blocks], 0, len(blocks) * block)
        # Each range's first value in the gathered blocks, then its values in a row.
        first = np.searchsorted(blocks, ba) * block + (lo - ba * block)
        return values[packing.ranges(first, hi - lo)]

    def _block_starts(self, blocks: np.ndarray) -> np.ndarray:
        """Byte offset of each of *blocks* in the stream: its superblock's offset plus
        the sizes of the blocks before it there (summed for the superblocks touched
        only)."""
        per = packing.SUPER
        sup = blocks // per
        heads = distinct_sorted(sup)
        cols = heads[:, None] * per + np.arange(per)[None, :]
        widths = self.widths[np.minimum(cols, len(self.widths) - 1)]
        inner = np.cumsum(self.sizes[widths], axis=1) - self.sizes[widths]
        row = np.searchsorted(heads, sup)
        return self.supers[sup] + inner[row, blocks - sup * per]

    def _read_blocks(self, blocks, starts, sizes) -> np.ndarray:
        """The bytes of *blocks*, one after another: one read for each stretch of the
        file whose blocks lie within a page of each other."""
        ends = starts + sizes
        cut = np.flatnonzero(starts[1:] - ends[:-1] > 4096) + 1
        bounds = [0, *cut.tolist(), len(blocks)]
        pieces = []
        for a, b in zip(bounds, bounds[1:], strict=False):
            span = self.words[int(starts[a]):int(ends[b - 1])]
            if b - a == 1 or int(ends[b - 1] - starts[a]) == int(sizes[a:b].sum()):
                pieces.append(span)  # the stretch is all wanted bytes
                continue
            pieces.append(span[packing.ranges(starts[a:b] - starts[a], sizes[a:b])])
        return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)


class RunStream:
    """Document numbers packed in runs (`indexer.index.packing.pack_runs`): each term's
    first document, and one run of gaps per term; the firsts, the runs' width codes and
    byte offsets in memory (7 to 13 bytes a term)."""

    __slots__ = ("words", "codes", "offs", "first", "n", "signed")

    def __init__(self, arrays: dict, name: str, info: dict):
        self.words = arrays[name + ".w"]
        self.first = np.asarray(arrays[name + ".f"][:])
        self.codes = np.asarray(arrays[name + ".c"][:])
        self.offs = np.asarray(arrays[name + ".o"][:])
        self.n = info["n"]
        self.signed = info["signed"]

    def run(self, r: int, n: int) -> np.ndarray:
        """The *n* document numbers of term *r* (int64)."""
        out = np.empty(n, dtype=np.int64)
        if n <= 0:
            return out
        out[0] = self.first[r]
        if n > 1:
            data = self.words[int(self.offs[r]):int(self.offs[r + 1])]
            raw = packing.unpack_run(data, int(self.codes[r]), n - 1)
            out[1:] = unzigzag(raw) if self.signed else raw
        return np.cumsum(out, out=out)

    def all(self, lens: np.ndarray) -> np.ndarray:
        """Every term's document numbers in order, the terms having *lens* postings."""
        return self.terms(0, len(lens), lens)

    def terms(self, ta: int, tb: int, lens: np.ndarray) -> np.ndarray:
        """The document numbers of terms *ta*..*tb* in order, the terms having *lens*
        postings (a merge reads a range of terms at a time)."""
        lens = np.asarray(lens, dtype=np.int64)
        o0, o1 = int(self.offs[ta]), int(self.offs[tb])
        offs = np.asarray(self.offs[ta:tb + 1], dtype=np.int64) - o0
        raw = packing.unpack_runs(self.words[o0:o1], self.codes[ta:tb], offs,
                                  np.maximum(lens - 1, 0))
        gaps = unzigzag(raw) if self.signed else raw.astype(np.int64)
        has = lens > 0
        heads = np.concatenate([[0], np.cumsum(lens)[:-1]])[has]
        vals = np.empty(int(lens.sum()), dtype=np.int64)
        rest = np.ones(len(vals), dtype=bool)
        rest[heads] = False
        vals[heads] = self.first[ta:tb][has]
        vals[rest] = gaps
        cs = np.cumsum(vals)
        return cs - np.repeat(cs[heads] - vals[heads], lens[has])


class PackedReading:
    """Decoding of a field table's postings (`indexer.index.postings_tables.FieldTable` holds the
    arrays and streams: ``tpost``, ``tocc``, ``_first``, ``_docs``, ``_pos``,
    ``_start``, ``_endd``, ``_blob``, ``occurrences``)."""

    def postings(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """(segment-local document numbers, frequencies) of term *t*."""
        docs, poff, *_ = self.read(t, with_values=False)
        return docs, np.diff(poff)

    def read(self, t: int, with_values: bool, which: str = "pse"):
        """(docs, poff, pos, start, end, (first, end)) of term *t*: docs as int64, pos,
        start and end only *with_values* and named in *which* (else None); poff as int64
        relative to the term's first occurrence; (first, end) the term's range of
        occurrences, to read them later (`pos`, `start` and `end` slice by occurrence)."""
        pa, pb = self.tpost[t:t + 2].tolist()
        oa, ob = int(self.tocc[t]), int(self.tocc[t + 1])
        docs = self._docs.run(t, pb - pa)
        heads = np.flatnonzero(self._flags(oa, ob))
        if len(heads) != pb - pa or (len(heads) and heads[0] != 0):
            raise DamagedIndex(f"damaged postings of term {t} ({len(heads)} != {pb - pa})")
        poff = np.append(heads, ob - oa).astype(np.int64)
        if not with_values:
            return docs, poff, None, None, None, (oa, ob)
        pos, start, end = self.values(oa, ob, which)
        return docs, poff, pos, start, end, (oa, ob)

    def values(self, a: int, b: int, which: str = "pse"):
        """(pos, start, end) of occurrences *a*..*b*, those named in *which* ("p",
        "s", "e"; the others None, as start and end are for a field without character
        offsets)."""
        b = min(b, self.occurrences)
        a = min(a, b)
        pos = self._pos.raw(a, b).astype(self._pos.dtype, copy=False) if "p" in which else None
        if not self.chars or not ("s" in which or "e" in which):
            return pos, None, None
        # `table.start[a:b]` and then `table.end[a:b]` (as the search backend reads a
        # term's offsets) decode the starts once: the last ones are kept.
        last = getattr(self, "_last_start", None)
        if last is not None and last[0] == (a, b):
            start = last[1]
        else:
            start = self._start.raw(a, b)
            self._last_start = ((a, b), start)
        end = None
        if "e" in which:
            end = start.astype(np.int64) + self._term_chars_of(a, b)
            end += self._endd.values(a, b)
            end = end.astype(self._endd.dtype)
        return pos, (start.astype(self._start.dtype) if "s" in which else None), end

    def gather_positions(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Positions of the occurrences in the ranges ``lo[k]:hi[k]`` of one term
        (ascending), one range after another."""
        return self._pos.gather(lo, hi).astype(self._pos.dtype, copy=False)

    def _term_chars_of(self, a: int, b: int):
        """Length in characters of the term of each occurrence *a*..*b* (one number
        when they are all one term's)."""
        if b <= a:
            return 0
        t0 = int(self.tocc.searchsorted(a, "right")) - 1
        if b <= self.tocc[t0 + 1]:
            return len(self._blob[t0].decode("utf-8", "surrogatepass"))
        t1 = int(self.tocc.searchsorted(b - 1, "right"))  # one past the last term
        bounds = np.clip(self.tocc[t0:t1 + 1], a, b)
        toff = self._blob.toff[t0:t1 + 1].astype(np.int64)
        lead = (self._blob.blob[toff[0]:toff[-1]] & 0xC0) != 0x80  # UTF-8 lead bytes
        cum = np.concatenate([[0], np.cumsum(lead)])
        chars = cum[toff[1:] - toff[0]] - cum[toff[:-1] - toff[0]]
        return np.repeat(chars, np.diff(bounds))

    def _flags(self, a: int, b: int) -> np.ndarray:
        """Whether each occurrence *a*..*b* is its posting's first."""
        if b <= a:
            return np.zeros(0, dtype=bool)
        raw = np.asarray(self._first[a // 8:(b - 1) // 8 + 1])
        return np.unpackbits(raw, bitorder="little")[a % 8:a % 8 + b - a].view(bool)

    def flat(self) -> dict[str, np.ndarray]:
        """Every posting and occurrence decoded (to merge the segment into another):
        tpost, docs (int64), poff (int64), pos, and start/end with character offsets."""
        tpost = self.tpost.astype(np.int64)
        docs = self._docs.all(np.diff(tpost))
        poff = np.append(np.flatnonzero(self._flags(0, self.occurrences)),
                         self.occurrences).astype(np.int64)
        out = {"tpost": tpost, "docs": docs, "poff": poff}
        # Four million occurrences at a time: the int64 temporaries stay bounded.
        step = 1 << 22
        parts = [self.values(a, min(a + step, self.occurrences))
                 for a in range(0, self.occurrences, step)] or [self.values(0, 0)]
        out["pos"] = np.concatenate([p[0] for p in parts])
        if self.chars:
            out["start"] = np.concatenate([p[1] for p in parts])
            out["end"] = np.concatenate([p[2] for p in parts])
        return out
