"""Two `gongkai index` runs on one index at once: the second is refused at once with a
one-line "another indexer" error (exit 2), or with --wait waits its turn and succeeds;
either way the index ends complete and without duplicates.

The first run is held still (SIGSTOP) once it has taken the lock, so that the second
meets it mid-run however fast the machine is, and let go (SIGCONT) afterwards."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from reliability_helpers import (
    SAMPLE_RECORDS,
    expected_ids,
    read_ids,
    run_index,
    start_index,
)

pytestmark = pytest.mark.slow


def _two_corpora(tmp_path: Path) -> tuple[Path, Path]:
    lines = SAMPLE_RECORDS.read_text(encoding="utf-8").splitlines()
    a, b = tmp_path / "a", tmp_path / "b"
    for folder, part in ((a, lines[:8]), (b, lines[8:12])):
        folder.mkdir()
        for n in range(0, len(part), 3):
            (folder / f"p{n:02d}.jsonl").write_text("\n".join(part[n:n + 3]) + "\n",
                                                   encoding="utf-8")
    return a, b


def _wait_for_lock_holder(index: Path, pid: int, timeout: float = 60) -> None:
    """Until the lock file names *pid*: that run holds the lock and is writing."""
    lock = index.with_name(index.name + ".lock")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lock.exists() and lock.read_text().strip() == str(pid):
            return
        time.sleep(0.02)
    raise AssertionError(f"pid {pid} never took the lock")


def _blocked_on_a_lock(pid: int) -> bool:
    """True when *pid* waits for a file lock: /proc/locks lists waiters with "->"."""
    with open("/proc/locks") as f:  # "1: -> FLOCK  ADVISORY  WRITE <pid> <dev:inode> ..."
        for line in f:
            tokens = line.split()
            if "->" in tokens and tokens[tokens.index("->") + 4:][:1] == [str(pid)]:
                return True
    return False


def _wait_until_blocked(proc, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not _blocked_on_a_lock(proc.pid):
        assert proc.poll() is None, "the waiting run ended while the first held the lock"
        assert time.monotonic() < deadline, "the second run never waited for the lock"
        time.sleep(0.02)


def test_a_second_indexer_exits_2_with_a_clear_message_while_the_first_is_writing(tmp_path):
    a, b = _two_corpora(tmp_path)
    index = tmp_path / "ix"
    first = start_index(index, [a], "--procs", "2", commit_every=1)
    _wait_for_lock_holder(index, first.pid)
    os.kill(first.pid, signal.SIGSTOP)  # mid-run, holding the lock
    try:
        second = run_index(index, [b], "--procs", "1", timeout=600)
    finally:
        os.kill(first.pid, signal.SIGCONT)
    _out, err = first.communicate(timeout=600)
    assert second.returncode == 2
    assert second.stderr.startswith("gongkai: error: another indexer is writing")
    assert f"(pid {first.pid})" in second.stderr and second.stderr.count("\n") == 1
    assert "Traceback" not in second.stderr
    assert first.returncode == 0, err
    ids = read_ids(index)
    assert len(ids) == len(set(ids))
    assert set(ids) == expected_ids([a])


def test_with_wait_the_second_indexer_waits_for_the_first_and_then_succeeds(tmp_path):
    a, b = _two_corpora(tmp_path)
    index = tmp_path / "ix"
    first = start_index(index, [a], "--procs", "1", commit_every=2)
    _wait_for_lock_holder(index, first.pid)
    os.kill(first.pid, signal.SIGSTOP)
    try:
        second = start_index(index, [b], "--procs", "2", "--wait", commit_every=2)
        _wait_until_blocked(second)
    finally:
        os.kill(first.pid, signal.SIGCONT)
    _out, first_err = first.communicate(timeout=600)
    _out, second_err = second.communicate(timeout=600)
    assert (first.returncode, second.returncode) == (0, 0), (first_err, second_err)
    ids = read_ids(index)
    assert len(ids) == len(set(ids))
    assert set(ids) == expected_ids([a, b])


def test_two_indexers_started_together_on_one_input_leave_one_complete_index(tmp_path):
    a, _b = _two_corpora(tmp_path)
    index = tmp_path / "ix"
    procs = [start_index(index, [a], "--procs", "1", commit_every=2) for _ in range(2)]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _err in results)
    # Either one was refused (exit 2, "another indexer"), or the second started only
    # after the first was done and found everything unchanged (exit 0).
    assert codes in ([0, 2], [0, 0]), results
    for code, err in results:
        assert "Traceback" not in err
        if code == 2:
            assert "another indexer is writing" in err
    ids = read_ids(index)
    assert len(ids) == len(set(ids))
    assert set(ids) == expected_ids([a])
