"""Shared helpers for the crash-safety, concurrency and bad-input tests: the ids a run
must leave, `gongkai index` as a real subprocess, the index lock, and a reader thread that
keeps opening the index while a writer runs."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from indexer.index import store
from indexer.index.schema import text_hash
from indexer.index.writer import IndexBusy, IndexLock
from indexer.ingest import iter_records
from indexer.record import Record, make_id

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "index_data" / "sample"
SAMPLE_RECORDS = SAMPLE / "records_govcn.jsonl"  # 150 real gov.cn policy records


def expected_ids(paths) -> set[str]:
    """The ids a complete run over *paths* must leave in a fresh index, by the writer's
    rules: first of each text wins, a second text under a taken id gets a derived id."""
    return set(expected_ids_in_order(paths))


def expected_ids_in_order(paths) -> list[str]:
    """`expected_ids`, in the order the writer files them (input order)."""
    written: dict[str, str] = {}
    by_text: dict[str, str] = {}
    for rec in iter_records(paths):
        if not isinstance(rec, Record):
            continue
        th = text_hash(rec)
        doc_id = rec.id
        if written.get(doc_id, th) != th:
            doc_id = make_id("", rec.url, th)
        if doc_id in written or by_text.get(th, doc_id) != doc_id:
            continue
        written[doc_id] = th
        by_text[th] = doc_id
    return list(written)


def index_cmd(index_dir: Path, paths, *extra: str) -> list[str]:
    return [sys.executable, "-m", "search_app", "index", *map(str, paths),
            "--index", str(index_dir), *extra]


def env_with(**values) -> dict:
    env = dict(os.environ)
    env.update({k: str(v) for k, v in values.items()})
    return env


def start_index(index_dir: Path, paths, *extra: str, commit_every: int | None = None,
                stdout=subprocess.DEVNULL) -> subprocess.Popen:
    env = env_with(GONGKAI_COMMIT_EVERY=commit_every) if commit_every else None
    return subprocess.Popen(index_cmd(index_dir, paths, *extra), env=env, cwd=REPO,
                            stdout=stdout, stderr=subprocess.PIPE, text=True)


def run_index(index_dir: Path, paths, *extra: str, timeout: float = 600,
              commit_every: int | None = None) -> subprocess.CompletedProcess:
    env = env_with(GONGKAI_COMMIT_EVERY=commit_every) if commit_every else None
    return subprocess.run(index_cmd(index_dir, paths, *extra), env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def read_ids(index_dir: Path) -> list[str]:
    """Every stored id in the index as one searcher sees it (duplicates kept).

    A searcher opened while a writer commits can find a segment file it listed already
    merged away by the next commit; like the backend, it then opens again (the next
    attempt sees a newer commit), a bounded number of times."""
    return store.retrying(lambda: _read_ids_once(index_dir))


def _read_ids_once(index_dir: Path) -> list[str]:
    ix = store.open_index(index_dir)
    try:
        with ix.searcher() as s:
            ids = []
            for r, _offset in s.reader().leaf_readers():
                col = r.column_reader("id")
                ids.extend(col[n] for n in r.all_doc_ids())
            assert len(ids) == s.doc_count()
            return ids
    finally:
        ix.close()


def lock_is_free(index_dir: Path, within: float = 60.0) -> bool:
    """True when this process can take the index lock within *within* seconds (a dead
    indexer's lock is free once the kernel has killed its workers: generous, so that a
    saturated machine is not taken for a held lock)."""
    deadline = time.monotonic() + within
    while True:
        try:
            with IndexLock(index_dir):
                return True
        except IndexBusy:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)


@dataclass
class Observation:
    started: float  # time.monotonic() before the index was opened
    ids: list[str]


@dataclass
class IndexPoller:
    """A reader thread that opens the index again and again while a writer runs, keeping
    what every searcher saw. Errors from opening or reading are kept, not raised."""

    index_dir: Path
    observations: list[Observation] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                ids = read_ids(self.index_dir)
            except Exception as exc:  # noqa: BLE001 - recorded and asserted on by the test
                self.errors.append(f"{type(exc).__name__}: {exc}")
            else:
                self.observations.append(Observation(started, ids))
            time.sleep(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=30)

    def last_before(self, moment: float) -> Observation | None:
        """The last state a reader opened before *moment*: committed before it."""
        seen = [o for o in self.observations if o.started < moment]
        return seen[-1] if seen else None
