"""``gongkai parse PATH...``: show what the indexer would index, without indexing."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter

from search_app.cli import CliError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "parse", help="parse files or folders and print the records found",
        description="Parse documents (HTML, text, JSON/JSONL/CSV records, Markdown, PDF) "
                    "and print one record per line. Skips and failures go to stderr; "
                    "exit 1 when a file broke a parser.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="file or folder (recursive)")
    p.add_argument("--json", action="store_true", help="one JSON object per record")
    p.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                   help="read record FIELD from COLUMN of JSON/CSV records (repeatable)")
    p.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                   help="read files in N worker processes (output order is unchanged)")
    p.set_defaults(func=run)


def parse_map(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        field, sep, column = item.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise CliError(f"--map expects FIELD=COLUMN, got {item!r}")
        out[field.strip()] = column.strip()
    return out


def _line(record) -> str:
    title = record.title.replace("\n", " ")
    if len(title) > 40:
        title = title[:39] + "…"
    return "\t".join((record.id, record.pub_date or (str(record.year) if record.year else "-"),
                      record.agency or "-", title))


def run(args: argparse.Namespace) -> int:
    from indexer.ingest import ParseFailure, iter_records
    from indexer.readers import Skipped

    started = time.monotonic()
    if args.jobs < 1:
        raise CliError(f"--jobs must be at least 1, got {args.jobs}")
    try:
        results = iter_records(args.paths, parse_map(args.map) or None, jobs=args.jobs)
    except (FileNotFoundError, ValueError) as exc:
        raise CliError(str(exc)) from None

    records = failures = 0
    skipped: Counter[str] = Counter()
    out, err = sys.stdout, sys.stderr
    for result in results:
        if isinstance(result, ParseFailure):
            failures += 1
            print(result, file=err)
        elif isinstance(result, Skipped):
            skipped[result.reason] += 1
            print(result, file=err)
        else:
            records += 1
            if args.json:
                out.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
            else:
                out.write(_line(result) + "\n")
    out.flush()

    by_reason = ", ".join(f"{reason} {n}" for reason, n in sorted(skipped.items()))
    summary = (f"parsed: {records} records, {sum(skipped.values())} skipped"
               f"{' (' + by_reason + ')' if by_reason else ''}, {failures} failures, "
               f"{time.monotonic() - started:.1f}s")
    print(summary, file=err)
    return 1 if failures else 0
