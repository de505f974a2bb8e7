"""Annual disclosure reports (政府信息公开工作年度报告) as data.

A report's standard tables (二 主动公开, 三 依申请公开, 四 复议诉讼; 国办公开办函〔2019〕60号 and
〔2021〕30号) become `Record.report`, the same structure from HTML, PDF and text
renderings; the year reported on becomes `report_year` and the template `report_format`
("2019", "2021", or "free text" for reports that state their figures in prose).

Stages, a file each: `template` (the tables as data), `sources` (each format as cell
text), `tables` (rows found by their labels), `recover` (cells a text rendering ran
together, from the tables' arithmetic), `extract` (the structure), `checks` (the
arithmetic kept as findings), `prose` (figures of free-text reports), `recognise`.
"""

from __future__ import annotations

import re
from pathlib import Path

from indexer.annual import checks as _checks
from indexer.annual import extract, prose, recognise, sources
from indexer.ingest import HTML_SUFFIXES
from indexer.record import Record

FREE_TEXT = "free text"
_AGENCY_END = ("人民政府", "委员会", "管理委员会", "办公室", "办公厅", "局", "厅", "实验区", "政府")


def cell_text_for(record: Record, path: Path | None) -> sources.CellText:
    """The cell text of the file a record came from: its HTML or PDF when it has one
    (their cells are divided), else the record's body."""
    if path is not None:
        suffix = path.suffix.lower()
        try:
            if suffix in HTML_SUFFIXES:
                return sources.from_html(path.read_bytes())
            if suffix == ".pdf":
                return sources.from_pdf(path)
        except Exception:  # noqa: BLE001 - the reader read this file: its body is enough
            pass
    return sources.from_text(record.body)


def build_report(record: Record, cells: sources.CellText) -> dict:
    """The `report` of a record known to be an annual report."""
    report: dict = {"reporter": recognise.reporter(record.title) or record.agency,
                    "source_kind": cells.kind}
    tables = extract.read_tables(cells)
    if tables is None:
        report["template"] = None
        report["stated"] = prose.stated_figures(record.body)
        return report
    report.update(tables)
    found = _checks.check(report)
    report["checks"] = found
    report["checks_summary"] = _checks.summary(found)
    report["cells"] = _cell_counts(report)
    return report


def _cell_counts(report: dict) -> dict:
    values = [v for row in report["requests"].values() for v in row.values()]
    for group in ("review", "suit_direct", "suit_after_review"):
        values.extend(report[group].values())
    for item in report["proactive"].values():
        values.extend(item.values())
    return {"known": sum(v is not None for v in values), "unknown": sum(v is None for v in values)}


def attach(record: Record, path: Path | None = None) -> Record:
    """Fill `report`, `report_year` and `report_format` when *record* is an annual
    report; any other record is returned as it is."""
    if not recognise.is_annual_report(record.title, record.body, record.doc_type):
        return record
    _complete_title(record)
    record.doc_type = record.doc_type or "年度报告"
    record.report_year = recognise.report_year(record.title, record.body, record.year)
    record.report = build_report(record, cell_text_for(record, path))
    record.report_format = record.report.get("template") or FREE_TEXT
    if not record.agency:
        who = record.report["reporter"]
        if who.endswith(_AGENCY_END):
            from indexer.regions import region_of

            record.agency = who
            record.region = record.region or region_of(who)
    return record


def _complete_title(record: Record) -> None:
    """A title printed on two lines ("洪泽区人民政府" / "2023年政府信息公开工作年度报告")
    is read as its first line by the PDF reader: join the second when the body starts
    with it."""
    if "报告" in record.title:
        return
    for line in record.body.splitlines()[:4]:
        line = line.strip()
        if re.search(r"\d{4}\s*年.*年度报告$", line) and len(line) <= 60:
            record.title = f"{record.title}{line}" if record.title else line
            return
