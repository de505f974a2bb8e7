"""Exports of a whole result set: CSV for spreadsheets, Atom for feed readers.

``/api/search.csv`` walks the backend page by page and streams every match, up to
``EXPORT_MAX_ROWS`` (config, default 5,000). A backend pages only to
``MAX_RESULT_DEPTH`` (1,000) results per request, so a larger result set is exported
year by year (see `_slices`). The ``X-Total-Count`` header gives the number of matches
and ``X-Export-Rows`` the number of rows the file holds, so a truncated export is
visible before it is read.

``/search.atom`` is the newest matches of a query (sorted by date), for alerts.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, request, stream_with_context, url_for

from search_app.search.csv_lines import csv_line
from search_app.search.types import MAX_PAGE_SIZE, MAX_RESULT_DEPTH, QueryError, SearchRequest
from search_app.web.backend import get_backend
from search_app.web.params import parse_search_request, with_changes
from search_app.web.present import safe_url, search_url

bp = Blueprint("export", __name__)

EXPORT_MAX_ROWS = 5000
DEPTH = MAX_RESULT_DEPTH  # deepest result one backend request pages to
MAX_FACET_VALUES = 100  # years asked for when an export is cut by year
FEED_SIZE = 20
CSV_COLUMNS = ("id", "title", "agency", "region", "pub_date", "written_date", "year", "doc_no",
               "classification",
               "doc_type", "url", "permalink")
# XML 1.0 cannot carry these at all, escaped or not.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
ATOM_NS = "http://www.w3.org/2005/Atom"


def _year_in(year: int, values: list[str]) -> bool:
    """Whether *year* is one of the year filter's values ("2020", "2018-2020")."""
    for value in values:
        start, _, end = value.partition("-")
        if int(start) <= year <= int(end or start):
            return True
    return False


def _slices(backend, req: SearchRequest, first, cap: int) -> list[tuple[SearchRequest, int]]:
    """The requests an export walks, each with the rows it gives, in file order.

    Up to the backend's result depth that is the request itself. Past it, the result set
    is cut by year (newest year first, oldest first for ``sort=oldest``), each year a
    request of its own with its own depth, so an export reaches past the first 1,000
    matches; documents without a year are then left out (X-Export-Rows tells)."""
    depth = DEPTH
    if first.total <= depth:
        return [(req, min(first.total, cap))]
    years_result = backend.search(with_changes(req, size=1, facet_limit=MAX_FACET_VALUES))
    facet = years_result.facets.get("year")
    chosen = req.filters.get("year")
    counts = []
    for fv in facet.values if facet else []:
        value = str(fv.value)
        if value.isdigit() and fv.count and (not chosen or _year_in(int(value), chosen)):
            counts.append((int(value), fv.count))
    counts.sort(reverse=req.sort != "oldest")
    out, left = [], cap
    for year, count in counts:
        if left <= 0:
            break
        filters = dict(req.filters, year=[str(year)])
        rows = min(count, depth, left)
        out.append((with_changes(req, filters=filters), rows))
        left -= rows
    return out


@bp.get("/api/search.csv", endpoint="csv")
def csv_export():
    req = parse_search_request(request.args, allow_size=False)
    cap = int(current_app.config.get("EXPORT_MAX_ROWS", EXPORT_MAX_ROWS))
    req = with_changes(req, page=1, size=MAX_PAGE_SIZE, facet_limit=0, snippets=False)
    backend = get_backend()
    # The first page and the plan are made before the response starts, so a bad query is
    # still a 400 in the error shape rather than a broken download.
    first = backend.search(req)
    slices = _slices(backend, req, first, cap)
    expected = sum(rows for _, rows in slices)
    permalink = url_for("views.document", doc_id="ID", _external=True)

    def walk(sreq: SearchRequest, rows: int):
        result = first if sreq is req else backend.search(sreq)
        page, sent = 1, 0
        while True:
            yield from result.hits[: rows - sent]
            sent += min(len(result.hits), rows - sent)
            if sent >= rows or len(result.hits) < sreq.size:
                return
            page += 1
            try:
                result = backend.search(with_changes(sreq, page=page))
            except QueryError:  # the backend's depth limit: stop at what it allows
                return

    def lines():
        yield "\ufeff" + csv_line(CSV_COLUMNS)  # BOM: Excel reads UTF-8 Chinese only so
        for sreq, rows in slices:
            for hit in walk(sreq, rows):
                yield csv_line([hit.id, hit.title, hit.agency, hit.region, hit.pub_date,
                                 hit.written_date, hit.year,
                                 hit.doc_no, hit.classification, hit.doc_type, hit.url,
                                 permalink.replace("ID", hit.id)])

    stamp = datetime.now(UTC).strftime("%Y%m%d")
    headers = {
        "Content-Disposition": f'attachment; filename="gongkai-search-{stamp}.csv"',
        "X-Total-Count": str(first.total),
        "X-Export-Rows": str(expected),
        "Cache-Control": "no-store",
    }
    return Response(stream_with_context(lines()), mimetype="text/csv",
                    headers=headers, content_type="text/csv; charset=utf-8")


def _xml_text(value) -> str:
    return _XML_ILLEGAL.sub("", "" if value is None else str(value))


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}",
                       {k: _xml_text(v) for k, v in attrs.items()})
    if text is not None:
        el.text = _xml_text(text)
    return el


def _atom_date(pub_date: str, year) -> str:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", pub_date or ""):
        return f"{pub_date}T00:00:00Z"
    if year:
        return f"{int(year):04d}-01-01T00:00:00Z"
    return ""


@bp.get("/search.atom")
def atom():
    req = parse_search_request(request.args, allow_size=False)
    req = with_changes(req, sort="newest", page=1, size=FEED_SIZE, facet_limit=0)
    result = get_backend().search(req)

    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    self_url = search_url(with_changes(req, sort="relevance"), "export.atom", external=True)
    html_url = search_url(req, "views.search", external=True)
    label = req.q or "全部文件"
    filters = "；".join(f"{k}={'|'.join(v)}" for k, v in req.filters.items())
    _sub(feed, "id", self_url)
    _sub(feed, "title", f"Gongkai 政府信息公开：{label}" + (f"（{filters}）" if filters else ""))
    _sub(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    _sub(feed, "link", rel="alternate", type="text/html", href=html_url)
    dates = [d for d in (_atom_date(h.pub_date, h.year) for h in result.hits) if d]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    _sub(feed, "updated", max(dates) if dates else now)
    author = _sub(feed, "author")
    _sub(author, "name", "Gongkai")
    _sub(feed, "generator", "Gongkai")
    for hit in result.hits:
        permalink = url_for("views.document", doc_id=hit.id, _external=True)
        entry = _sub(feed, "entry")
        _sub(entry, "id", permalink)
        _sub(entry, "title", hit.title or hit.id)
        _sub(entry, "link", rel="alternate", type="text/html", href=permalink)
        original = safe_url(hit.url)  # a javascript: URL in the data is never a link
        if original:
            _sub(entry, "link", rel="related", href=original)
        _sub(entry, "updated", _atom_date(hit.pub_date, hit.year) or now)
        if hit.agency:
            _sub(_sub(entry, "author"), "name", hit.agency)
        if hit.classification:
            _sub(entry, "category", term=hit.classification)
        summary = " ".join(x for x in (hit.doc_no, hit.snippet_text) if x)
        if summary:
            _sub(entry, "summary", summary)
    body = ET.tostring(feed, encoding="unicode", xml_declaration=False)
    return Response('<?xml version="1.0" encoding="utf-8"?>\n' + body,
                    content_type="application/atom+xml; charset=utf-8")
