"""Parse files in worker processes, in input order.

HTML pages cost tens of milliseconds each to clean; spreading files over processes keeps
the index writer (which analyses in its own worker processes, see `indexer.index.writer`) fed.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from indexer.index import faults
from indexer.index.workers import worker_died
from indexer.ingest import iter_files, records_from_file


def _work(job: tuple[str, dict | None]) -> list:
    path, field_map = job
    records = records_from_file(path, field_map)
    faults.crash_point("parse:file")
    return records


def default_procs() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def parsed_items(paths: Iterable[str | os.PathLike], field_map: dict | None = None,
                 procs: int | None = None) -> Iterator:
    """`Record`, `Skipped` and `ParseFailure` items for every document under *paths*,
    in input order (duplicate handling relies on it).

    Missing paths raise FileNotFoundError before any work starts."""
    files = [str(p) for p in iter_files(Path(p) for p in paths)]
    procs = procs or default_procs()
    jobs = [(f, field_map) for f in files]
    if procs <= 1 or len(files) <= 1:
        for job in jobs:
            yield from _work(job)
        return
    # fork keeps start-up cheap: no re-import in the workers. An executor rather than a
    # multiprocessing.Pool: when a worker dies, a Pool waits for ever on its lost task,
    # an executor says so (BrokenProcessPool). At most `ahead` files are parsed ahead of
    # the writer, so memory does not grow with the corpus when the writer is the slower.
    ahead = procs * 4
    pool = ProcessPoolExecutor(max_workers=procs, mp_context=mp.get_context("fork"))
    queued: deque = deque()
    waiting = iter(jobs)
    try:
        for job in waiting:
            queued.append(pool.submit(_work, job))
            if len(queued) >= ahead:
                break
        while queued:
            try:
                results = queued.popleft().result()
            except BrokenProcessPool:
                raise worker_died("a page-parsing worker process", None) from None
            job = next(waiting, None)
            if job is not None:
                queued.append(pool.submit(_work, job))
            yield from results
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
