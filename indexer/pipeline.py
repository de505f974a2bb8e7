"""Parse files in worker processes, in input order.

HTML pages cost tens of milliseconds each to clean; spreading files over processes keeps
the index writer (which analyses in its own worker processes, see `indexer.writer`) fed.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from indexer.ingest import iter_files, records_from_file


def _work(job: tuple[str, dict | None]) -> list:
    path, field_map = job
    return records_from_file(path, field_map)


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
    # fork keeps start-up cheap: no re-import in the workers.
    ctx = mp.get_context("fork")
    with ctx.Pool(procs) as pool:
        for results in pool.imap(_work, jobs, chunksize=1):
            yield from results
