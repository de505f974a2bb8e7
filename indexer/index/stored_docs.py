"""Stored documents: each document's stored fields, pickled and compressed by zstd with a
dictionary trained on the segment's own first documents (format 3 of the index).

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
LEVEL = 3  # level 6 gains 0.03 of the text and compresses four times slower
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


def train(samples: list[bytes], whole: bool) -> bytes:
    """A dictionary for a segment's first documents *samples* (*whole*: they are all of
    it), or b"" when there are too few to train on."""
    if len(samples) < MIN_SAMPLE_DOCS:
        return b""
    size = DICT_BYTES
    if whole:
        size = min(DICT_BYTES, max(MIN_DICT_BYTES, sum(map(len, samples)) // 32))
    try:
        return zstandard.train_dictionary(size, samples, level=LEVEL).as_bytes()
    except zstandard.ZstdError:  # samples too small or too alike to make one
        return b""


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

    def add(self, docnum: int, value) -> None:
        raw = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        if self._cctx is None:
            self._held.append((docnum, raw))
            self._held_bytes += len(raw)
            n = len(self._held)
            if (self._held_bytes >= SAMPLE_BYTES and n >= MIN_SAMPLE_DOCS) or n >= SAMPLE_DOCS:
                self._start(whole=False)
            return
        self._write(docnum, raw)

    def _start(self, whole: bool) -> None:
        dictionary = train([raw for _, raw in self._held], whole)
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
        if self._cctx is None:
            self._start(whole=True)
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
