"""Named crash points for the index writer: fault injection for the crash-safety tests.

``GONGKAI_CRASH_AT=NAME`` (or ``NAME@N``, the N-th time the point is reached, default 1)
makes the process that reaches that point kill itself with SIGKILL, as the OOM killer
or a power cut would: no cleanup, no ``finally``, no atexit. The tests then check what a
crash at exactly that moment leaves behind (nothing committed lost, no duplicates, the
lock free, readers seeing whole commits, a rerun completing), instead of guessing the
moment from a timer, which made the outcome depend on how busy the machine was.

The variable is read once, at import, and only by the index writer's modules. Unset, a
crash point is one global lookup and a return.

Each point belongs to one kind of process: points named ``worker:…`` (an analysis
worker of a multi-process writer) and ``parse:…`` (a page-parsing worker) fire only in
forked worker processes, every other point only in the indexer's own process. Counts
are per process.
"""

from __future__ import annotations

import os
import signal
import sys

ENV = "GONGKAI_CRASH_AT"

# Every point the writer reaches, in the order a run reaches them, with what a crash
# there means. The tests drive each of these at least once.
POINTS = {
    "start:before-lock": "the command started, the index lock not yet taken",
    "start:after-lock": "the lock taken, nothing read or written yet",
    "filing:document": "N documents handed to the writer (and any commit they made due)",
    "commit:segments-written": "a commit's segment files written, its table of contents "
                               "not yet renamed into place",
    "commit:toc-renamed": "just after a commit's table of contents was renamed into place",
    "tables:writing": "a segment's postings tables file half written (indexer process)",
    "merge:tables": "segments being merged: one segment's postings tables read into the "
                    "merged segment",
    "rebuild:before-swap": "a complete new generation, the index link not yet swapped",
    "rebuild:after-swap": "the index link swapped, old generations not yet removed",
    "worker:document": "an analysis worker process after its N-th document",
    "worker:tables-writing": "an analysis worker's postings tables file half written",
    "parse:file": "a parsing worker process after its N-th file",
    "worker:merge": "a merging worker process (one of a compaction's merges run at once) "
                    "with its N-th segment read in",
}
_WORKER_PREFIXES = ("worker:", "parse:")


def parse_spec(spec: str | None) -> tuple[str, int] | None:
    """(point, count) from the variable's value; ValueError when it names no point."""
    if not spec:
        return None
    name, _, count = spec.strip().partition("@")
    if name not in POINTS:
        raise ValueError(f"{ENV}={spec!r} names no crash point (known: {', '.join(POINTS)})")
    if not (count or "1").isdigit() or int(count or 1) < 1:
        raise ValueError(f"{ENV}={spec!r}: the count after @ must be a positive whole number")
    return name, int(count or 1)


def _armed() -> tuple[str, int] | None:
    try:
        return parse_spec(os.environ.get(ENV))
    except ValueError as exc:
        # A mistyped test setting must not run the indexer unarmed: stop, as a usage error.
        print(f"gongkai: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


_ARMED = _armed()
_MAIN_PID = os.getpid()  # the process that imported the writer: the indexer itself
_seen = 0


def in_worker() -> bool:
    """True in a process forked from the indexer (an analysis or parsing worker)."""
    return os.getpid() != _MAIN_PID


def crash_point(name: str) -> None:
    """Kill this process here if $GONGKAI_CRASH_AT names this point (see the module)."""
    if _ARMED is None or _ARMED[0] != name:
        return
    if name.startswith(_WORKER_PREFIXES) != in_worker():
        return
    global _seen
    _seen += 1
    if _seen == _ARMED[1]:
        os.kill(os.getpid(), signal.SIGKILL)


def _reset_in_child() -> None:
    # A forked worker counts its own arrivals from zero, whatever its parent had seen.
    global _seen
    _seen = 0


os.register_at_fork(after_in_child=_reset_in_child)
