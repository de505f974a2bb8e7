"""A `gongkai index` killed with SIGKILL at any moment loses nothing it committed, never
leaves a duplicate, never leaves the index locked, and a rerun completes the job.

Real runs of ``python -m search_app index`` over real records from index_data/sample,
committing every COMMIT documents ($GONGKAI_COMMIT_EVERY) so that most kill points fall
inside or between commits. Kill moments are drawn from a seeded generator. A reader
thread opens the index again and again during every run and checks what it sees.

Scale: what matters is the number of kill points (commits), not the number of
documents, so the input is the sample's 150 real records (75 commits) and 60 for the
rebuilds. Kill delays are drawn as fractions of a measured uninterrupted run, so that
they land inside the run however fast this machine indexes.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest
from reliability_helpers import (
    SAMPLE_RECORDS,
    IndexPoller,
    expected_ids,
    lock_is_free,
    read_ids,
    run_index,
    start_index,
)

from indexer import store

pytestmark = pytest.mark.slow

COMMIT = 2
SEED = 20261128
ROWS_PER_FILE = 10


def _corpus(folder: Path, rows: int) -> Path:
    """The first *rows* real records of the sample, ROWS_PER_FILE to a file."""
    folder.mkdir()
    lines = SAMPLE_RECORDS.read_text(encoding="utf-8").splitlines()[:rows]
    for n in range(0, rows, ROWS_PER_FILE):
        (folder / f"part{n // ROWS_PER_FILE:02d}.jsonl").write_text(
            "\n".join(lines[n:n + ROWS_PER_FILE]) + "\n", encoding="utf-8")
    return folder


def _children(pid: int) -> set[int]:
    out: set[int] = set()
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out.update(int(c) for c in f.read().split())
    except OSError:
        pass
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _kill_at(proc, delay: float, ready=lambda: True) -> tuple[float, set[int], bool]:
    """SIGKILL the indexer (its main process only, as the OOM killer would) *delay*
    seconds after *ready()* first holds; returns the kill moment, its worker pids, and
    whether it had already finished."""
    workers: set[int] = set()
    while not ready() and proc.poll() is None:
        workers |= _children(proc.pid)
        time.sleep(0.02)
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline and proc.poll() is None:
        workers |= _children(proc.pid)
        time.sleep(0.02)
    finished = proc.poll() is not None
    moment = time.monotonic()
    if not finished:
        workers |= _children(proc.pid)
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stderr.close()
    return moment, workers, finished


def _run_seconds(tmp_path: Path, corpus: Path, *extra: str) -> float:
    """Wall time of one uninterrupted run over *corpus* into a scratch index."""
    start = time.monotonic()
    done = run_index(tmp_path / f"timing{len(extra)}", [corpus], *extra, commit_every=COMMIT)
    assert done.returncode == 0, done.stderr
    return time.monotonic() - start


def _assert_workers_gone(workers: set[int]) -> None:
    deadline = time.monotonic() + 5
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [w for w in workers if _alive(w)], "workers outlived the killed indexer"


def _assert_reader_views(poller: IndexPoller, start: float, end: float, base: list[str],
                         final_count: int | None) -> int:
    """Every searcher opened during one run saw a committed state: unique ids, a superset
    of the one before, and a count of base + k*COMMIT (or the run's final count)."""
    seen = [o for o in poller.observations if start <= o.started < end]
    previous = set(base)
    for o in seen:
        ids = set(o.ids)
        assert len(ids) == len(o.ids), "a searcher saw a duplicate id"
        assert ids >= previous, "a searcher saw fewer documents than an earlier one"
        grown = len(ids) - len(base)
        assert grown % COMMIT == 0 or len(ids) == final_count, (
            f"a searcher saw {grown} new documents: not a whole number of commits")
        previous = ids
    return len(seen)


def test_sigkilled_incremental_runs_lose_nothing_committed_and_a_rerun_completes(tmp_path):
    corpus = _corpus(tmp_path / "corpus", 150)
    want = expected_ids([corpus])
    index = tmp_path / "ix"
    full = _run_seconds(tmp_path, corpus)
    started = time.monotonic()
    first = run_index(index, [corpus / "part00.jsonl"], "--procs", "1", commit_every=COMMIT)
    assert first.returncode == 0, first.stderr
    small = time.monotonic() - started
    # Each later run only indexes what is left: time per document and start-up time,
    # from a run over 150 documents and one over the first 10.
    per_doc = max(full - small, 0.1) / (len(want) - ROWS_PER_FILE)
    startup = max(small - ROWS_PER_FILE * per_doc, 0.1)
    rng = random.Random(SEED)
    kills = finished_early = views = 0
    with IndexPoller(index) as poller:
        for n in range(14):
            before = read_ids(index)
            procs = "2" if n % 2 else "1"  # MpWriter workers and the single-process writer
            # The kill point: a reader first sees 0, 1 or 2 new commits, then up to a
            # tenth of what the run still has to do (so that every run leaves work for
            # the next), so kills land at start-up, while
            # documents are filed, during a commit and between commits, on a fast
            # machine as on a slow one.
            new_commits = rng.choice([0, 1, 1, 2])
            target = len(before) + COMMIT * new_commits
            left = (len(want) - len(before)) * per_doc + (0 if new_commits else startup)
            start = time.monotonic()
            proc = start_index(index, [corpus], "--procs", procs, commit_every=COMMIT)
            moment, workers, finished = _kill_at(
                proc, rng.uniform(0.0, 0.1) * left,
                ready=lambda target=target: bool(poller.observations)
                and len(poller.observations[-1].ids) >= target)
            kills += not finished
            finished_early += finished
            last_seen = poller.last_before(moment)
            _assert_workers_gone(workers)

            assert lock_is_free(index), "a killed indexer left the index locked"
            after = read_ids(index)  # opens: store.open_index inside
            assert len(after) == len(set(after)), "duplicate ids after a kill"
            assert set(after) <= want
            assert set(after) >= set(before)
            if last_seen is not None:
                assert set(after) >= set(last_seen.ids), "a committed document was lost"
            views += _assert_reader_views(poller, start, time.monotonic(), before,
                                          len(want) if finished else None)
    assert not poller.errors, poller.errors[:3]
    assert kills >= 12, f"only {kills} runs were killed before they finished"

    rerun = run_index(index, [corpus], "--procs", "2")
    assert rerun.returncode == 0, rerun.stderr
    final = read_ids(index)
    assert sorted(final) == sorted(want)
    print(f"\nincremental: {kills} kills, {finished_early} runs finished first, "
          f"{views} reader views checked, {len(want)} documents")


def test_sigkilled_rebuilds_leave_the_old_index_and_a_later_rebuild_cleans_up(tmp_path):
    corpus = _corpus(tmp_path / "corpus", 60)
    want = expected_ids([corpus])
    index = tmp_path / "ix"
    full = _run_seconds(tmp_path, corpus, "--rebuild")
    gens = index.with_name(index.name + ".gens")
    first = run_index(index, [corpus / "part00.jsonl"], "--procs", "1")
    assert first.returncode == 0, first.stderr
    published = store.resolve(index)
    old_ids = first_ids = sorted(read_ids(index))
    rng = random.Random(SEED + 1)
    kills = 0
    with IndexPoller(index) as poller:
        for n in range(8):
            proc = start_index(index, [corpus], "--rebuild", "--procs", "2" if n % 2 else "1",
                               commit_every=COMMIT)
            _moment, workers, finished = _kill_at(proc, rng.uniform(0.1, 0.9) * full)
            _assert_workers_gone(workers)
            if finished:  # a fast machine: this rebuild was published, go on from it
                assert sorted(read_ids(index)) == sorted(want)
                published, old_ids = store.resolve(index), sorted(want)
                continue
            kills += 1
            assert lock_is_free(index)
            # The path still points at the old, complete generation.
            assert store.resolve(index) == published
            assert sorted(read_ids(index)) == old_ids
    assert not poller.errors, poller.errors[:3]
    assert kills >= 6, f"only {kills} rebuilds were killed before they finished"
    assert all(sorted(o.ids) in (first_ids, sorted(want)) for o in poller.observations)
    half_built = [g for g in gens.iterdir() if g.resolve() != published]
    assert half_built, "a killed rebuild leaves its half-built generation behind"

    done = run_index(index, [corpus], "--rebuild", "--procs", "2")
    assert done.returncode == 0, done.stderr
    assert sorted(read_ids(index)) == sorted(want)
    # publish() keeps the new generation and the one it replaced (a reader may still
    # have it open) and removes every other, the killed rebuilds' leftovers included.
    left = {g.resolve() for g in gens.iterdir()}
    assert left == {store.resolve(index), published}
    print(f"\nrebuild: {kills} kills, {len(half_built)} half-built generations removed")
