"""``gongkai reports``: annual disclosure reports compared, a row per body and year."""

from __future__ import annotations

import argparse
import json
import sys

from search_app.cli import CliError, backend_opt
from search_app.cli.search_cmd import open_or_fail

# The columns of the readable table: (figure key, heading).
_SHOWN = (("received", "新收"), ("closed", "办结"), ("granted_share", "公开率"),
          ("denied", "不予公开"), ("unable", "无法提供"), ("reviews", "复议"),
          ("lawsuits", "诉讼"), ("checks_failed", "不符"))


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "reports", help="compare annual disclosure reports",
        description="Key figures of the annual disclosure reports (政府信息公开工作年度报告) in "
                    "the index: one row per reporting body and year.")
    p.add_argument("--agency", default="", help="the reporting body or publishing agency")
    p.add_argument("--region", default="", help='"省", "省/市" or "省/市/县"')
    p.add_argument("--year", default="", help="the year reported on: 2023 or 2019-2023")
    p.add_argument("--sort", default="report_year",
                   help="a column, largest first; -col / +col for the direction")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--csv", action="store_true", help="print CSV")
    out.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--index", metavar="DIR", help="index directory (default: $GONGKAI_INDEX "
                                                  "or index_data/index)")
    backend_opt.add_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from search_app.search import reports as R
    from search_app.search.types import QueryError

    try:
        sort, descending = R.parse_sort(args.sort)
        query = R.ReportQuery(agency=args.agency.strip(), region=args.region.strip(),
                              years=R.parse_years(args.year), sort=sort,
                              descending=descending)
    except QueryError as exc:
        raise CliError(exc.message) from None
    backend = open_or_fail(args.index, args)
    try:
        rows = R.select(R.report_rows(backend.report_documents()), query)
    finally:
        backend.close()
    if args.json:
        sys.stdout.write(json.dumps({"total": len(rows), "figures": R.FIGURE_DEFINITIONS,
                                     "rows": rows}, ensure_ascii=False) + "\n")
    elif args.csv:
        sys.stdout.write(R.csv_text(rows))
    else:
        sys.stdout.write(_table(rows))
    return 0


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.0%}"
    return str(value)


def _table(rows: list[dict]) -> str:
    if not rows:
        return "no annual reports match\n"
    lines = ["\t".join(["年度", "报告机关", "格式", *(h for _k, h in _SHOWN)])]
    for row in rows:
        lines.append("\t".join([str(row["report_year"]), row["reporter"],
                                row["report_format"] or "",
                                *(_fmt(row[k]) for k, _h in _SHOWN)]))
    lines.append(f"{len(rows)} reports; — = not stated or not readable")
    return "\n".join(lines) + "\n"
