"""``gongkai search QUERY``: search the index from the command line."""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata

from search_app.cli import CliError, backend_opt


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "search", help="search the index",
        description="Search the index. QUERY uses the query language: words (all must "
                    'match), "exact phrases", OR, -word, (groups), title: agency: year: '
                    "classification: type: 文号: fields.")
    p.add_argument("query", nargs="*", metavar="QUERY", help="the query (empty: browse)")
    p.add_argument("--agency", action="append", default=[], help="filter (repeatable)")
    p.add_argument("--region", action="append", default=[],
                   help="province, province/city or a whole region, e.g. 浙江省/杭州市 (repeatable)")
    p.add_argument("--year", action="append", default=[], help="2020 or 2018-2020 (repeatable)")
    p.add_argument("--classification", action="append", default=[], help="filter (repeatable)")
    p.add_argument("--type", dest="doc_type", action="append", default=[],
                   help="document type filter, e.g. 通知 (repeatable)")
    p.add_argument("--validity", action="append", default=[], help="filter (repeatable)")
    p.add_argument("--sort", choices=("relevance", "newest", "oldest"), default="relevance")
    p.add_argument("--page", type=int, default=1)
    p.add_argument("--limit", type=int, default=10, help="results per page")
    p.add_argument("--json", action="store_true", help="print the JSON result envelope")
    p.add_argument("--index", metavar="DIR", help="index directory (default: $GONGKAI_INDEX "
                                                  "or index_data/index)")
    backend_opt.add_argument(p)
    p.set_defaults(func=run)


def open_or_fail(index: str | None, args=None):
    """The backend the command asked for (``--backend``/``$GONGKAI_BACKEND``, else the
    index directory), or a one-line error."""
    from search_app.search import default_index_dir, open_backend

    url = backend_opt.backend_url(args) if args is not None else None
    if url is not None:
        return backend_opt.open_url(url)
    path = index or default_index_dir()
    try:
        return open_backend(path)
    except FileNotFoundError:
        raise CliError(f"no index at {path} (build one with: gongkai index PATH...)") from None
    except RuntimeError as exc:  # an index built with other analysis settings
        raise CliError(str(exc)) from None


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _cut(s: str, width: int) -> str:
    out, w = [], 0
    for ch in " ".join(s.split()):
        cw = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if w + cw > width - 1:
            out.append("…")
            break
        out.append(ch)
        w += cw
    return "".join(out)


def table(result) -> str:
    lines = []
    shown = f"{len(result.hits)} shown" if result.hits else "none shown"
    relaxed = " (no document has every word: partial matches)" if result.relaxed else ""
    lines.append(f"{result.total} results, page {result.page}/{result.pages}, {shown}"
                 f"{relaxed}, {result.took_ms:.0f} ms")
    start = (result.request.page - 1) * result.request.size
    for n, h in enumerate(result.hits, start + 1):
        meta = " | ".join(x for x in (h.pub_date or (str(h.year) if h.year else ""),
                                      h.agency, h.doc_no, h.doc_type) if x)
        lines.append(f"{n:>3}. {_cut(h.title, 70)}")
        lines.append(f"     {meta}  [{h.id}]")
        if h.snippet_text:
            lines.append(f"     {_cut(h.snippet_text, 140)}")
    for name, facet in result.facets.items():
        if facet.values:
            vals = ", ".join(f"{'*' if v.selected else ''}{v.value} ({v.count})"
                             for v in facet.values[:6])
            lines.append(f"  {name}: {vals}")
    for s in result.suggestions:
        lines.append(f"  try: {s['label']} ({s.get('count', '?')})")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from search_app.search import QueryError, SearchRequest

    filters = {k: v for k, v in (("agency", args.agency), ("region", args.region),
                                 ("year", args.year),
                                 ("classification", args.classification),
                                 ("doc_type", args.doc_type), ("validity", args.validity))
               if v}
    request = SearchRequest(q=" ".join(args.query), filters=filters, sort=args.sort,
                            page=args.page, size=args.limit)
    backend = open_or_fail(args.index, args)
    from indexer.typesense.connection import ClusterUnavailable

    try:
        result = backend.search(request)
    except QueryError as exc:
        raise CliError(f"{exc.message} ({exc.code})") from None
    except ClusterUnavailable as exc:
        raise CliError(str(exc)) from None
    finally:
        backend.close()
    if args.json:
        sys.stdout.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(table(result) + "\n")
    return 0
