"""Postings of the large text fields as flat numpy arrays, one file per segment.

Why: Whoosh files every posting through Python (a tuple in its pool, then its block
writer), about 30–40 µs each, and a page of Chinese text has thousands of distinct
character bigrams: that was three quarters of indexing time. Reading them back meant
unpickling and decompressing blocks, most of a query's time. Here one segment's
occurrences of a field are collected as arrays, sorted once (numpy, in C) and written
as a compressed-sparse-row table, which a reader maps and slices without decoding.

Layout of one field in one segment (every array little-endian; integer arrays other
than ``keys`` are stored in the narrowest unsigned type that holds their values):

- term table: for bigram fields ``keys`` (int64, see `gram_key`, sorted, which is also
  the UTF-8 byte order of the terms); for word fields ``blob`` (UTF-8 terms, sorted)
  and ``toff`` (int64, n+1 offsets into it);
- ``tpost`` (int64, n+1): term t's postings are ``tpost[t]:tpost[t+1]``;
- ``docs`` (uint32): segment-local document number of each posting, ascending per term;
- ``poff`` (int64, postings+1): posting k's occurrences are ``poff[k]:poff[k+1]`` (its
  frequency is the difference);
- ``pos`` (uint32) per occurrence, and for fields that store character offsets
  ``start`` and ``end`` (uint32).

The file is ``<segment id>.gkp`` beside Whoosh's own segment files, so that Whoosh's
clean-up deletes it with its segment. Its header is JSON; arrays are 64-byte aligned.
"""

from __future__ import annotations

import json
import os
from bisect import bisect_left

import numpy as np

EXT = ".gkp"
MAGIC = b"GKPOST1\n"
_ALIGN = 64
_NONE = 0  # second half of a one-character term's key


def gram_key(term: str) -> int:
    """Order-preserving int64 key of a one- or two-character term (-1: not a gram)."""
    if len(term) == 1:
        return (ord(term) + 1) << 22
    if len(term) == 2:
        return ((ord(term[0]) + 1) << 22) | (ord(term[1]) + 1)
    return -1


def gram_text(key: int) -> str:
    first, second = (key >> 22) - 1, (key & 0x3FFFFF) - 1
    return chr(first) if second < 0 else chr(first) + chr(second)


def gram_keys(compact: str) -> np.ndarray:
    """Keys of the overlapping bigrams of *compact* (whitespace already removed), then of
    its last character alone: what `indexer.analysis.bigram_positions` yields, as an
    array whose index is the position."""
    cps = np.frombuffer(compact.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    keys = (cps.astype(np.int64) + 1) << 22
    keys[:-1] |= cps[1:].astype(np.int64) + 1
    return keys


# --- writing -------------------------------------------------------------------------


class FieldBuilder:
    """Occurrences of one field of one segment, in the order documents arrive."""

    def __init__(self, grams: bool, chars: bool, boost: float):
        self.grams = grams
        self.chars = chars
        self.boost = boost
        self.vocab: dict[str, int] = {}  # word fields: term → provisional id
        # Per occurrence, a chunk per document: the term's key (grams) or provisional
        # id (words), the document, the position, and for chars fields the offsets.
        self.key_chunks: list[np.ndarray] = []
        self.doc_chunks: list[np.ndarray] = []
        self.pos_chunks: list[np.ndarray] = []
        self.span_chunks: list[tuple[np.ndarray, np.ndarray]] = []
        self.sorted = True  # occurrences ordered by (document, position) within each term

    def add_grams(self, docnum: int, keys: np.ndarray) -> None:
        self.key_chunks.append(keys)
        self.doc_chunks.append(np.full(len(keys), docnum, dtype=np.uint32))
        self.pos_chunks.append(np.arange(len(keys), dtype=np.uint32))

    def add_words(self, docnum: int, words: list[str], pos, start, end) -> None:
        """One document's word occurrences, in position order."""
        vocab = self.vocab
        for w in set(words).difference(vocab):
            vocab[w] = len(vocab)
        self.key_chunks.append(np.fromiter(map(vocab.__getitem__, words), dtype=np.int64,
                                           count=len(words)))
        self.doc_chunks.append(np.full(len(words), docnum, dtype=np.uint32))
        self.pos_chunks.append(np.asarray(pos, dtype=np.uint32))
        self.span_chunks.append((np.asarray(start, dtype=np.uint32),
                                 np.asarray(end, dtype=np.uint32)))

    def add_table(self, table: FieldTable, docmap: np.ndarray) -> None:
        """Every posting of *table* (a segment being merged in), documents renumbered by
        *docmap* (old → new, -1 for a deleted document, whose postings are dropped)."""
        if len(table.docs) == 0:
            return
        freq = np.diff(table.poff[:].astype(np.int64))
        per_term = np.diff(table.tpost[:].astype(np.int64))
        occ_doc = np.repeat(docmap[table.docs[:]], freq)
        keep = occ_doc >= 0
        occ_term = np.repeat(np.repeat(np.arange(len(per_term)), per_term), freq)
        if self.grams:
            self.key_chunks.append(table.keys[occ_term][keep])
        else:
            vocab = self.vocab
            local = np.array([vocab.setdefault(t, len(vocab)) for t in table.term_list()],
                             dtype=np.int64)
            self.key_chunks.append(local[occ_term][keep])
        self.doc_chunks.append(occ_doc[keep].astype(np.uint32))
        self.pos_chunks.append(table.pos[:][keep])
        if self.chars:
            self.span_chunks.append((table.start[:][keep], table.end[:][keep]))
        self.sorted = False

    def _columns(self):
        def cat(chunks, dtype):
            parts = [np.asarray(c, dtype=dtype) for c in chunks]
            return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

        terms = cat(self.key_chunks, np.int64)
        docs = cat(self.doc_chunks, np.uint32)
        pos = cat(self.pos_chunks, np.uint32)
        if self.chars:
            start = cat([s for s, _ in self.span_chunks], np.uint32)
            end = cat([e for _, e in self.span_chunks], np.uint32)
        else:
            start = end = None
        return terms, docs, pos, start, end

    def arrays(self) -> dict[str, np.ndarray]:
        terms, docs, pos, start, end = self._columns()
        out: dict[str, np.ndarray] = {}
        if self.grams:
            ranks = terms  # keys sort like their terms: one sort below serves both
        else:
            # Only terms that still occur: a merged-in segment's vocabulary includes the
            # terms of its deleted documents. Code point order = UTF-8 byte order.
            used = np.zeros(len(self.vocab), dtype=bool)
            used[terms] = True
            ordered = sorted(w for w, t in self.vocab.items() if used[t])
            rank_of = np.zeros(len(self.vocab), dtype=np.int64)
            rank_of[[self.vocab[w] for w in ordered]] = np.arange(len(ordered))
            ranks = rank_of[terms] if len(terms) else terms
            encoded = [w.encode("utf-8", "surrogatepass") for w in ordered]
            out["blob"] = np.frombuffer(b"".join(encoded), dtype=np.uint8)
            out["toff"] = np.concatenate(
                [[0], np.cumsum([len(b) for b in encoded], dtype=np.int64)]).astype(np.int64)
        # Documents arrive in ascending order with positions ascending, so a stable sort
        # by term keeps (document, position) order; merged-in tables need a full sort.
        order = np.argsort(ranks, kind="stable") if self.sorted else np.lexsort((pos, docs, ranks))
        ranks, docs, pos = ranks[order], docs[order], pos[order]
        n = len(ranks)
        if self.grams:  # sorted keys → the term table and dense ranks
            new_term = np.ones(n, dtype=bool)
            new_term[1:] = ranks[1:] != ranks[:-1]
            out["keys"] = ranks[new_term]
            ranks = np.cumsum(new_term) - 1
        nterms = len(out["keys"]) if self.grams else len(out["toff"]) - 1
        first = np.ones(n, dtype=bool)
        if n:
            first[1:] = (ranks[1:] != ranks[:-1]) | (docs[1:] != docs[:-1])
        heads = np.flatnonzero(first)
        out["tpost"] = np.searchsorted(ranks[heads], np.arange(nterms + 1)).astype(np.int64)
        out["docs"] = docs[heads]
        out["poff"] = np.append(heads, n).astype(np.int64)
        out["pos"] = pos
        if self.chars:
            out["start"] = start[order]
            out["end"] = end[order]
        return out


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


def write(path: str, fields: dict[str, FieldBuilder]) -> None:
    """Write the tables of *fields* to *path* (through a temporary name, so that a reader
    never maps a half-written file)."""
    header: dict = {"fields": {}}
    blobs: list[tuple[int, np.ndarray]] = []
    offset = 0
    for name, fb in fields.items():
        entry = {"grams": fb.grams, "chars": fb.chars, "boost": fb.boost, "arrays": {}}
        for key, arr in fb.arrays().items():
            arr = np.ascontiguousarray(_narrow(arr) if key != "keys" else arr)
            entry["arrays"][key] = [arr.dtype.str, offset, int(arr.size)]
            blobs.append((offset, arr))
            offset += -(-arr.nbytes // _ALIGN) * _ALIGN
        header["fields"][name] = entry
    head = json.dumps(header).encode()
    base = -(-(len(MAGIC) + 8 + len(head)) // _ALIGN) * _ALIGN
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(MAGIC + len(head).to_bytes(8, "little") + head)
        for off, arr in blobs:
            f.seek(base + off)
            f.write(arr.tobytes())
        f.truncate(base + offset)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# --- reading -------------------------------------------------------------------------


class _Blob:
    """The sorted terms of a word field as a sequence of bytes (for bisect)."""

    def __init__(self, blob: np.ndarray, toff: np.ndarray):
        self.blob = blob
        self.toff = toff

    def __len__(self) -> int:
        return len(self.toff) - 1

    def __getitem__(self, i: int) -> bytes:
        return self.blob[self.toff[i]:self.toff[i + 1]].tobytes()


class FileArray:
    """A read-only array in the tables file, read slice by slice with ``os.pread``
    (thread-safe, no shared file position). Mapping the file instead made every page a
    query ever touched count in the serving process's memory."""

    __slots__ = ("fd", "dtype", "offset", "size")

    def __init__(self, fd: int, dtype: np.dtype, offset: int, size: int):
        self.fd, self.dtype, self.offset, self.size = fd, dtype, offset, size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, key):
        if isinstance(key, slice):
            start, stop, step = key.indices(self.size)
            if step != 1:
                raise ValueError("only contiguous slices")
            if stop <= start:
                return np.zeros(0, dtype=self.dtype)
            width = self.dtype.itemsize
            buf = os.pread(self.fd, (stop - start) * width, self.offset + start * width)
            return np.frombuffer(buf, dtype=self.dtype)
        i = int(key)
        return self[i:i + 1][0] if i >= 0 else self[self.size + i:self.size + i + 1][0]


class FieldTable:
    """One field's postings in one segment: the term table in memory, postings and
    occurrences read from the file (or a buffer) slice by slice."""

    IN_MEMORY = ("keys", "blob", "toff")

    def __init__(self, entry: dict, source, base: int):
        self.grams = entry["grams"]
        self.chars = entry["chars"]
        self.boost = entry["boost"]
        arrays = {}
        for key, (dtype, off, count) in entry["arrays"].items():
            dt = np.dtype(dtype)
            if isinstance(source, int):  # a file descriptor
                arr = FileArray(source, dt, base + off, count)
                arrays[key] = np.array(arr[:]) if key in self.IN_MEMORY else arr
            else:
                arrays[key] = np.frombuffer(source, dtype=dt, count=count, offset=base + off)
        self.keys = arrays.get("keys")
        self._blob = None if self.grams else _Blob(arrays["blob"], arrays["toff"])
        self.tpost = arrays["tpost"]
        self.docs = arrays["docs"]
        self.poff = arrays["poff"]
        self.pos = arrays["pos"]
        self.start = arrays.get("start")
        self.end = arrays.get("end")

    def __len__(self) -> int:
        return len(self.tpost) - 1

    def find(self, btext: bytes) -> int:
        """Index of the term *btext* (-1 when absent)."""
        if self.grams:
            try:
                key = gram_key(btext.decode("utf-8"))
            except UnicodeDecodeError:
                return -1
            if key < 0:
                return -1
            i = int(np.searchsorted(self.keys, key))
            return i if i < len(self.keys) and self.keys[i] == key else -1
        i = bisect_left(self._blob, btext)
        return i if i < len(self._blob) and self._blob[i] == btext else -1

    def term_bytes(self, t: int) -> bytes:
        if self.grams:
            return gram_text(int(self.keys[t])).encode("utf-8")
        return self._blob[t]

    def term_list(self) -> list[str]:
        if self.grams:
            return [gram_text(int(k)) for k in self.keys]
        return [self._blob[t].decode("utf-8", "surrogatepass") for t in range(len(self))]

    def first_at_or_after(self, btext: bytes) -> int:
        """Index of the first term ≥ *btext* in byte order."""
        if self.grams:
            text = btext.decode("utf-8", "replace")
            if not text:
                return 0
            key = gram_key(text[:2]) if len(text) <= 2 else gram_key(text[:2]) + 1
            return int(np.searchsorted(self.keys, key))
        return bisect_left(self._blob, btext)

    def postings(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """(segment-local document numbers, frequencies) of term *t*."""
        a, b = int(self.tpost[t]), int(self.tpost[t + 1])
        return self.docs[a:b], np.diff(self.poff[a:b + 1])

    def occurrence_range(self, t: int) -> tuple[int, int, int, int]:
        """(first posting, end posting, first occurrence, end occurrence) of term *t*."""
        a, b = int(self.tpost[t]), int(self.tpost[t + 1])
        return a, b, int(self.poff[a]), int(self.poff[b])


class SegmentTables:
    """Every field table of one segment's file."""

    def __init__(self, source, close=None):
        """*source*: an open file descriptor of the tables file, or its bytes."""
        head = (os.pread(source, 4096, 0) if isinstance(source, int)
                else bytes(source[:4096]))
        if head[:len(MAGIC)] != MAGIC:
            raise ValueError("not a Gongkai postings file")
        start = len(MAGIC) + 8
        hlen = int.from_bytes(head[len(MAGIC):start], "little")
        if start + hlen > len(head):
            head = (os.pread(source, start + hlen, 0) if isinstance(source, int)
                    else bytes(source[:start + hlen]))
        header = json.loads(head[start:start + hlen])
        base = -(-(start + hlen) // _ALIGN) * _ALIGN
        self.fields = {name: FieldTable(entry, source, base)
                       for name, entry in header["fields"].items()}
        self._close = close

    @classmethod
    def open(cls, storage, filename: str) -> SegmentTables:
        folder = folder_of(storage)
        if folder is not None:
            # Opened now and kept open: the file stays readable after a writer that
            # merged its segment away deletes it.
            fd = os.open(os.path.join(folder, filename), os.O_RDONLY)
            try:
                return cls(fd, close=lambda: os.close(fd))
            except BaseException:
                os.close(fd)
                raise
        f = storage.open_file(filename)  # a storage without files (Whoosh's RAM storage)
        try:
            return cls(np.frombuffer(f.read(), dtype=np.uint8))
        finally:
            f.close()

    def close(self) -> None:
        if self._close is not None:
            self._close()
            self._close = None

    def __del__(self):
        self.close()


def folder_of(storage) -> str | None:
    """The directory behind a Whoosh storage (a segment reader's storage is an overlay
    of the segment's compound file on the index folder)."""
    while not hasattr(storage, "folder") and hasattr(storage, "b"):
        storage = storage.b
    return getattr(storage, "folder", None)
