"""Whole Whoosh columns read in one piece.

Whoosh reads a column value by value (a seek and a read each, through the compound
segment file); the search backend's facet arrays and field lengths, and the index
writer's id/hash tables, need every value of a column at once: at 100,000 documents
that was 7 seconds of a cold start. Here the column's bytes are read with one call and
cut up in Python. Only the two column kinds our schema uses are read this way (variable
bytes, fixed-width numbers); any other falls back to Whoosh's own iteration.
"""

from __future__ import annotations

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3PerDocReader, _lenfield
from whoosh.columns import (
    EmptyColumnReader,
    NumericColumn,
    TranslatingColumnReader,
    VarBytesColumn,
)
from whoosh.filedb.structfile import _SIZEMAP
from whoosh.util.numeric import byte_to_length

from indexer.index.distinct import distinct_inverse

# struct type codes (standard sizes, as Whoosh's "!" formats use) → numpy types.
_NUMPY = {"b": ">i1", "B": ">u1", "h": ">i2", "H": ">u2", "i": ">i4", "I": ">u4",
          "l": ">i4", "L": ">u4", "q": ">i8", "Q": ">u8", "f": ">f4", "d": ">f8"}


def raw_values(col, n: int) -> list | None:
    """The untranslated values of a column reader for *n* documents (None: a kind of
    column not handled here)."""
    kind = type(col)
    if kind is NumericColumn.Reader and col._typecode in _NUMPY:
        count = min(col._count, n)
        raw = col._dbfile.get(col._basepos, count * col._fixedlen) if count else b""
        values = np.frombuffer(raw, dtype=_NUMPY[col._typecode]).tolist()
        return values + [col._default] * (n - count)
    if kind is VarBytesColumn.Reader:
        count = min(len(col._offsets), n)
        data = col._dbfile.get(col._basepos, col._length) if count else b""
        values = [data[o:o + ln] if ln else b""
                  for o, ln in zip(col._offsets[:count], col._lengths[:count], strict=True)]
        return values + [b""] * (n - count)
    if isinstance(col, EmptyColumnReader):
        return [col._default] * n
    return None


# Whoosh stores a field length as one byte (``length_to_byte``); 0 means none.
LENGTH_OF_BYTE = np.array([0] + [byte_to_length(b) for b in range(1, 256)], dtype=np.int64)


def length_codes(leaf, field: str) -> np.ndarray | None:
    """The one-byte length code of *field* for every document of one segment reader
    (zeros for a field without lengths), or None for a reader that is not Whoosh's W3
    segment reader. Whoosh's own ``doc_field_length`` asks the file system whether the
    column exists on every call."""
    perdoc = getattr(leaf, "_perdoc", None)
    if not isinstance(perdoc, W3PerDocReader):
        return None
    n = leaf.doc_count_all()
    col = perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
    codes = raw_values(col, n) if col is not None else None
    if codes is None:
        return np.zeros(n, dtype=np.uint8)
    return np.array(codes, dtype=np.uint8)


def column_values(leaf, name: str, default) -> list:
    """Every document's value of column *name* in one segment reader (*default* for a
    segment without the column), as Whoosh's column reader would give them."""
    n = leaf.doc_count_all()
    if not leaf.has_column(name):
        return [default] * n
    col = leaf.column_reader(name)
    translate = None
    if isinstance(col, TranslatingColumnReader):
        translate, inner = col._translate, col._reader
    else:
        inner = col
    values = raw_values(inner, n)
    if values is None:  # another kind of column: Whoosh's way
        values = list(col)
        return values[:n] + [default] * (n - len(values))
    return list(map(translate, values)) if translate is not None else values


def _distinct_rows(data: bytes, offsets: np.ndarray, lengths: np.ndarray
                   ) -> tuple[np.ndarray, list[bytes]]:
    """(code of each value, the distinct values) for values ``data[o:o+len]``, code -1
    for an empty one; without a Python step per value. Each value is laid out in a
    fixed-width row, the rows are hashed to 64 bits and grouped by hash, and every row
    is compared with its group's first: the codes are exact, not trusted to the hash."""
    n = len(lengths)
    codes = np.full(n, -1, dtype=np.int32)
    filled = np.flatnonzero(lengths > 0)
    if not len(filled):
        return codes, []
    buf = np.frombuffer(data, dtype=np.uint8)
    # Longest first: the values that have a k-th byte are then the first rows, and each
    # column of bytes is a slice, not a mask over every row.
    by_len = np.argsort(-lengths[filled], kind="stable")
    filled = filled[by_len]
    lens, offs = lengths[filled], offsets[filled]
    width = int(lens[0])
    have = np.searchsorted(-lens, -np.arange(width), "left")  # rows longer than k
    rows = np.zeros((len(filled), width), dtype=np.uint8)
    # A polynomial hash over each value's bytes after its length, wrapping at 64 bits.
    h = lens.astype(np.uint64)
    mult = np.uint64(0x100000001B3)
    for k in range(width):  # a column of bytes at a time: the widest value's length
        m = int(have[k])
        col = buf[offs[:m] + k]
        rows[:m, k] = col
        h[:m] = h[:m] * mult + col
    _, first, inverse = distinct_inverse(h, first=True)
    if not np.array_equal(rows, rows[first][inverse]):
        # Two values with one hash (never seen): sorting the rows themselves instead.
        keyed = np.ascontiguousarray(rows).view(f"S{width}").ravel()
        _, first, inverse = np.unique(keyed, return_index=True, return_inverse=True)
    codes[filled] = inverse.astype(np.int32)
    values = [bytes(rows[i, :lens[i]]) for i in first.tolist()]
    return codes, values


def _big_endian(typecode: str) -> np.dtype:
    size = _SIZEMAP[typecode]
    return np.dtype(f">{'i' if typecode.islower() else 'u'}{size}")


def _varbytes_arrays(leaf, name: str):
    """(data, offsets, lengths) of one segment's variable-bytes column, read as Whoosh
    wrote it (values, then a big-endian lengths array, optionally offsets, then their
    type codes), or None for another kind of segment or column. Whoosh's own reader
    builds its offsets with a Python step per document (3 s at 600,000 documents)."""
    perdoc = getattr(leaf, "_perdoc", None)
    if not isinstance(perdoc, W3PerDocReader) or not perdoc.has_column(name):
        return None
    if type(leaf.schema[name].column_type) is not VarBytesColumn:
        return None
    if name not in perdoc._colfiles:
        perdoc._colfiles[name] = perdoc._get_column_file(name)
    f, base, length = perdoc._colfiles[name]
    n = perdoc._doccount
    last = base + length - 1
    code = chr(f.get_byte(last))
    offsets = None
    if code == "X":  # offsets stored too
        code, ocode = chr(f.get_byte(last - 2)), chr(f.get_byte(last - 1))
        start = last - 2 - n * _SIZEMAP[ocode]
        offsets = np.frombuffer(f.get(start, n * _SIZEMAP[ocode]),
                                dtype=_big_endian(ocode)).astype(np.int64)
        last = start
    start = last - n * _SIZEMAP[code]
    lengths = np.frombuffer(f.get(start, n * _SIZEMAP[code]),
                            dtype=_big_endian(code)).astype(np.int64)
    if offsets is None:
        offsets = np.zeros(n, dtype=np.int64)
        np.cumsum(lengths[:-1], out=offsets[1:])
    return f.get(base, length), offsets, lengths


def coded_column(leaf, name: str) -> tuple[np.ndarray, list] | None:
    """One segment's column *name* as (a code per document, -1 for no value; the value
    of each code, as Whoosh's column reader gives it), for a variable-bytes column;
    None for a column of another kind (then `column_values`)."""
    n = leaf.doc_count_all()
    if not leaf.has_column(name):
        return np.full(n, -1, dtype=np.int32), []
    arrays = _varbytes_arrays(leaf, name)
    if arrays is None:
        return None
    data, offsets, lengths = arrays
    if len(lengths) != n:
        return None
    codes, values = _distinct_rows(data, offsets, lengths)
    translate = leaf.schema[name].from_column_value  # what Whoosh's reader gives
    return codes, [translate(v) for v in values]


def numeric_column(leaf, name: str, default) -> np.ndarray:
    """One segment's numeric column *name* as an int64 array (*default* where the
    segment has no such column or value)."""
    n = leaf.doc_count_all()
    if not leaf.has_column(name):
        return np.full(n, default, dtype=np.int64)
    col = leaf.column_reader(name)
    translate, inner = (col._translate, col._reader) if isinstance(
        col, TranslatingColumnReader) else (None, col)
    if type(inner) is not NumericColumn.Reader or inner._typecode not in _NUMPY:
        return np.array(column_values(leaf, name, default), dtype=np.int64)
    count = min(inner._count, n)
    raw = inner._dbfile.get(inner._basepos, count * inner._fixedlen) if count else b""
    out = np.full(n, inner._default, dtype=np.int64)
    out[:count] = np.frombuffer(raw, dtype=_NUMPY[inner._typecode])
    if translate is None:
        return out
    # Translated once per distinct value (a column of years has a few dozen).
    values, inverse = distinct_inverse(out)
    return np.array([translate(int(v)) for v in values], dtype=np.int64)[inverse]
