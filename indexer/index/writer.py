"""Building and updating the index from records.

Incremental by id and content hash: an unchanged record is skipped, a changed one
replaced. The same text under two URLs (identical normalised title and body, a report
re-posted by a second portal, or an HTTP and an HTTPS crawl) is indexed once: the first
record in input order is kept and the others are counted as ``duplicate-content``, so a
search never shows the same document twice. The converse, two different texts under one
URL in the same run (a records file listing several documents under one landing page),
keeps both: the later one gets an id derived from its URL and its text, so it is stable
across runs too.

One writer at a time: a run holds ``<index>.lock`` (``flock``) from start to end, and a
second run gets `IndexBusy` at once (or waits, with ``wait=True``).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from indexer.incremental import index_files, plan, pruned
from indexer.index import faults, memory, store
from indexer.index.columns import column_values
from indexer.index.merge_policy import bounded_merge, compact, no_merge
from indexer.index.schema import build_schema, record_to_document
from indexer.record import Record

# Documents per commit: a crash loses at most this many. $GONGKAI_COMMIT_EVERY overrides
# it (the crash-safety tests commit every few documents to kill between commits).
_COMMIT_ENV = int(os.environ.get("GONGKAI_COMMIT_EVERY") or 0)
COMMIT_EVERY = max(1, _COMMIT_ENV or 5000)
# A rebuild (or a first build) is published only when complete, so its commits protect
# nothing: it commits only to bound the workers' memory, when each worker holds the text
# that the memory setting allows (`indexer.index.memory`). Large segments mean no merges
# during the run (at 100,000 documents merges took over a third of the time).


class IndexBusy(RuntimeError):
    pass


@dataclass
class IndexSummary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> count
    failures: list[str] = field(default_factory=list)
    input_bytes: int = 0
    seconds: float = 0.0
    documents: int = 0  # in the index at the end
    retries: int = 0  # writes repeated through a cluster's election (Typesense backend)

    @property
    def mb_per_s(self) -> float:
        return self.input_bytes / 1e6 / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict:
        return {
            "added": self.added, "updated": self.updated, "unchanged": self.unchanged,
            "removed": self.removed, "skipped": dict(self.skipped),
            "failures": len(self.failures), "documents": self.documents,
            "seconds": round(self.seconds, 2), "input_mb": round(self.input_bytes / 1e6, 2),
            "mb_per_s": round(self.mb_per_s, 2), "retries": self.retries,
        }


# The pid of this process while it holds an IndexLock (0 otherwise); see _tie_to_indexer.
_lock_holder = 0


def _tie_to_indexer() -> None:
    """Run in every child forked while an indexer holds its lock (the parse pool, Whoosh's
    MpWriter workers). A forked child shares the lock's open file (and Whoosh's write
    lock), so a worker outliving a killed indexer kept the index locked for ever: every
    later run failed with IndexBusy. Ask the kernel to kill the child with its parent."""
    global _lock_holder
    parent, _lock_holder = _lock_holder, 0
    if not parent:
        return
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the indexer died before prctl took effect
        os._exit(1)


os.register_at_fork(after_in_child=_tie_to_indexer)


class IndexLock:
    """An exclusive, process-wide lock beside the index path."""

    def __init__(self, index_dir: Path, wait: bool = False):
        self.path = index_dir.with_name(index_dir.name + ".lock")
        self.wait = wait
        self.fd: int | None = None

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        flags = fcntl.LOCK_EX | (0 if self.wait else fcntl.LOCK_NB)
        try:
            fcntl.flock(self.fd, flags)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            holder = os.pread(self.fd, 32, 0).decode("ascii", "replace").strip()
            os.close(self.fd)
            self.fd = None
            raise IndexBusy(
                f"another indexer is writing {self.path.with_suffix('')}"
                + (f" (pid {holder})" if holder else "")
                + "; wait for it to finish or use --wait") from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, str(os.getpid()).encode(), 0)
        global _lock_holder
        _lock_holder = os.getpid()
        return self

    def __exit__(self, *exc):
        global _lock_holder
        _lock_holder = 0
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            os.close(self.fd)  # closing releases the flock
            self.fd = None


def _existing(ix) -> tuple[dict[str, str], dict[str, str], dict[str, list[str]]]:
    """id → content hash, text hash → id, source file → ids, read from columns."""
    by_id: dict[str, str] = {}
    by_text: dict[str, str] = {}
    by_source: dict[str, list[str]] = {}
    with ix.searcher() as s:
        if s.doc_count_all() == 0:  # an empty index has no columns to read
            return by_id, by_text, by_source
        for r, _offset in s.reader().leaf_readers():
            # Whole columns at once: Whoosh's reader seeks and reads value by value.
            ids = column_values(r, "id", "")
            hashes = column_values(r, "content_hash", "")
            texts = column_values(r, "text_hash", "")
            sources = column_values(r, "source", "")
            for docnum in r.all_doc_ids():
                doc_id = ids[docnum]
                by_id[doc_id] = hashes[docnum]
                by_text[texts[docnum]] = doc_id
                by_source.setdefault(sources[docnum].split("#", 1)[0], []).append(doc_id)
    return by_id, by_text, by_source


def index_paths(index_dir: str | os.PathLike, paths: Iterable[str | os.PathLike], *,
                field_map: dict | None = None, procs: int | None = None,
                prune: bool = False, **kwargs) -> IndexSummary:
    """Index every document under *paths*, parsing and analysing in *procs* workers.

    FileNotFoundError (a missing path) and ValueError (a bad field map or memory
    setting) are raised before the index is touched."""
    memory.memory_setting(kwargs.get("memory_mb"))  # a bad setting fails before any work
    return index_files(lambda items, **kw: index_items(index_dir, items, **kw), paths,
                       field_map=field_map, procs=procs, prune=prune, **kwargs)


def index_items(index_dir: str | os.PathLike, items, *, rebuild: bool = False,
                procs: int = 1,
                prune_roots: Iterable[str] | None = None, wait: bool = False,
                progress: Callable[[IndexSummary], None] | None = None,
                commit_every: int | None = None,
                memory_mb: int | str | None = None) -> IndexSummary:
    """Index what a reader pipeline yields: `Record`, `Skipped`, or any object with
    ``source`` and ``error`` attributes for a file that broke its reader.

    Every writer is a `TablesWriter` (title and body postings as numpy tables). With
    *procs* > 1, analysis and segment writing run in that many worker processes
    (`TablesMpWriter`, Whoosh's MpWriter: one new segment per worker and commit); this
    process then only reads records and hands documents on.

    With *rebuild*, everything goes into a new generation that replaces the current one
    only when complete. With *prune_roots*, documents whose source file lies under one of
    those paths but no longer exists are removed.

    Commits: every *commit_every* documents (default COMMIT_EVERY), and whenever the
    workers hold as much text as *memory_mb* per process allows (`indexer.index.memory`;
    default $GONGKAI_INDEX_MEMORY or 1500); a new generation without *commit_every*
    commits by text only. Merges keep within *memory_mb* too. A bad *memory_mb* raises
    ValueError before the index is touched."""
    mem = memory.memory_setting(memory_mb)
    text_bytes = max(1, procs) * memory.text_per_process(mem)
    index_dir = Path(index_dir)
    summary = IndexSummary()
    start = time.perf_counter()
    faults.crash_point("start:before-lock")
    with IndexLock(index_dir, wait=wait):
        faults.crash_point("start:after-lock")
        gen = None
        if rebuild or not store.exists(index_dir):
            gen = store.new_generation(index_dir)
            from whoosh import index as whoosh_index

            ix = whoosh_index.open_dir(str(gen), indexname=store.INDEX_NAME)
        else:
            ix = store.open_index(index_dir)
            store.mark_current_format(store.resolve(index_dir))
        if commit_every is not None or _COMMIT_ENV:
            every = _Every(commit_every or COMMIT_EVERY, text_bytes)
        elif gen is not None:
            every = _Every(None, text_bytes)
        else:
            every = _Every(COMMIT_EVERY, text_bytes)
        try:
            by_id, by_text, by_source = _existing(ix)
            _write(ix, items, summary, by_id, by_text, progress, every, procs, mem,
                   merging=gen is None)
            compact(ix, mem * max(1, procs), procs)  # alone now: the workers' memory is free
            if prune_roots is not None:
                summary.removed = _prune(ix, by_source, prune_roots, mem)
            with ix.searcher() as s:
                summary.documents = s.doc_count()
        except BaseException:
            ix.close()
            if gen is not None:
                store.discard(gen)
            raise
        ix.close()
        if gen is not None:
            store.publish(index_dir, gen)
    summary.seconds = time.perf_counter() - start
    return summary


def _new_writer(ix, procs: int):
    from indexer.index.segment_writer import TablesMpWriter, TablesWriter

    if procs > 1:
        # multisegment: the workers' segments join the index as they are, instead of
        # being merged again by this process.
        return TablesMpWriter(ix, procs=procs, multisegment=True, batchsize=64)
    return TablesWriter(ix)


@dataclass
class _Every:
    """When to commit: after this many documents, or this many bytes of text."""
    docs: int | None
    text_bytes: int | None

    def due(self, docs: int, text_bytes: int) -> bool:
        return ((self.docs is not None and docs >= self.docs)
                or (self.text_bytes is not None and text_bytes >= self.text_bytes))


def _write(ix, items, summary, by_id, by_text, progress, every: _Every, procs,
           memory_mb: int, merging: bool = True) -> None:
    # A new generation merges nothing until it is complete (`merge_policy.compact`): its segments
    # would be merged again and again as the run goes on.
    merge = bounded_merge(memory_mb) if merging else no_merge
    writer = _new_writer(ix, procs)
    names = set(ix.schema.names())
    known = None if set(build_schema().names()) <= names else names
    pending = pending_bytes = 0
    last_report = 0.0
    try:
        for job in plan(items, summary, by_id, by_text):
            doc = record_to_document(job.record, job.content_hash, job.text_hash)
            if known is not None:
                # An index written before a field existed keeps its schema: the field
                # waits for a rebuild instead of failing the update.
                doc = {k: v for k, v in doc.items() if k in known}
            if job.replaces:
                writer.update_document(**doc)
            else:
                writer.add_document(**doc)
            pending += 1
            pending_bytes += job.size
            if every.due(pending, pending_bytes):
                writer.commit(mergetype=merge)
                writer = _new_writer(ix, procs)
                pending = pending_bytes = 0
            faults.crash_point("filing:document")
            now = time.perf_counter()
            if progress and now - last_report > 0.5:
                last_report = now
                progress(summary)
        writer.commit(mergetype=merge)
    except BaseException:
        writer.cancel()
        raise


def _prune(ix, by_source: dict[str, list[str]], roots: Iterable[str], memory_mb: int) -> int:
    gone = pruned(by_source, roots)
    if gone:
        from indexer.index.segment_writer import TablesWriter

        writer = TablesWriter(ix)
        for doc_id in gone:
            writer.delete_by_term("id", doc_id)
        writer.commit(mergetype=bounded_merge(memory_mb))
    return len(gone)


def build_index(index_dir: str | os.PathLike, records: Iterable[Record]) -> IndexSummary:
    """A fresh index from *records*, published atomically (tests and the demo use it)."""
    return index_items(index_dir, records, rebuild=True)
