"""HTML pages: home, search results, a document, query help."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for

from indexer.annual import template as T
from search_app.search.types import FACETS, SearchRequest
from search_app.web.backend import IndexUnavailable, document_or_404, get_backend
from search_app.web.params import (
    FILTER_PARAMS,
    parse_search_request,
    request_from_suggestion,
    toggle_filter,
    with_changes,
)
from search_app.web.present import FACET_LABELS, SORT_LABELS, facet_value_label, search_url
from search_app.web.timeline import build_timeline

bp = Blueprint("views", __name__)

# Printed names of the annual-report tables' rows and columns (document page).
REPORT_LABELS = {
    "rows": T.ROW_LABELS, "columns": T.COLUMN_LABELS, "proactive_items": T.ITEM_LABELS,
    "group_names": T.GROUP_LABELS, "groups": T.APPEAL_GROUPS,
    "request_columns": T.REQUEST_COLUMNS, "appeal_columns": T.APPEAL_COLUMNS,
    "stated": {"proactive_total": "全年主动公开信息", "requests_total": "收到申请",
               "requests_granted": "同意公开", "requests_denied": "不予公开",
               "review_total": "行政复议", "suit_total": "行政诉讼", "fees": "收费（元）"},
}

# Facet values the sidebar shows before "更多"; the rest sit in a <details> (no JS).
FACET_VISIBLE = 8
# Ask for many facet values: the timeline needs every year, the sidebar folds the rest.
PAGE_FACET_LIMIT = 100


def _is_blank(args) -> bool:
    return not any(args.get(name, "").strip() for name in ("q", "sort", *FILTER_PARAMS))


@bp.get("/")
def home():
    if not _is_blank(request.args):
        return search()
    try:
        stats = get_backend().stats()
    except IndexUnavailable:  # the home page renders before the first index is built
        stats = None
    return render_template("home.html", stats=stats, req=SearchRequest())


@bp.get("/search")
def search():
    req = parse_search_request(request.args, allow_size=False, facet_limit=PAGE_FACET_LIMIT)
    result = get_backend().search(req)
    facets = []
    for name in FACETS:
        facet = result.facets.get(name)
        if facet is None:
            continue
        chosen = set(req.filters.get(name, []))
        values = []
        for fv in facet.values:
            # The URL is the source of truth for what is selected.
            fv.selected = fv.selected or str(fv.value) in chosen
            values.append((fv, toggle_filter(req, name, str(fv.value))))
        if name == "year":  # a time axis reads best in time order
            values.sort(key=lambda pair: str(pair[0].value), reverse=True)
        facets.append({"name": name, "label": FACET_LABELS[name], "values": values,
                       "distinct": facet.distinct})
    chips = [(FACET_LABELS.get(key, key), facet_value_label(value, key),
              toggle_filter(req, key, value))
             for key, values in req.filters.items() for value in values]
    suggestions = []
    for s in result.suggestions:
        sreq = request_from_suggestion(req, s)
        if sreq is not None:
            suggestions.append((str(s.get("label") or sreq.q), s.get("count"), sreq))
    return render_template(
        "search.html", req=req, result=result, facets=facets, chips=chips,
        suggestions=suggestions, timeline=build_timeline(req, result.facets.get("year")),
        sorts=[(key, label, with_changes(req, sort=key, page=1))
               for key, label in SORT_LABELS.items()],
        pages=_page_window(result.page, result.pages),
        api_url=search_url(req, "api.search"),
        atom_url=search_url(with_changes(req, sort="relevance", page=1), "export.atom"),
        csv_url=search_url(with_changes(req, page=1), "export.csv"),
        facet_visible=FACET_VISIBLE)


def _page_window(page: int, pages: int, radius: int = 2) -> list[int | None]:
    """Page numbers to link: first, last and a window around *page*; None is a gap."""
    shown = {1, pages, *range(max(1, page - radius), min(pages, page + radius) + 1)}
    out: list[int | None] = []
    for n in sorted(shown):
        if out and out[-1] is not None and n - out[-1] > 1:
            out.append(None)
        out.append(n)
    return out


@bp.get("/documents/<doc_id>")
def document(doc_id: str):
    doc, q, similar = document_or_404(doc_id)
    return render_template("document.html", doc=doc, q=q, similar=similar,
                           req=SearchRequest(q=q), labels=REPORT_LABELS,
                           api_url=url_for("api.document", doc_id=doc["id"], q=q or None))


# (syntax, meaning, examples). Every example is a real query over the demo data
# (index_data/sample); tests/test_web_pages.py checks that each one finds documents.
HELP_ROWS = (
    ("词 词", "几个词用空格分开：都要出现（且）", ("住房公积金 提取",)),
    ('"精确短语"', "引号里的词按原样连续出现；也可以用中文引号“”或书名号《》",
     ('"住房公积金"', "“政府工作报告”", "《住房公积金管理条例》")),
    ("A OR B", "任一词出现即可（或）", ("公积金 OR 住房补贴",)),
    ("-词", "排除包含这个词的文件", ("住房 -公积金",)),
    ("( )", "括号分组", ("(公积金 OR 住房) 贷款",)),
    ("title:词", "只在标题里找", ("title:通知",)),
    ("agency:机构 / 机构:机构", "按发布机构筛选", ("agency:国务院",)),
    ("year:2020 / year:2018-2020", "按年份或年份范围筛选", ("year:2020", "year:2018-2020")),
    ("classification:分类 / 分类:分类", "按主题分类筛选", ("分类:城乡建设（含住房）",)),
    ("type:文种 / 类型:文种", "按文种筛选（通知、公告、办法……）", ("type:通知",)),
    ("文号:… / doc_no:…", "按文号查找，可以只写一部分", ("文号:国发",)),
)


@bp.get("/help")
def help_page():
    return render_template("help.html", req=SearchRequest(), help_rows=HELP_ROWS,
                           export_max_rows=current_app.config["EXPORT_MAX_ROWS"])
