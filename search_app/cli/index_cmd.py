"""``gongkai index PATH... [--index DIR] [--rebuild] [--prune] [--procs N] [--memory MB]
[--map f=c]``"""

from __future__ import annotations

import json
import sys
import time

from search_app.cli import CliError, backend_opt


def register(sub) -> None:
    p = sub.add_parser("index", help="add pages and records to the index (incremental)",
                       description="Index files or folders: HTML pages, text renderings, "
                       "JSON/JSONL/CSV records, Markdown, PDF. Unchanged documents are "
                       "skipped, changed ones replaced.")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--index", metavar="DIR", help="index directory "
                   "(default: $GONGKAI_INDEX or index_data/index)")
    p.add_argument("--rebuild", action="store_true",
                   help="build a fresh index beside the old one and swap it in atomically")
    p.add_argument("--prune", action="store_true",
                   help="remove documents whose source file under PATH is gone")
    p.add_argument("--procs", type=int, default=None, metavar="N",
                   help="worker processes for parsing and analysis (default: CPU cores)")
    p.add_argument("--memory", metavar="MB", default=None,
                   help="memory per worker process, e.g. 1500 or 2G (default: "
                   "$GONGKAI_INDEX_MEMORY or 1500): less means more, smaller segments")
    p.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                   help="read FIELD from COLUMN in JSON/CSV records (repeatable)")
    p.add_argument("--wait", action="store_true",
                   help="wait for another indexer to finish instead of exiting")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    backend_opt.add_argument(p)
    p.set_defaults(func=run)


def parse_map(pairs: list[str]) -> dict[str, str] | None:
    out = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise CliError(f"--map takes FIELD=COLUMN, got {pair!r}")
        out[field.strip()] = column.strip()
    return out or None


class Progress:
    """A one-line progress display on a terminal; silent when stderr is not one."""

    def __init__(self):
        self.enabled = sys.stderr.isatty()
        self.start = time.perf_counter()

    def __call__(self, summary) -> None:
        if not self.enabled:
            return
        done = summary.added + summary.updated + summary.unchanged
        rate = done / max(1e-9, time.perf_counter() - self.start)
        sys.stderr.write(f"\r  indexed {done:,} documents ({rate:,.0f} docs/s), "
                         f"skipped {sum(summary.skipped.values()):,}   ")
        sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def print_summary(summary, index_dir, stream=None) -> None:
    # sys.stderr looked up now, not bound at import: whoever imported this module first
    # (a test's captured stream) must not receive every later summary.
    stream = stream or sys.stderr
    d = summary.to_dict()
    skipped = ", ".join(f"{k} {v}" for k, v in sorted(d["skipped"].items())) or "none"
    print(f"index {index_dir}: {d['documents']:,} documents", file=stream)
    print(f"  added {d['added']:,}, updated {d['updated']:,}, unchanged {d['unchanged']:,}, "
          f"removed {d['removed']:,}", file=stream)
    print(f"  skipped: {skipped}", file=stream)
    if summary.failures:
        print(f"  failed: {len(summary.failures)} (listed above)", file=stream)
    print(f"  {d['seconds']:.1f} s, {d['input_mb']:.1f} MB read, {d['mb_per_s']:.2f} MB/s",
          file=stream)


def run(args) -> int:
    from indexer.index import store
    from indexer.index.postings_tables import DamagedIndex
    from indexer.index.workers import WorkerDied
    from indexer.index.writer import IndexBusy, index_paths

    url = backend_opt.backend_url(args)
    if url is not None:
        return _run_typesense(args, url)
    index_dir = args.index or store.default_index_dir()
    progress = Progress()
    try:
        summary = index_paths(index_dir, args.paths, field_map=parse_map(args.map),
                              procs=args.procs, prune=args.prune, rebuild=args.rebuild,
                              wait=args.wait, progress=progress, memory_mb=args.memory)
    except FileNotFoundError as exc:
        raise CliError(str(exc).strip("'\"")) from None
    except (ValueError, IndexBusy, store.IndexIncompatible, DamagedIndex) as exc:
        raise CliError(str(exc)) from None
    except WorkerDied as exc:  # not a usage error: exit 1, like a file that broke a reader
        print(f"gongkai: error: {exc}", file=sys.stderr)
        return 1
    finally:
        progress.done()
    return report(summary, str(index_dir), args.json)


def report(summary, shown: str, as_json: bool) -> int:
    """Failures, the JSON summary if asked, the readable summary; the exit code."""
    for failure in summary.failures:
        print(f"{failure}", file=sys.stderr)
    if as_json:
        print(json.dumps(summary.to_dict() | {"index": shown}, ensure_ascii=False))
    print_summary(summary, shown)
    if summary.retries:
        print(f"  {summary.retries} writes repeated while the cluster elected a leader",
              file=sys.stderr)
    return 1 if summary.failures else 0


def _run_typesense(args, url: str) -> int:
    """``gongkai index --backend URL``: the same run into a Typesense collection."""
    from indexer.typesense.connection import ClusterUnavailable, parse_url
    from indexer.typesense.writer import CollectionMismatch, index_paths_typesense

    shown = parse_url(url).display
    progress = Progress()
    try:
        summary = index_paths_typesense(url, args.paths, field_map=parse_map(args.map),
                                        procs=args.procs, prune=args.prune,
                                        rebuild=args.rebuild, progress=progress)
    except FileNotFoundError as exc:
        raise CliError(str(exc).strip("'\"")) from None
    except (ValueError, CollectionMismatch) as exc:
        raise CliError(str(exc)) from None
    except ClusterUnavailable as exc:  # the cluster, not the command line: exit 1
        print(f"gongkai: error: {exc}", file=sys.stderr)
        return 1
    finally:
        progress.done()
    return report(summary, shown, args.json)
