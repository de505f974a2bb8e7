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


def _add_segments(writer, segments, crash_point: str | None = None) -> None:
    """*segments* merged into *writer*'s new segment, one reader at a time."""
    from whoosh.reading import SegmentReader

    from indexer.index import faults

    for seg in segments:
        reader = SegmentReader(writer.storage, writer.schema, seg)
        writer.add_reader(reader)
        reader.close()
        if crash_point:
            faults.crash_point(crash_point)


def bounded_merge(memory_mb: int):
    """A Whoosh merge policy: `merge_group`'s segments merged into the new segment."""

    def policy(writer, segments):
        segments = list(segments)
        sizes = [_table_bytes(writer.storage, seg) for seg in segments]
        group = set(merge_group(sizes, MAX_SEGMENTS, memory_mb))
        _add_segments(writer, [segments[i] for i in sorted(group)])
        return [seg for i, seg in enumerate(segments) if i not in group]
    return policy


def merge_groups(sizes: list[int], max_segments: int, memory_mb: int,
                 ways: int = 1) -> list[list[int]]:
    """`merge_group`'s choice split into *ways* merges run at once, each within
    memory_mb / ways, one more segment taken for each extra merge so that the count
    still comes down to *max_segments*. The segments go largest first to the lighter
    merge. A single merge where a split would leave a merge of one segment or one that
    does not fit its share of the memory; no merge, [], where `merge_group` finds none."""
    if ways > 1:
        group = merge_group(sizes, max_segments - ways + 1, memory_mb)
        parts: list[list[int]] = [[] for _ in range(ways)]
        load = [0] * ways
        for i in sorted(group, key=lambda i: -sizes[i]):
            k = load.index(min(load))
            parts[k].append(i)
            load[k] += sizes[i]
        if all(len(p) >= 2 and memory.merge_fits(b, memory_mb // ways)
               for p, b in zip(parts, load, strict=True)):
            return [sorted(p) for p in parts]
    group = merge_group(sizes, max_segments, memory_mb)
    return [group] if group else []


def _merge_apart(storage, indexname, segments, send) -> None:
    """In a forked process: *segments* merged into a new segment, which is sent back
    to the committing writer (Whoosh's multi-process writer hands its workers' segments
    over the same way). Nothing is committed here."""
    from indexer.index.segment_writer import TablesWriter

    try:
        w = TablesWriter(storage.open_index(indexname), _lk=False)
        _add_segments(w, segments, crash_point="worker:merge")
        send.send(("merged", w._finalize_segment()))
    except Exception as exc:  # a full disk, say: one line for the writer, no traceback
        send.send(("failed", f"{type(exc).__name__}: {exc}"))
    send.close()


def parallel_merge(memory_mb: int, ways: int):
    """A Whoosh merge policy: `merge_groups`' merges. One merge goes into the committing
    writer's new segment; several run at once, each in a forked process of its own (a
    compaction runs alone: the other cores are idle), and the writer commits their
    segments. (Merging one of them in the writer itself would not overlap: Whoosh
    writes the writer's segment only after the policy has returned.)"""
    import multiprocessing

    from indexer.index.workers import WorkerDied, worker_died

    def policy(writer, segments):
        segments = list(segments)
        sizes = [_table_bytes(writer.storage, seg) for seg in segments]
        groups = merge_groups(sizes, MAX_SEGMENTS, memory_mb, ways)
        taken = {i for group in groups for i in group}
        kept = [seg for i, seg in enumerate(segments) if i not in taken]
        if len(groups) == 1:
            _add_segments(writer, [segments[i] for i in groups[0]])
            return kept
        ctx = multiprocessing.get_context("fork")
        apart = []
        try:
            for group in groups:
                receive, send = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_merge_apart, name="gongkai-merge", args=(
                    writer.storage, writer.indexname, [segments[i] for i in group], send))
                proc.start()
                send.close()
                apart.append((proc, receive))
            merged = []
            for proc, receive in apart:
                try:
                    outcome, value = receive.recv()
                except EOFError:
                    proc.join()
                    raise worker_died(f"a merging worker process (pid {proc.pid})",
                                      proc.exitcode) from None
                proc.join()
                if outcome == "failed":
                    raise WorkerDied(f"a merging worker process failed ({value}); the "
                                     f"index keeps its last commit: run the same command "
                                     f"again to finish")
                merged.append(value)
        finally:
            for proc, _ in apart:
                if proc.is_alive():
                    proc.kill()
                    proc.join()
        return kept + merged
    return policy


def compact(ix, memory_mb: int, procs: int = 1) -> None:
    """After a run, at most MAX_SEGMENTS segments where *memory_mb* allows: a query
    looks each term up once per segment, and Whoosh's own policy leaves about twenty at
    100,000 documents. The writer gives the whole run's memory (the setting times its
    processes): the compaction runs alone, after the workers have ended, in *procs*
    merges at once (the same 14 segments of 100,000 documents compacted to 4: 48.8 s in
    one process, 31.9 s in two, where indexing them had taken about 200 s)."""
    from indexer.index.segment_writer import TablesWriter

    ways = max(1, procs)  # each merge at the setting's share, as each worker was
    while len(ix._segments()) > MAX_SEGMENTS:
        storage = ix.storage
        sizes = [_table_bytes(storage, seg) for seg in ix._segments()]
        if not merge_groups(sizes, MAX_SEGMENTS, memory_mb, ways):
            return
        writer = TablesWriter(ix)
        try:
            writer.commit(mergetype=parallel_merge(memory_mb, ways))
        except BaseException:
            if not writer.is_closed:  # the index keeps its last commit
                writer.cancel()
            raise
