"""What the indexer does when one of its worker processes dies.

Parsing and analysis run in forked worker processes (`indexer.index.pipeline`,
`indexer.index.segment_writer.TablesMpWriter`). A worker can die without a word: the OOM
killer, a SIGKILL, a crash in a C extension. Whoosh's multi-process writer took a
missing worker result for an empty one and committed without that worker's documents
(a silent loss), or waited for ever on a queue nobody read; a `multiprocessing.Pool`
waits for ever on the lost task. Both now stop the run with `WorkerDied`: the index keeps
its last commit, and running the same command again finishes the job.
"""

from __future__ import annotations

import signal


class WorkerDied(RuntimeError):
    """A worker process ended without handing back its work."""


def describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "died"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (out of memory?)" if exitcode == -signal.SIGKILL else ""
        return f"was killed by {name}{hint}"
    return f"exited with status {exitcode}"


def worker_died(what: str, exitcode: int | None) -> WorkerDied:
    return WorkerDied(f"{what} {describe_exit(exitcode)}; the index keeps its last commit: "
                      f"run the same command again to finish")
