"""Stored documents: each document's stored fields, pickled and compressed by zstd with a
dictionary trained on the segment's own documents (format 3 of the index): its first
ones, or for a merge documents spread over the first segment merged in (`spread_sample`).

Why: Whoosh compresses each stored document by itself with zlib, 0.55 bytes per byte of
text at 100,000 documents, a fifth of the index. Documents of one corpus share most of
their vocabulary and boilerplate (版权所有, 发布机构, 索引号, the phrases every notice
uses); a dictionary holds them once per segment, and each document is still one frame
that decompresses by itself, so a results page reads ten small frames, not ten blocks.
Measured on pickled stored fields, trained on 1,000 documents, tested on others (256 KB
dictionary, level 3): the bench's 2,646 real documents 0.392 (zlib) → 0.302, its
synthetic ones 0.524 → 0.354 (→ 0.331 with the 1 MB dictionary below); 60–120 MB/s to
compress, 16–30 µs a document to decompress.

The column's bytes: the dictionary, then one frame per document, then each document's
end offset (uint64, little-endian; a document without stored fields has an empty frame),
then a trailer: dictionary length, document count, magic. A segment with too few
documents to train on (an incremental update of a few pages) has no dictionary.
"""

from __future__ import annotations

import pickle
import struct
import threading

import numpy as np
import zstandard
from whoosh.codec.whoosh3 import W3PerDocReader, W3PerDocWriter
from whoosh.columns import Column, ColumnReader, ColumnWriter

NAME = "_docs"  # the column's name in a segment (Whoosh's own is "_stored")
MAGIC = b"GKDOC1\n\x00"
_TRAILER = struct.Struct("<QQ8s")
# Level 5: on a 7,959-document segment of the bench (1 MB dictionary trained on a spread
# sample), levels 3, 4, 5 and 6 gave 20.4, 19.6, 19.2 and 18.4 MB, writing took 1, 1.24,
# 1.64 and 2.2 times as long as at level 3; decompression is as fast at every level.
LEVEL = 5
# The dictionary's size: 1 MB once a segment has outgrown the sample (measured on 8 MB
# of the bench's documents, tested on 4,000 others: 256 KB 0.356 of their size, 1 MB
# 0.331, training 1.3 and 2.0 s); a smaller segment, the whole of it in the sample, gets
# a 32nd of its size (the 299 sample documents, 1.8 MB: 64 KB gave 0.874 of zlib's bytes
# with the dictionary counted, 256 KB 0.99).
DICT_BYTES = 1024 * 1024
MIN_DICT_BYTES = 16 * 1024
SAMPLE_BYTES = 8 * 1024 * 1024  # documents held back to train the dictionary on
SAMPLE_DOCS = 4000
MIN_SAMPLE_DOCS = 64  # fewer documents: no dictionary (training would fail or overfit)


class DocumentsColumn(Column):
    """The stored-documents column (values are dicts of stored fields)."""

    def writer(self, dbfile):
        return _Writer(dbfile)

    def reader(self, dbfile, basepos, length, doccount):
        return _Reader(dbfile, basepos, length, doccount)


DOCUMENTS_COLUMN = DocumentsColumn()


def train(samples: list[bytes], segment_bytes: int | None = None) -> bytes:
    """A dictionary trained on *samples* of a segment's documents (*segment_bytes*: the
    segment's size when known to be small), or b"" when there are too few to train on."""
    if len(samples) < MIN_SAMPLE_DOCS:
        return b""
    size = DICT_BYTES
    if segment_bytes is not None:
        size = min(DICT_BYTES, max(MIN_DICT_BYTES, segment_bytes // 32))
    try:
        return zstandard.train_dictionary(size, samples, level=LEVEL).as_bytes()
    except zstandard.ZstdError:  # samples too small or too alike to make one
        return b""


def spread_sample(count: int, fetch) -> list[bytes]:
    """Pickles of up to `SAMPLE_DOCS` documents, about `SAMPLE_BYTES` of them, spread
    evenly over documents 0..*count* - 1 (``fetch(docnum)``: the document, or None to
    skip it)."""
    step = max(1, count // SAMPLE_DOCS)
    picked = [pickle.dumps(d, protocol=pickle.HIGHEST_PROTOCOL)
              for d in (fetch(n) for n in range(0, count, step)) if d is not None]
    if sum(map(len, picked)) > SAMPLE_BYTES and len(picked) > MIN_SAMPLE_DOCS:
        per = sum(map(len, picked)) / len(picked)
        keep = max(MIN_SAMPLE_DOCS, int(SAMPLE_BYTES / per))
        picked = [picked[i * len(picked) // keep] for i in range(keep)]  # still spread
    return picked


def _compressor(dictionary: bytes) -> zstandard.ZstdCompressor:
    if dictionary:
        return zstandard.ZstdCompressor(level=LEVEL,
                                        dict_data=zstandard.ZstdCompressionDict(dictionary))
    return zstandard.ZstdCompressor(level=LEVEL)


class _Writer(ColumnWriter):
    def __init__(self, dbfile):
        self._dbfile = dbfile
        self._held: list[tuple[int, bytes]] = []  # (docnum, pickle) until the dictionary
        self._held_bytes = 0
        self._cctx = None
        self._ends: list[int] = []  # end offset of each document's frame
        self._size = 0  # bytes written after the dictionary

    def train_spread(self, count: int, fetch) -> None:
        """Train the dictionary on documents spread over *count* documents this column
        is about to be given (``fetch(docnum)``, as in `spread_sample`: a merge's first
        segment) instead of on the first ones; nothing once a document has been added."""
        if self._cctx is not None or self._held:
            return
        samples = spread_sample(count, fetch)
        size = None
        if samples:  # the segment's size, estimated, if it is small
            est = sum(map(len, samples)) * count // len(samples)
            size = est if est < SAMPLE_BYTES else None
        self._begin(train(samples, size))

    def add(self, docnum: int, value) -> None:
        raw = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        if self._cctx is None:
            self._held.append((docnum, raw))
            self._held_bytes += len(raw)
            n = len(self._held)
            if (self._held_bytes >= SAMPLE_BYTES and n >= MIN_SAMPLE_DOCS) or n >= SAMPLE_DOCS:
                self._begin(train([raw for _, raw in self._held]))
            return
        self._write(docnum, raw)

    def _begin(self, dictionary: bytes) -> None:
        self._dictionary_len = len(dictionary)
        self._dbfile.write(dictionary)
        self._cctx = _compressor(dictionary)
        held, self._held = self._held, []
        for docnum, raw in held:
            self._write(docnum, raw)

    def _write(self, docnum: int, raw: bytes) -> None:
        self._fill(docnum)
        frame = self._cctx.compress(raw)
        self._dbfile.write(frame)
        self._size += len(frame)
        self._ends.append(self._size)

    def _fill(self, docnum: int) -> None:
        """Empty frames for documents before *docnum* that had no stored fields."""
        while len(self._ends) < docnum:
            self._ends.append(self._size)

    def finish(self, doccount: int) -> None:
        if self._cctx is None:  # the whole segment was held: its size is known
            self._begin(train([raw for _, raw in self._held], self._held_bytes))
        self._fill(doccount)
        self._dbfile.write(np.asarray(self._ends[:doccount], dtype="<u8").tobytes())
        self._dbfile.write(_TRAILER.pack(self._dictionary_len, doccount, MAGIC))


class _Reader(ColumnReader):
    def __init__(self, dbfile, basepos: int, length: int, doccount: int):
        self._dbfile = dbfile
        dict_len, count, magic = _TRAILER.unpack(
            dbfile.get(basepos + length - _TRAILER.size, _TRAILER.size))
        if magic != MAGIC or count != doccount:
            raise ValueError("not a stored-documents column")
        ends_at = basepos + length - _TRAILER.size - 8 * count
        self._ends = np.frombuffer(dbfile.get(ends_at, 8 * count), dtype="<u8")
        self._data = basepos + dict_len
        self._doccount = doccount
        dictionary = dbfile.get(basepos, dict_len) if dict_len else b""
        self._dctx = zstandard.ZstdDecompressor(
            dict_data=zstandard.ZstdCompressionDict(dictionary) if dictionary else None)
        # One file position and one decompression context, shared by a searcher's threads.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._doccount

    def __getitem__(self, docnum: int):
        start = int(self._ends[docnum - 1]) if docnum else 0
        end = int(self._ends[docnum])
        if end == start:
            return None
        with self._lock:
            raw = self._dctx.decompress(self._dbfile.get(self._data + start, end - start))
        return pickle.loads(raw)

    def __iter__(self):
        for docnum in range(self._doccount):
            yield self[docnum]


class DocumentsPerDocWriter(W3PerDocWriter):
    """Whoosh's per-document writer, its stored fields going to the documents column."""

    def __init__(self, codec, storage, segment):
        super().__init__(codec, storage, segment)
        # Whoosh opened its own stored-fields column; this writer never fills it.
        self._colwriters.pop("_stored")
        self._cols._streams.pop("_stored")
        self._create_column(NAME, DOCUMENTS_COLUMN)

    def finish_doc(self):
        sf = self._storedfields
        if sf:
            self.add_column_value(NAME, DOCUMENTS_COLUMN, sf)  # pickled at once
            sf.clear()
        self._indoc = False


class DocumentsPerDocReader(W3PerDocReader):
    """Whoosh's per-document reader, stored fields read from the documents column, or
    from Whoosh's own column in a segment written before it."""

    _documents = None

    def stored_fields(self, docnum):
        docs = self._documents
        if docs is None:
            docs = self._cached_reader(NAME, DOCUMENTS_COLUMN) or False
            self._documents = docs
        if docs is False:
            return super().stored_fields(docnum)
        return docs[docnum] or {}
