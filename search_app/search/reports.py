"""Annual reports compared: one row of key figures per reporting body and year.

Backend-neutral: a backend's `report_documents()` gives each report's stored fields
(with `report`, see `indexer.annual`); this module picks one report per body and year,
computes the figures a journalist compares, filters and sorts them. The web pages, their
JSON twins, the CSV and `gongkai reports` all print these rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from search_app.search.query_parser import parse_year
from search_app.search.types import QueryError

# (key, label, what it is). The order is the column order of every rendering.
FIGURES = (
    ("received", "本年新收申请", "requests.new.total"),
    ("carried_over", "上年结转", "requests.carried_over.total"),
    ("closed", "办结总计", "requests.closed.total"),
    ("granted", "予以公开", "requests.granted.total"),
    ("partly_granted", "部分公开", "requests.partly_granted.total"),
    ("granted_share", "公开率（全部或部分）", "(granted + partly_granted) / closed"),
    ("denied", "不予公开", "requests.denied_1..8.total"),
    ("unable", "无法提供", "requests.unable_1..3.total"),
    ("not_processed", "不予处理", "requests.not_processed_1..5.total"),
    ("carried_forward", "结转下年度", "requests.carried_forward.total"),
    ("reviews", "行政复议", "review.total"),
    ("reviews_corrected", "复议纠正", "review.corrected"),
    ("lawsuits", "行政诉讼", "suit_direct.total + suit_after_review.total"),
    ("checks_failed", "不相符的勾稽关系", "checks that do not hold"),
)
FIGURE_KEYS = tuple(k for k, _l, _d in FIGURES)
# The figures as the JSON bodies (API, `gongkai reports --json`) describe them.
FIGURE_DEFINITIONS = [{"key": k, "label": label, "definition": d} for k, label, d in FIGURES]
# Columns of a row before the figures.
ROW_KEYS = ("reporter", "report_year", "report_format", "agency", "region", "pub_date",
            "id", "title", "figures_from")
SORT_KEYS = ("reporter", "report_year", "pub_date", *FIGURE_KEYS)
# Cells from the tables beat figures stated in prose; divided cells beat recovered ones.
_SOURCE_RANK = {"html": 3, "pdf": 3, "text": 2}


@dataclass
class ReportQuery:
    agency: str = ""  # the reporting body (or the publishing agency), exactly
    region: str = ""  # "省", "省/市" or "省/市/县": any report inside it
    years: tuple[int, int] | None = None
    sort: str = "report_year"
    descending: bool = True


def parse_years(value: str) -> tuple[int, int] | None:
    """"2023" or "2019-2023" (None for ""), as the search's year filter reads them, except
    that a range written backwards is refused: QueryError('bad-year')."""
    value = (value or "").strip()
    if not value:
        return None
    lo, sep, hi = value.partition("-")
    if sep and lo.strip().isdigit() and hi.strip().isdigit() and int(lo) > int(hi):
        raise QueryError("bad-year", f"年份范围应从小到大，而不是 {value!r}")
    return parse_year(value)


def parse_sort(value: str) -> tuple[str, bool]:
    """"received" (largest first for figures, newest first for years) or "-received" /
    "+received" to say the direction; QueryError('bad-sort') for an unknown key."""
    value = (value or "").strip() or "report_year"
    direction = value[0] if value[0] in "+-" else ""
    key = value.lstrip("+-")
    if key not in SORT_KEYS:
        raise QueryError("bad-sort", f"sort must be one of {', '.join(SORT_KEYS)}")
    descending = direction == "-" or (not direction and key != "reporter")
    return key, descending


def _sum(rows: dict, keys: list[str]):
    values = [rows.get(k, {}).get("total") for k in keys]
    if not values or any(v is None for v in values):
        return None
    return sum(values)


def figures(report: dict | None) -> tuple[dict, str]:
    """The key figures of one report, and where they come from ("tables", "prose" or
    ""). A figure whose cells are unknown is None."""
    out = dict.fromkeys(FIGURE_KEYS)
    if not report:
        return out, ""
    req = report.get("requests")
    if not req:
        stated = {s["key"]: s["value"] for s in report.get("stated") or []}
        out["received"] = stated.get("requests_total")
        out["reviews"] = stated.get("review_total")
        out["lawsuits"] = stated.get("suit_total")
        return out, "prose" if stated else ""
    for key in ("received", "carried_over", "closed", "granted", "partly_granted",
                "carried_forward"):
        row = {"received": "new"}.get(key, key)
        out[key] = (req.get(row) or {}).get("total")
    out["denied"] = _sum(req, [f"denied_{i}" for i in range(1, 9)])
    out["unable"] = _sum(req, [f"unable_{i}" for i in range(1, 4)])
    out["not_processed"] = _sum(req, [f"not_processed_{i}" for i in range(1, 6)])
    if out["granted"] is not None and out["partly_granted"] is not None and out["closed"]:
        out["granted_share"] = round((out["granted"] + out["partly_granted"]) / out["closed"], 4)
    review = report.get("review") or {}
    out["reviews"] = review.get("total")
    out["reviews_corrected"] = review.get("corrected")
    suits = [(report.get(g) or {}).get("total") for g in ("suit_direct", "suit_after_review")]
    out["lawsuits"] = None if None in suits else sum(suits)
    out["checks_failed"] = (report.get("checks_summary") or {}).get("failed")
    return out, "tables"


def _rank(doc: dict) -> tuple:
    report = doc.get("report") or {}
    cells = (report.get("cells") or {}).get("known", 0)
    return (bool(report.get("requests")), _SOURCE_RANK.get(report.get("source_kind"), 0),
            cells, doc.get("pub_date") or "", doc.get("id") or "")


def report_rows(documents: list[dict]) -> list[dict]:
    """One row per reporting body and year: its best report (tables before prose, HTML
    and PDF before text renderings, more known cells first)."""
    best: dict[tuple, dict] = {}
    for doc in documents:
        if not doc.get("report_year"):
            continue
        reporter = (doc.get("report") or {}).get("reporter") or doc.get("agency") or ""
        key = (reporter, doc["report_year"])
        if key not in best or _rank(doc) > _rank(best[key]):
            best[key] = dict(doc, reporter=reporter)
    rows = []
    for doc in best.values():
        figs, origin = figures(doc.get("report"))
        row = {k: doc.get(k) for k in ROW_KEYS if k != "figures_from"}
        row["figures_from"] = origin
        row.update(figs)
        rows.append(row)
    return rows


def select(rows: list[dict], query: ReportQuery) -> list[dict]:
    """The rows *query* asks for, in its order (rows without the sort figure last)."""
    out = []
    for row in rows:
        if query.agency and query.agency not in (row["reporter"], row["agency"]):
            continue
        region = row.get("region") or ""
        if query.region and not (region == query.region or region.startswith(query.region + "/")):
            continue
        if query.years and not query.years[0] <= row["report_year"] <= query.years[1]:
            continue
        out.append(row)
    key = query.sort
    known = [r for r in out if r.get(key) not in (None, "")]
    unknown = [r for r in out if r.get(key) in (None, "")]
    # A stable order within ties: body, then year.
    known.sort(key=lambda r: (r["reporter"], r["report_year"]))
    known.sort(key=lambda r: r[key], reverse=query.descending)
    unknown.sort(key=lambda r: (r["reporter"], r["report_year"]))
    return known + unknown


def reporters(rows: list[dict]) -> list[tuple[str, int]]:
    """Reporting bodies and their number of reports, most reports first."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["reporter"]] = counts.get(row["reporter"], 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


# --- CSV ------------------------------------------------------------------------------

CSV_COLUMNS = ROW_KEYS + FIGURE_KEYS


def csv_text(rows: list[dict], permalink=None) -> str:
    """The rows as CSV (a header line first), with a `permalink` column when given a
    function of the document id."""
    from search_app.search.csv_lines import csv_line

    header = list(CSV_COLUMNS) + (["permalink"] if permalink else [])
    lines = [csv_line(header)]
    for row in rows:
        values = [row.get(k) for k in CSV_COLUMNS]
        if permalink:
            values.append(permalink(row["id"]))
        lines.append(csv_line(values))
    return "".join(lines)
