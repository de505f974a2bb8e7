"""Is a record an annual disclosure report, which year does it report on, and who
reports?"""

from __future__ import annotations

import re

from indexer.annual import template as T

_TITLE = re.compile(r"信息公开.{0,8}年度?报告|年度报告")
_TITLE_YEAR = re.compile(r"((?:19|20)\d{2})\s*年\s*度?\s*(?:政府|政务)?\s*(?:信息公开|政务公开)")
_PERIOD = re.compile(r"统计期限[^。]{0,6}?((?:19|20)\d{2})\s*年\s*1\s*月\s*1\s*日")
# The reporting body is what the title names before the year: "平潭综合实验区2025年度…".
_REPORTER = re.compile(r"^(.{2,40}?)\s*(?:关于)?(?:19|20)\d{2}\s*年")


def is_annual_report(title: str, body: str, doc_type: str = "") -> bool:
    """Its title says so, or its text has most of the template's section headings and
    its title names no other kind of document (the notice that prescribes the template
    prints its headings too)."""
    from indexer.fields import doc_type_from_title

    if doc_type == "年度报告":
        return True
    kind = doc_type or doc_type_from_title(title or "")
    if kind and kind != "年度报告":
        return False
    if _TITLE.search(title or "") and "信息公开" in (title or ""):
        return True
    compact = re.sub(r"\s+", "", body or "")
    return sum(1 for s in T.SECTIONS if s in compact) >= 3


def report_year(title: str, body: str, pub_year: int | None) -> int | None:
    """The year reported on: the title's ("2023年度…"), else the statistics period's,
    else the year before publication (reports come out in the first quarter)."""
    for text in (title or "", re.sub(r"\s+", "", (body or "")[:3000])):
        m = _TITLE_YEAR.search(text)
        if m:
            return int(m.group(1))
    m = _PERIOD.search(re.sub(r"\s+", "", (body or "")[:5000]))
    if m:
        return int(m.group(1))
    return pub_year - 1 if pub_year else None


def reporter(title: str) -> str:
    """The body whose year is reported, as the title names it ("" when it does not)."""
    m = _REPORTER.match(re.sub(r"\s+", "", title or ""))
    return m.group(1) if m else ""
