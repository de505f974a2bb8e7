"""A `gongkai index` killed with SIGKILL at any moment loses nothing it committed, never
leaves a duplicate, never leaves the index locked, and a rerun completes the job.

Real runs of ``python -m search_app index`` over real records from index_data/sample,
committing every COMMIT documents ($GONGKAI_COMMIT_EVERY). Each run is killed at a
*named* crash point ($GONGKAI_CRASH_AT, `indexer.index.faults`): the process kills itself
there, so what it leaves is known exactly whatever the machine's speed. A reader thread
opens the index again and again during every run and checks what it sees. A few kills
at seeded random moments remain as a second check; their assertions hold whether or not
a run finished before its kill.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from reliability_helpers import (
    SAMPLE_RECORDS,
    IndexPoller,
    env_with,
    expected_ids_in_order,
    index_cmd,
    lock_is_free,
    read_ids,
    run_index,
)

from indexer.index import faults, store

pytestmark = pytest.mark.slow

COMMIT = 2
SEED = 20261128
ROWS_PER_FILE = 10
ROWS = 60
RUN_TIMEOUT = 600  # seconds: only a hang guard, many times a run's cost


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


def _assert_workers_gone(workers: set[int]) -> None:
    # The kernel kills a dead indexer's workers (PR_SET_PDEATHSIG); wait for that to be
    # done, with a deadline that only a worker that is never killed can reach.
    deadline = time.monotonic() + 60
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [w for w in workers if _alive(w)], "workers outlived the indexer"


@dataclass
class Run:
    returncode: int
    stderr: str
    workers: set[int]
    started: float
    ended: float


def _run(index: Path, corpus: Path, *extra: str, crash_at: str | None = None,
         kill_after: float | None = None) -> Run:
    """One `gongkai index` run, crashing at *crash_at* or SIGKILLed *kill_after* seconds
    after it started; the worker pids it had are collected while it runs."""
    env = env_with(GONGKAI_COMMIT_EVERY=COMMIT, **({faults.ENV: crash_at} if crash_at else {}))
    started = time.monotonic()
    proc = subprocess.Popen(index_cmd(index, [corpus], *extra), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    workers: set[int] = set()
    killed = False
    while proc.poll() is None:
        workers |= _children(proc.pid)
        now = time.monotonic()
        if kill_after is not None and not killed and now - started >= kill_after:
            workers |= _children(proc.pid)
            proc.send_signal(signal.SIGKILL)  # its main process only, as the OOM killer would
            killed = True
        assert now - started < RUN_TIMEOUT, "the indexer hung"
        time.sleep(0.01)
    stderr = proc.stderr.read()
    proc.stderr.close()
    return Run(proc.returncode, stderr, workers, started, time.monotonic())


def _assert_views(poller: IndexPoller, run: Run, before: list[str], order: list[str]):
    """Every searcher opened during *run* saw a committed state: unique ids, the ids
    before the run plus the first k*COMMIT documents the run files (or all of them), and
    never fewer than an earlier searcher."""
    seen = [o for o in poller.observations if run.started <= o.started < run.ended]
    base = set(before)
    new = [d for d in order if d not in base]
    last = 0
    for o in seen:
        assert len(set(o.ids)) == len(o.ids), "a searcher saw a duplicate id"
        grown = len(o.ids) - len(base)
        assert set(o.ids) == base | set(new[:grown]), "a searcher saw documents out of order"
        assert grown % COMMIT == 0 or grown == len(new), (
            f"a searcher saw {grown} new documents: not a whole number of commits")
        assert grown >= last, "a searcher saw fewer documents than an earlier one"
        last = grown
    return len(seen)


def _assert_after_crash(index: Path, run: Run, before: list[str], order: list[str]) -> int:
    """What every crash leaves: workers gone, lock free, no duplicates, the ids before the
    run plus a prefix of whole commits. Returns how many new documents survived."""
    _assert_workers_gone(run.workers)
    assert lock_is_free(index), "a crashed indexer left the index locked"
    after = read_ids(index)
    assert len(after) == len(set(after)), "duplicate ids after a crash"
    base = set(before)
    new = [d for d in order if d not in base]
    grown = len(after) - len(base)
    assert set(after) == base | set(new[:grown]), "the index is not the last commit's state"
    assert grown % COMMIT == 0 or grown == len(new), "a partial commit survived"
    return grown


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """The corpus, its ids in input order, and a template index holding its first file
    (each case copies it, so that every kill starts from the same committed state)."""
    root = tmp_path_factory.mktemp("crash")
    corpus = _corpus(root / "corpus", ROWS)
    order = expected_ids_in_order([corpus])
    template = root / "template" / "ix"
    first = run_index(template, [corpus / "part00.jsonl"], "--procs", "1")
    assert first.returncode == 0, first.stderr
    return corpus, order, template


def _copy_index(template: Path, dest: Path) -> Path:
    dest.mkdir()
    for item in template.parent.iterdir():  # ix (a relative link), ix.gens/, ix.lock
        target = dest / item.name
        if item.is_symlink():
            target.symlink_to(os.readlink(item))
        elif item.is_dir():
            shutil.copytree(item, target, symlinks=True)
        else:
            shutil.copy2(item, target)
    return dest / template.name


# (crash point, --procs, new documents that must survive: an int, or None where the count
# depends on how far the parse workers ran ahead, which a whole-commit prefix covers).
# COMMIT = 2: commit k makes documents 2k-1 and 2k visible.
KILLED = "killed"  # the indexer's own process kills itself: exit -SIGKILL
FAILED = "failed"  # a worker kills itself: the indexer stops with a one-line error, exit 1
INCREMENTAL = [
    ("start:before-lock", 1, 0, KILLED),
    ("start:after-lock", 2, 0, KILLED),
    ("filing:document@5", 1, 4, KILLED),  # commits 1 and 2 made, the 5th document pending
    ("filing:document@4", 2, 4, KILLED),  # the 4th document's commit made
    ("commit:segments-written@3", 1, 4, KILLED),
    ("commit:segments-written@3", 2, 4, KILLED),
    ("commit:toc-renamed@3", 1, 6, KILLED),
    ("commit:toc-renamed@3", 2, 6, KILLED),
    ("tables:writing@3", 1, 4, KILLED),  # one tables file per commit: the 3rd commit's
    ("merge:tables@1", 1, None, KILLED),  # Whoosh's merge policy merges small segments
    ("worker:document@2", 2, 0, FAILED),  # each commit forks new workers: the first dies
    ("worker:tables-writing@1", 2, 0, FAILED),
    ("parse:file@2", 2, None, FAILED),
]


@pytest.mark.parametrize("point,procs,survive,outcome", INCREMENTAL,
                         ids=[f"{p}-procs{n}" for p, n, _, _ in INCREMENTAL])
def test_an_update_crashed_at_a_named_point_keeps_exactly_its_commits_and_a_rerun_completes(
        setup, tmp_path, point, procs, survive, outcome):
    corpus, order, template = setup
    index = _copy_index(template, tmp_path / "case")
    before = read_ids(index)
    with IndexPoller(index) as poller:
        run = _run(index, corpus, "--procs", str(procs), crash_at=point)
    assert not poller.errors, poller.errors[:3]
    if outcome == KILLED:
        assert run.returncode == -signal.SIGKILL, (run.returncode, run.stderr)
    else:
        assert run.returncode == 1, (run.returncode, run.stderr)
        message = run.stderr.strip()
        assert "\n" not in message and "Traceback" not in message, message
        assert message.startswith("gongkai: error: ") and "worker" in message, message
    grown = _assert_after_crash(index, run, before, order)
    if survive is not None:
        assert grown == survive
    else:
        assert grown < len(order) - len(before), "the crash came after the run's last commit"
    _assert_views(poller, run, before, order)

    rerun = run_index(index, [corpus], "--procs", str(procs), timeout=RUN_TIMEOUT)
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(read_ids(index)) == sorted(order)


REBUILD = [
    ("start:after-lock", 1, KILLED),
    ("commit:toc-renamed@2", 1, KILLED),  # commits of an unpublished generation
    ("commit:segments-written@2", 2, KILLED),
    ("merge:tables@1", 1, KILLED),
    ("rebuild:before-swap", 1, KILLED),
    ("rebuild:after-swap", 2, KILLED),
    ("worker:document@1", 2, FAILED),
    ("worker:merge@1", 2, FAILED),  # the compaction's second merge, in its own process
]


@pytest.mark.parametrize("point,procs,outcome", REBUILD,
                         ids=[f"{p}-procs{n}" for p, n, _ in REBUILD])
def test_a_rebuild_crashed_at_a_named_point_leaves_one_whole_index_and_a_rebuild_cleans_up(
        setup, tmp_path, point, procs, outcome):
    corpus, order, template = setup
    index = _copy_index(template, tmp_path / "case")
    old_gen, old_ids = store.resolve(index), sorted(read_ids(index))
    gens = index.with_name(index.name + ".gens")
    with IndexPoller(index) as poller:
        run = _run(index, corpus, "--rebuild", "--procs", str(procs), crash_at=point)
    assert not poller.errors, poller.errors[:3]
    assert run.returncode == (-signal.SIGKILL if outcome == KILLED else 1), run.stderr
    _assert_workers_gone(run.workers)
    assert lock_is_free(index)
    # Readers only ever saw the old index or the complete new one.
    assert all(sorted(o.ids) in (old_ids, sorted(order)) for o in poller.observations)
    if point == "rebuild:after-swap":  # the swap is the rebuild's commit
        published = store.resolve(index)
        assert published != old_gen and sorted(read_ids(index)) == sorted(order)
        # publish() had not yet removed anything: the replaced generation is still there.
        assert {g.resolve() for g in gens.iterdir()} >= {published, old_gen}
    else:
        assert store.resolve(index) == old_gen
        assert sorted(read_ids(index)) == old_ids
        half_built = [g for g in gens.iterdir() if g.resolve() != old_gen]
        if outcome == KILLED and point != "start:after-lock":
            assert half_built, "a killed rebuild leaves its half-built generation behind"
        elif outcome == FAILED:
            assert not half_built, "a rebuild that stopped on an error removes its generation"

    before_cleanup = store.resolve(index)
    done = run_index(index, [corpus], "--rebuild", "--procs", str(procs), timeout=RUN_TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert sorted(read_ids(index)) == sorted(order)
    # publish() keeps the new generation and the one it replaced (a reader may still
    # have it open) and removes every other, the crashed rebuild's leftovers included.
    assert {g.resolve() for g in gens.iterdir()} == {store.resolve(index), before_cleanup}


def test_the_suite_drives_every_named_crash_point():
    driven = {p.partition("@")[0] for p, *_ in INCREMENTAL + REBUILD}
    assert driven == set(faults.POINTS)


def _run_seconds(corpus: Path, tmp_path: Path, *extra: str) -> float:
    """Wall time of one uninterrupted run: the scale of the random kill moments."""
    start = time.monotonic()
    timing = run_index(tmp_path / "timing", [corpus], "--procs", "1", *extra,
                       commit_every=COMMIT, timeout=RUN_TIMEOUT)
    assert timing.returncode == 0, timing.stderr
    return time.monotonic() - start


def test_updates_sigkilled_at_random_moments_keep_whole_commits(setup, tmp_path):
    """The second check: kills at seeded random moments, wherever they land (at start-up,
    mid-run, or after the run finished: the assertions hold in every case)."""
    corpus, order, template = setup
    rng = random.Random(SEED)
    full = _run_seconds(corpus, tmp_path)
    for n in range(4):
        index = _copy_index(template, tmp_path / f"case{n}")
        before = read_ids(index)
        with IndexPoller(index) as poller:
            run = _run(index, corpus, "--procs", str(1 + n % 2),
                       kill_after=rng.uniform(0.05, 1.0) * full)
        assert not poller.errors, poller.errors[:3]
        assert run.returncode in (0, -signal.SIGKILL), run.stderr
        grown = _assert_after_crash(index, run, before, order)
        if run.returncode == 0:
            assert grown == len(order) - len(before)
        _assert_views(poller, run, before, order)
        rerun = run_index(index, [corpus], "--procs", "2", timeout=RUN_TIMEOUT)
        assert rerun.returncode == 0, rerun.stderr
        assert sorted(read_ids(index)) == sorted(order)


def test_rebuilds_sigkilled_at_random_moments_leave_the_old_or_the_new_index(setup, tmp_path):
    corpus, order, template = setup
    rng = random.Random(SEED + 1)
    full = _run_seconds(corpus, tmp_path, "--rebuild")
    for n in range(3):
        index = _copy_index(template, tmp_path / f"case{n}")
        old_gen, old_ids = store.resolve(index), sorted(read_ids(index))
        with IndexPoller(index) as poller:
            run = _run(index, corpus, "--rebuild", "--procs", str(1 + n % 2),
                       kill_after=rng.uniform(0.05, 1.0) * full)
        assert not poller.errors, poller.errors[:3]
        assert run.returncode in (0, -signal.SIGKILL), run.stderr
        _assert_workers_gone(run.workers)
        assert lock_is_free(index)
        if store.resolve(index) == old_gen:
            assert sorted(read_ids(index)) == old_ids  # not swapped: the old index, whole
        else:
            assert sorted(read_ids(index)) == sorted(order)  # swapped: the new one, whole
        assert all(sorted(o.ids) in (old_ids, sorted(order)) for o in poller.observations)
