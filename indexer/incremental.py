"""What an incremental run writes, whatever the index format: the decisions shared by
the embedded index's writer (`indexer.index.writer`) and the Typesense writer
(`indexer.typesense.writer`).

Incremental by id and content hash: an unchanged record is skipped, a changed one
replaced. The same text under two URLs is written once (the first in input order; the
others count as ``duplicate-content``); two different texts under one URL in one run
both stay, the later under an id derived from its URL and its text.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from indexer.index.schema import text_hash
from indexer.readers import Skipped
from indexer.record import Record, make_id


@dataclass
class Write:
    record: Record
    content_hash: str
    text_hash: str
    size: int  # bytes of title and body
    replaces: bool  # an older version of this id is in the index


def plan(items, summary, by_id: dict[str, str], by_text: dict[str, str]) -> Iterator[Write]:
    """The records of *items* to write, counting the rest in *summary* (skipped,
    failures, unchanged, duplicates) and *summary.input_bytes*. *by_id* (id → content
    hash) and *by_text* (text hash → id) describe the index before the run; *by_text*
    learns what the run writes."""
    written: dict[str, str] = {}  # id → text hash of what this run wrote under it
    for item in items:
        if isinstance(item, Skipped):
            summary.skipped[item.reason] += 1
            continue
        if not isinstance(item, Record):  # a reader failure
            summary.failures.append(f"{item.source}: {item.error}")
            continue
        size = len(item.body.encode("utf-8")) + len(item.title.encode())
        summary.input_bytes += size
        th = text_hash(item)
        if written.get(item.id, th) != th:
            item = dataclasses.replace(item, id=make_id("", item.url, th))
        if item.id in written:
            # The same id and text again in this run: the first one stands. (Whoosh's
            # update_document cannot replace a document added by the same writer.)
            summary.skipped["duplicate-content"] += 1
            continue
        old_hash = by_id.get(item.id)
        new_hash = item.content_hash
        if old_hash == new_hash:
            written[item.id] = th
            summary.unchanged += 1
            continue
        twin = by_text.get(th)
        if twin is not None and twin != item.id:
            summary.skipped["duplicate-content"] += 1
            continue
        # (No by_id entry for it: every id written in this run is in `written`, which
        # is looked at first; at a million documents the entry cost ~150 MB, which
        # every worker forked later counts in its RSS.)
        by_text[th] = item.id
        written[item.id] = th
        if old_hash is None:
            summary.added += 1
        else:
            summary.updated += 1
        yield Write(item, new_hash, th, size, old_hash is not None)


def pruned(by_source: dict[str, list[str]], roots: Iterable[str]) -> list[str]:
    """Ids whose source file lies under one of *roots* and no longer exists."""
    roots = [os.path.abspath(r) for r in roots]
    gone = []
    for source, ids in by_source.items():
        path = os.path.abspath(source)
        under = any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)
        if under and not os.path.exists(path):
            gone.extend(ids)
    return gone


def index_files(write, paths, *, field_map: dict | None = None, procs: int | None = None,
                prune: bool = False, **kwargs):
    """Every document under *paths*, parsed in *procs* workers, handed to *write*
    (``write(items, prune_roots=..., procs=..., **kwargs)``: an index format's writer);
    its summary with the input's size. FileNotFoundError (a missing path) and ValueError
    (a bad field map) are raised before *write* is called."""
    from indexer.index.pipeline import default_procs, parsed_items
    from indexer.ingest import iter_files
    from indexer.readers.structured import check_field_map

    paths = [str(p) for p in paths]
    check_field_map(field_map)
    input_bytes = sum(f.stat().st_size for f in iter_files(paths))
    procs = procs or default_procs()
    items = parsed_items(paths, field_map, procs=procs)
    summary = write(items, prune_roots=paths if prune else None, procs=procs, **kwargs)
    summary.input_bytes = input_bytes
    return summary
