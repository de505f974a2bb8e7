"""Which segments are merged, and when: a query looks each of its terms up once per
segment, so fewer segments answer faster; a merge rewrites what it merges, so merging
costs indexing time; and a merge must fit in the indexing memory setting
(`indexer.index.memory`). The writer asks at every commit of an incremental run and once
after a run (`compact`); a rebuild merges nothing until all its segments are written.

Segments after a run: at 1,000,000 documents, 12 segments answered a results page in
319 ms p50 (load average 0.3-1.0) where 129 took 774 ms (load 2-3): a query reads each of its terms (some 90 for the
bench's plain queries, with their title, body and character-pair alternatives) in every
segment.
"""

from __future__ import annotations

from indexer.index import memory

# Segments left after a run (see compact), as far as the memory allows merging them.
MAX_SEGMENTS = 4


def _table_bytes(storage, segment) -> int:
    """Bytes of a segment's postings tables: what a merge reads."""
    from indexer.index.postings_tables import EXT

    name = segment.make_filename(EXT)
    return storage.file_length(name) if storage.file_exists(name) else 0


def merge_group(sizes: list[int], max_segments: int, memory_mb: int) -> list[int]:
    """Which segments (indexes into *sizes*, their tables' bytes) to merge into one: the
    smallest, as many as bring the count down to *max_segments*, as long as the merge
    keeps within *memory_mb*. Fewer than two: no merge. Segments that fill the memory
    setting on their own (a large run's) are never merged: more segments, not more
    memory."""
    if len(sizes) <= max_segments:
        return []
    want = len(sizes) - max_segments + 1
    group: list[int] = []
    total = 0
    for i in sorted(range(len(sizes)), key=lambda i: sizes[i]):
        if len(group) >= want or not memory.merge_fits(total + sizes[i], memory_mb):
            break
        group.append(i)
        total += sizes[i]
    return group if len(group) >= 2 else []


def no_merge(writer, segments):
    return list(segments)


def bounded_merge(memory_mb: int):
    """A Whoosh merge policy: `merge_group`'s segments merged into the new segment."""
    from whoosh.reading import SegmentReader

    def policy(writer, segments):
        segments = list(segments)
        sizes = [_table_bytes(writer.storage, seg) for seg in segments]
        group = set(merge_group(sizes, MAX_SEGMENTS, memory_mb))
        for i in sorted(group):
            reader = SegmentReader(writer.storage, writer.schema, segments[i])
            writer.add_reader(reader)
            reader.close()
        return [seg for i, seg in enumerate(segments) if i not in group]
    return policy


def compact(ix, memory_mb: int) -> None:
    """After a run, at most MAX_SEGMENTS segments where *memory_mb* allows: a query
    looks each term up once per segment, and Whoosh's own policy leaves about twenty at
    100,000 documents. The writer gives the whole run's memory (the setting times its
    processes): the compaction runs alone, after the workers have ended."""
    from indexer.index.segment_writer import TablesWriter

    while len(ix._segments()) > MAX_SEGMENTS:
        storage = ix.storage
        sizes = [_table_bytes(storage, seg) for seg in ix._segments()]
        if not merge_group(sizes, MAX_SEGMENTS, memory_mb):
            return
        TablesWriter(ix).commit(mergetype=bounded_merge(memory_mb))
