"""How much memory an indexing run may use, and what follows from it: how much text a
process collects before it writes a segment, and which segments may be merged.

An indexing process holds its share of the documents since the last commit as arrays and
sorts them when it writes its segment: it peaks at a multiple of the text it holds, so
the setting bounds the text, not the documents (a run of long reports commits after
fewer documents than a run of notices). A merge reads its segments a range of terms at a
time; it holds each segment's term tables, so the setting bounds how many bytes of
tables one merge may take.

The setting is per process (``gongkai index --memory MB``, ``$GONGKAI_INDEX_MEMORY``,
default `DEFAULT_MB`): a run with N worker processes uses about N times it. The price of
a smaller setting is more, smaller segments, and a query looks each of its terms up in
every segment (see the README's Performance section for the measured trade-off).
"""

from __future__ import annotations

import os
import re

ENV = "GONGKAI_INDEX_MEMORY"
DEFAULT_MB = 1500
# A worker before it holds any document: the interpreter, jieba's dictionary and the
# pages it shares with the process it was forked from (measured 150-160 MB).
BASE_MB = 200
# A worker's peak RSS per byte of text of its segment, while it sorts and writes it
# (measured 17-23 from 10,000 to 100,000 documents); with a margin.
PEAK_PER_TEXT_BYTE = 24
# A merge (`indexer.index.merge_stream`, a range of terms at a time) peaks at a fixed
# part (the interpreter, one range's arrays) plus a part per byte of the tables it merges
# (each segment's term tables and offsets, read whole, and the merged term list):
# measured 673 MB for 151 MB of tables, 767 MB for 295 MB, so 620 MB + 0.65 per byte.
MERGE_BASE_MB = 650
MERGE_PEAK_PER_TABLE_BYTE = 0.7
# Below this much text per commit, commits would cost more than they save.
MIN_TEXT_BYTES = 4 * 1024 * 1024
MIN_MB = BASE_MB + (MIN_TEXT_BYTES * PEAK_PER_TEXT_BYTE) // (1024 * 1024)

_SIZE = re.compile(r"(?i)\s*(\d+(?:\.\d+)?)\s*(m|mb|mib|g|gb|gib)?\s*")


def parse_memory(value: str | int | None) -> int:
    """Megabytes from "1500", "1500M", "1.5G" (None or "": the default). ValueError with
    a one-line message for anything else or for less than the minimum."""
    if value is None or value == "":
        return DEFAULT_MB
    if isinstance(value, int):
        mb = value
    else:
        m = _SIZE.fullmatch(value)
        if not m:
            raise ValueError(f"memory setting {value!r}: give megabytes, e.g. 1500 or 1.5G")
        number, unit = float(m.group(1)), (m.group(2) or "m").lower()
        mb = int(number * 1024) if unit.startswith("g") else int(number)
    if mb < MIN_MB:
        raise ValueError(f"memory setting {value!r}: at least {MIN_MB} MB per process")
    return mb


def memory_setting(value: str | int | None = None) -> int:
    """The setting in MB: *value* if given, else $GONGKAI_INDEX_MEMORY, else the default."""
    if value not in (None, ""):
        return parse_memory(value)
    try:
        return parse_memory(os.environ.get(ENV))
    except ValueError as exc:
        raise ValueError(f"${ENV}: {exc}") from None


def text_per_process(memory_mb: int) -> int:
    """Bytes of text one process may collect before it writes its segment."""
    usable = (memory_mb - BASE_MB) * 1024 * 1024
    return max(MIN_TEXT_BYTES, usable // PEAK_PER_TEXT_BYTE)


def merge_fits(table_bytes: int, memory_mb: int) -> bool:
    """Whether merging segments with this many bytes of postings tables stays within
    *memory_mb* (below MERGE_BASE_MB nothing is merged)."""
    return (MERGE_BASE_MB * 1024 * 1024 + table_bytes * MERGE_PEAK_PER_TABLE_BYTE
            <= memory_mb * 1024 * 1024)
