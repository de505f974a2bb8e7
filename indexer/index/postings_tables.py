"""Postings of the large text fields as flat numpy arrays, one file per segment.

Why: Whoosh files every posting through Python (a tuple in its pool, then its block
writer), about 30–40 µs each, and a page of Chinese text has thousands of distinct
character bigrams: that was three quarters of indexing time. Reading them back meant
unpickling and decompressing blocks, most of a query's time. Here one segment's
occurrences of a field are collected as arrays, sorted once (numpy, in C) and written
as a compressed-sparse-row table, which a reader maps and slices without decoding.

Layout of one field in one segment, format 3 (every array little-endian; plain integer
arrays other than ``keys`` in the narrowest unsigned type that holds their values):

- term table: for bigram fields ``keys`` (int64, see `gram_key`, sorted, which is also
  the UTF-8 byte order of the terms); for word fields ``blob`` (UTF-8 terms, sorted),
  ``toff`` (n+1 offsets into it), and ``crc``/``crc_order`` (the terms' CRC-32s sorted,
  and the term each belongs to: a lookup is one binary search);
- ``tpost`` and ``tocc`` (n+1 each): term t's postings are ``tpost[t]:tpost[t+1]``, its
  occurrences ``tocc[t]:tocc[t+1]``;
- the packed streams of `indexer.index.packed_table` (document gaps within each term, a
  bitmap marking each posting's first occurrence, positions, and for a field with
  character offsets (none since format 3's schema; older indexes' words) starts and
  ends as their difference from the term's length), each cut into blocks of 128
  values packed at their own width (`indexer.index.packing`): a term's postings, or one
  posting's occurrences, are decoded without touching any other term's.

Format 2 (magic ``GKPOST2``, still read) packed each term's document gaps in one run
at one width. Format 1 (magic ``GKPOST1``) kept ``docs``, ``poff``, ``pos``, ``start``
and ``end`` as plain arrays: the whole index took 4.3 bytes per byte of text at 10,000
documents, 2.6 in format 2; an index with such files is refused with a hint to rebuild (`indexer.index.store` checks
the format number in the index's meta file first).

The file is ``<segment id>.gkp`` beside Whoosh's own segment files, so that Whoosh's
clean-up deletes it with its segment. Its header is JSON, padded with spaces to a fixed
room so that each field can be written as soon as it is built; arrays are 64-byte aligned.
"""

from __future__ import annotations

import json
import os
import zlib
from bisect import bisect_left

import numpy as np

from indexer.index import packed_table
from indexer.index.packed_table import DamagedIndex

EXT = ".gkp"
# Format 3: long runs of document gaps in blocks (`indexer.index.packing.pack_term_runs`);
# format 2 (still read: its runs are of one width each) packed the streams
# (`indexer.index.packed_table`); format 1 kept every array plain.
FORMAT_VERSION = 3
MAGIC = b"GKPOST3\n"
READ_MAGICS = (MAGIC, b"GKPOST2\n")
OLD_MAGICS = {b"GKPOST1\n": 1}
ALIGN = 64
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
    its last character alone: what `indexer.chinese.analysis.bigram_positions` yields, as an
    array whose index is the position."""
    cps = np.frombuffer(compact.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    keys = (cps.astype(np.int64) + 1) << 22
    keys[:-1] |= cps[1:].astype(np.int64) + 1
    return keys


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


class OldFormat(ValueError):
    """A tables file of an older format (its number)."""


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


class FieldTable(packed_table.PackedReading):
    """One field's postings in one segment: the term table and the per-term offsets in
    memory, the packed streams (`indexer.index.packed_table`) read from the file (or a
    buffer) slice by slice and decoded."""

    # The term table, where each term's postings and occurrences start, and the
    # streams' superblocks: every lookup reads them.
    IN_MEMORY = ("keys", "blob", "toff", "crc", "crc_order", "tpost", "tocc")

    def __init__(self, entry: dict, source, base: int):
        self.grams = entry["grams"]
        self.chars = entry["chars"]
        self.boost = entry["boost"]
        arrays = {}
        for key, (dtype, off, count) in entry["arrays"].items():
            dt = np.dtype(dtype)
            if isinstance(source, int):  # a file descriptor
                arr = FileArray(source, dt, base + off, count)
                keep = key in self.IN_MEMORY or key.endswith((".s", ".b", ".c", ".o", ".f"))
                arrays[key] = np.array(arr[:]) if keep else arr
            else:
                arrays[key] = np.frombuffer(source, dtype=dt, count=count, offset=base + off)
        self.keys = arrays.get("keys")
        self._blob = None if self.grams else _Blob(arrays["blob"], arrays["toff"])
        self._crc, self._crc_order = arrays.get("crc"), arrays.get("crc_order")
        self.tpost = arrays["tpost"]
        self.tocc = arrays["tocc"].astype(np.int64)
        self._first = arrays["first"]
        streams = {name: (packed_table.RunStream if info.get("runs") else
                          packed_table.Stream)(arrays, name, info)
                   for name, info in entry["streams"].items()}
        self._docs, self._pos = streams["docs"], streams["pos"]
        self._start, self._endd = streams.get("start"), streams.get("endd")
        self.occurrences = int(self.tocc[-1]) if len(self.tocc) else 0
        self.pos = _Values(self, 0)
        self.start = _Values(self, 1) if self.chars else None
        self.end = _Values(self, 2) if self.chars else None

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
        if self._crc is not None:
            # The probe in the array's own type: a Python int makes numpy cast the
            # whole array first (220 µs instead of 3 µs for 400,000 terms).
            c = self._crc.dtype.type(zlib.crc32(btext))
            lo = int(self._crc.searchsorted(c, "left"))
            hi = int(self._crc.searchsorted(c, "right"))
            for k in range(lo, hi):
                t = int(self._crc_order[k])
                if self._blob[t] == btext:
                    return t
            return -1
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


class _Values:
    """``table.pos[a:b]`` (or start, end): occurrences *a*..*b* decoded."""

    __slots__ = ("table", "k")

    def __init__(self, table: FieldTable, k: int):
        self.table, self.k = table, k

    def __len__(self) -> int:
        return self.table.occurrences

    def __getitem__(self, key):
        if not isinstance(key, slice):
            raise TypeError("occurrences are read by slice")
        start, stop, step = key.indices(self.table.occurrences)
        if step != 1:
            raise ValueError("only contiguous slices")
        if self.k == 0:  # positions: one stream, read as directly as a plain array
            pos = self.table._pos
            return pos.raw(start, max(start, stop)).astype(pos.dtype, copy=False)
        return self.table.values(start, stop, "pse"[self.k])[self.k]


class SegmentTables:
    """Every field table of one segment's file."""

    def __init__(self, source, close=None, name: str = "postings tables"):
        """*source*: an open file descriptor of the tables file, or its bytes."""
        self._close = None  # set once the file is known good: the caller closes it else
        try:
            self.fields = self._read(source)
        except OldFormat as exc:
            raise DamagedIndex(
                f"index file {name} is in format {exc.args[0]}, this version reads "
                f"formats 2 and {FORMAT_VERSION}; rebuild the index with: gongkai index "
                "--rebuild PATH...") from None
        except (ValueError, KeyError, TypeError) as exc:  # JSONDecodeError is a ValueError
            raise DamagedIndex(f"damaged index file {name} ({exc}); rebuild the index "
                               "with: gongkai index --rebuild PATH...") from None
        self._close = close

    @staticmethod
    def _read(source) -> dict:
        is_fd = isinstance(source, int)
        size = os.fstat(source).st_size if is_fd else len(source)
        head = os.pread(source, 4096, 0) if is_fd else bytes(source[:4096])
        if head[:len(MAGIC)] in OLD_MAGICS:
            raise OldFormat(OLD_MAGICS[head[:len(MAGIC)]])
        if head[:len(MAGIC)] not in READ_MAGICS:
            raise ValueError("not a Gongkai postings file")
        start = len(MAGIC) + 8
        hlen = int.from_bytes(head[len(MAGIC):start], "little")
        if start + hlen > size:
            raise ValueError("truncated header")
        if start + hlen > len(head):
            head = os.pread(source, start + hlen, 0) if is_fd else bytes(source[:start + hlen])
        header = json.loads(head[start:start + hlen])
        base = -(-(start + hlen) // ALIGN) * ALIGN
        for entry in header["fields"].values():
            for dtype, off, count in entry["arrays"].values():
                if base + off + count * np.dtype(dtype).itemsize > size:
                    raise ValueError("truncated arrays")
        return {name: FieldTable(entry, source, base)
                for name, entry in header["fields"].items()}

    @classmethod
    def open(cls, storage, filename: str) -> SegmentTables:
        folder = folder_of(storage)
        if folder is not None:
            # Opened now and kept open: the file stays readable after a writer that
            # merged its segment away deletes it.
            fd = os.open(os.path.join(folder, filename), os.O_RDONLY)
            try:
                return cls(fd, close=lambda: os.close(fd), name=filename)
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
        if getattr(self, "_close", None) is not None:
            self.close()


def folder_of(storage) -> str | None:
    """The directory behind a Whoosh storage (a segment reader's storage is an overlay
    of the segment's compound file on the index folder)."""
    while not hasattr(storage, "folder") and hasattr(storage, "b"):
        storage = storage.b
    return getattr(storage, "folder", None)
