"""Annual reports compared: /reports (every body and year), /reports/<agency> (one body
over the years, as an SVG chart and a table), their JSON twins under /api/reports and the
CSV at /reports.csv. The filters and the sort live in the URL."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, abort, jsonify, render_template, request, url_for

from search_app.search import reports as R
from search_app.search.types import QueryError, SearchRequest
from search_app.web.backend import get_backend
from search_app.web.report_chart import SERIES, chart_svg

bp = Blueprint("reports", __name__)

_PARAMS = ("agency", "region", "year", "sort")
MAX_PARAM_CHARS = 200


def _param(name: str) -> str:
    value = request.args.get(name, "").strip()
    if len(value) > MAX_PARAM_CHARS:
        raise QueryError("bad-filter", f"{name} 过长：最多 {MAX_PARAM_CHARS} 个字符")
    return value


def _query(agency: str | None = None) -> R.ReportQuery:
    sort, descending = R.parse_sort(_param("sort"))
    return R.ReportQuery(agency=agency if agency is not None else _param("agency"),
                         region=_param("region"), years=R.parse_years(_param("year")),
                         sort=sort, descending=descending)


def _all_rows() -> list[dict]:
    return R.report_rows(get_backend().report_documents())


def _url(endpoint: str, **changes) -> str:
    """*endpoint* with this request's filters and sort, and *changes*."""
    params = {k: request.args.get(k, "").strip() for k in _PARAMS}
    params.update(changes)
    params = {k: v for k, v in params.items() if v}
    base = url_for(endpoint)
    return f"{base}?{urlencode(params)}" if params else base


def _sort_links(query: R.ReportQuery) -> dict[str, str]:
    """Each column heading's link: its own sort, or the other direction when it is the
    current one."""
    out = {}
    for key in R.SORT_KEYS:
        flipped = ("+" if query.descending else "-") + key
        out[key] = _url("reports.index", sort=flipped if key == query.sort else key)
    return out


def _json_body(rows: list[dict], query: R.ReportQuery) -> dict:
    return {
        "filters": {"agency": query.agency, "region": query.region,
                    "year": _param("year")},
        "sort": ("-" if query.descending else "+") + query.sort,
        "total": len(rows),
        "figures": R.FIGURE_DEFINITIONS,
        "rows": [dict(r, permalink=url_for("views.document", doc_id=r["id"], _external=True))
                 for r in rows],
    }


@bp.get("/reports")
def index():
    query = _query()
    every = _all_rows()
    rows = R.select(every, query)
    regions = sorted({r["region"].split("/")[0] for r in every if r.get("region")})
    return render_template(
        "reports.html", rows=rows, query=query, figures=R.FIGURES,
        reporters=R.reporters(every), regions=regions, year=_param("year"),
        sort_links=_sort_links(query), req=SearchRequest(),
        api_url=_url("reports.api_index"), csv_url=_url("reports.csv"))


@bp.get("/api/reports")
def api_index():
    query = _query()
    return jsonify(_json_body(R.select(_all_rows(), query), query))


@bp.get("/reports.csv")
def csv():
    query = _query()
    rows = R.select(_all_rows(), query)
    text = R.csv_text(rows, lambda doc_id: url_for("views.document", doc_id=doc_id,
                                                   _external=True))
    # A byte-order mark: Excel opens UTF-8 CSV as UTF-8 only with one.
    return Response("\ufeff" + text, mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="reports.csv"'})


def _agency_rows(agency: str) -> tuple[R.ReportQuery, list[dict]]:
    query = _query(agency)
    query.sort, query.descending = "report_year", False
    rows = R.select(_all_rows(), query)
    if not rows:
        abort(404)
    return query, rows


@bp.get("/reports/<path:agency>")
def agency_page(agency: str):
    query, rows = _agency_rows(agency)
    chart = chart_svg(rows, lambda r: url_for("views.document", doc_id=r["id"]))
    return render_template(
        "report_agency.html", agency=agency, rows=rows, figures=R.FIGURES, chart=chart,
        series=SERIES, req=SearchRequest(),
        api_url=url_for("reports.api_agency", agency=agency),
        csv_url=url_for("reports.csv", agency=agency, sort="+report_year"))


@bp.get("/api/reports/<path:agency>")
def api_agency(agency: str):
    query, rows = _agency_rows(agency)
    return jsonify(_json_body(rows, query))
