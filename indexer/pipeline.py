"""Parse and analyse files in worker processes, in input order.

Each worker takes one file, reads its records and analyses every record whose content
changed (`prepare_document`); the single index writer then only files postings away.
Known content hashes are handed to the workers once, so that an incremental run does
not re-analyse unchanged documents.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from indexer.ingest import ParseFailure, iter_files, records_from_file
from indexer.record import Record
from indexer.schema import prepare_document


@dataclass
class Prepared:
    """A record with its analysed index document (None when it is unchanged)."""

    record: Record
    document: dict | None


_known: dict[str, str] = {}


def _init_worker(known: dict[str, str]) -> None:
    global _known
    _known = known


def _work(job: tuple[str, dict | None]) -> list:
    path, field_map = job
    out = []
    for item in records_from_file(path, field_map):
        if isinstance(item, Record):
            try:
                doc = None if _known.get(item.id) == item.content_hash else prepare_document(item)
            except Exception as exc:  # noqa: BLE001 - one bad record must not end the run
                out.append(ParseFailure(item.source, f"analysis: {type(exc).__name__}: {exc}"))
                continue
            out.append(Prepared(item, doc))
        else:
            out.append(item)
    return out


def default_procs() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def prepared_items(paths: Iterable[str | os.PathLike], field_map: dict | None = None,
                   known: dict[str, str] | None = None, procs: int | None = None
                   ) -> Iterator:
    """`Prepared`, `Skipped` and `ParseFailure` items for every document under *paths*.

    Missing paths raise FileNotFoundError before any work starts."""
    files = [str(p) for p in iter_files(Path(p) for p in paths)]
    procs = procs or default_procs()
    jobs = [(f, field_map) for f in files]
    if procs <= 1 or len(files) <= 1:
        _init_worker(known or {})
        for job in jobs:
            yield from _work(job)
        return
    # fork keeps start-up cheap (no re-import, the segmenter already loaded in the parent
    # is shared copy-on-write); imap keeps input order, which duplicate handling relies on.
    ctx = mp.get_context("fork")
    with ctx.Pool(procs, initializer=_init_worker, initargs=(known or {},)) as pool:
        for results in pool.imap(_work, jobs, chunksize=1):
            yield from results
