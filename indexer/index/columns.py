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
from whoosh.util.numeric import byte_to_length

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
