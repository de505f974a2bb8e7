"""Compact posting formats for the text fields.

Whoosh's own Positions and Characters formats pickle a list of deltas for every term of
every document; on Chinese text, where a page has thousands of distinct bigrams, that
pickling was the largest single cost of indexing. These formats store the same
information as a flat array of unsigned 32-bit integers (``array.tobytes``), which is
encoded and decoded in C. Whoosh pickles these classes into the index by import path:
keep the module and class names.
"""

from __future__ import annotations

from array import array

from whoosh import formats
from whoosh.system import _INT_SIZE, pack_uint, unpack_uint


class CompactPositions(formats.Positions):
    """Positions as ``count`` + uint32 array of absolute positions."""

    def encode(self, poslist):
        return pack_uint(len(poslist)) + array("I", poslist).tobytes()

    def decode_positions(self, valuestring):
        a = array("I")
        a.frombytes(valuestring[_INT_SIZE:])
        return a.tolist()

    def decode_frequency(self, valuestring):
        return unpack_uint(valuestring[:_INT_SIZE])[0]


class CompactCharacters(formats.Characters):
    """(position, startchar, endchar) triples as ``count`` + a flat uint32 array."""

    def encode(self, poslist):
        flat = array("I")
        for triple in poslist:
            flat.extend(triple)
        return pack_uint(len(poslist)) + flat.tobytes()

    def _flat(self, valuestring) -> list[int]:
        a = array("I")
        a.frombytes(valuestring[_INT_SIZE:])
        return a.tolist()

    def decode_characters(self, valuestring):
        flat = self._flat(valuestring)
        return list(zip(flat[0::3], flat[1::3], flat[2::3], strict=True))

    def decode_positions(self, valuestring):
        return self._flat(valuestring)[0::3]

    def decode_frequency(self, valuestring):
        return unpack_uint(valuestring[:_INT_SIZE])[0]


def compact(fmt):
    """The compact equivalent of a Whoosh format (the format itself when there is none)."""
    if type(fmt) is formats.Characters:
        return CompactCharacters(field_boost=fmt.field_boost)
    if type(fmt) is formats.Positions:
        return CompactPositions(field_boost=fmt.field_boost)
    return fmt
