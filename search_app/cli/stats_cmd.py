"""``gongkai stats``: documents in the index and the counts of every facet value."""

from __future__ import annotations

import argparse
import json
import sys

from search_app.cli import backend_opt
from search_app.cli.search_cmd import open_or_fail

SHOWN = 10  # facet values per facet in the readable form


def register(subparsers) -> None:
    p = subparsers.add_parser("stats", help="show index statistics",
                              description="Number of documents and facet value counts.")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--index", metavar="DIR", help="index directory (default: $GONGKAI_INDEX "
                                                  "or index_data/index)")
    backend_opt.add_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    backend = open_or_fail(args.index, args)
    try:
        stats = backend.stats()
    finally:
        backend.close()
    if args.json:
        sys.stdout.write(json.dumps(stats, ensure_ascii=False) + "\n")
        return 0
    lines = [f"documents: {stats['documents']}"]
    if stats.get("backend"):
        lines.append(f"backend: {stats['backend']}")
    if stats.get("last_modified"):
        lines.append(f"last modified: {stats['last_modified']}")
    for name, values in stats["facets"].items():
        top = ", ".join(f"{v['value']} ({v['count']})" for v in values[:SHOWN])
        more = f", … {len(values) - SHOWN} more" if len(values) > SHOWN else ""
        lines.append(f"{name} ({len(values)} values): {top}{more}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
