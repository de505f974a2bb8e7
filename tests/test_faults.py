"""Crash points (`indexer.index.faults`): what $GONGKAI_CRASH_AT selects, and that a point
kills its process exactly at the N-th arrival, in the kind of process it names."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from indexer.index import faults
from indexer.index.faults import parse_spec

# A child that reaches 'filing:document' five times, printing each arrival it survives,
# then forks a worker that reaches 'worker:document' twice.
CHILD = """
import os, sys
from indexer.index import faults
for n in range(1, 6):
    faults.crash_point("filing:document")
    faults.crash_point("worker:document")  # a worker point: never fires in the indexer
    print("indexer", n, flush=True)
pid = os.fork()
if pid == 0:
    for n in range(1, 3):
        faults.crash_point("worker:document")
        faults.crash_point("filing:document")  # an indexer point: never fires in a worker
        print("worker", n, flush=True)
    os._exit(0)
_, status = os.waitpid(pid, 0)
print("worker status", os.waitstatus_to_exitcode(status), flush=True)
"""


def _child(spec: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != faults.ENV}
    if spec is not None:
        env[faults.ENV] = spec
    return subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                          text=True, timeout=120)


def test_a_spec_names_a_point_and_an_optional_count():
    assert parse_spec(None) is None
    assert parse_spec("") is None
    assert parse_spec("commit:toc-renamed") == ("commit:toc-renamed", 1)
    assert parse_spec("commit:segments-written@3") == ("commit:segments-written", 3)


@pytest.mark.parametrize("spec", ["commit", "commit:3:segments-written", "filing:document@0",
                                  "filing:document@x", "filing:document@-1", "@2"])
def test_a_spec_that_names_no_point_or_a_bad_count_is_refused(spec):
    with pytest.raises(ValueError, match=faults.ENV):
        parse_spec(spec)


def test_unset_no_point_fires():
    out = _child(None)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:8] == [
        "indexer 1", "indexer 2", "indexer 3", "indexer 4", "indexer 5",
        "worker 1", "worker 2", "worker status 0"]


def test_an_indexer_point_kills_the_indexer_at_its_nth_arrival():
    out = _child("filing:document@3")
    assert out.returncode == -signal.SIGKILL
    assert out.stdout.split() == ["indexer", "1", "indexer", "2"]


def test_a_worker_point_kills_only_the_worker_counting_its_own_arrivals():
    out = _child("worker:document@2")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().split("\n") == [
        "indexer 1", "indexer 2", "indexer 3", "indexer 4", "indexer 5",
        "worker 1", f"worker status {-signal.SIGKILL}"]


def test_a_mistyped_spec_stops_the_indexer_with_a_one_line_usage_error(tmp_path):
    out = subprocess.run([sys.executable, "-m", "search_app", "index", str(tmp_path),
                          "--index", str(tmp_path / "ix")],
                         env={**os.environ, faults.ENV: "commit:renamed"},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "names no crash point" in out.stderr
    assert not (tmp_path / "ix").exists()
