"""Request parameters → a typed `SearchRequest`, and back to URL parameters.

One small ``parse_*`` function per parameter, each validating one value and raising
`QueryError` (→ 400 in the one error shape) with a stable code. The HTML pages, the JSON
API and the exports all parse through `parse_search_request` and build their links with
`request_params`, so a page and its JSON twin can never disagree about what was asked.
"""

from __future__ import annotations

import re
import unicodedata

from werkzeug.datastructures import MultiDict

from search_app.search.types import (
    MAX_PAGE_SIZE,
    MAX_QUERY_CHARS,
    MAX_RESULT_DEPTH,
    SORTS,
    QueryError,
    SearchRequest,
)

# URL parameter → SearchRequest.filters key. "type" reads better in a URL than doc_type.
FILTER_PARAMS = {
    "agency": "agency",
    "region": "region",
    "year": "year",
    "classification": "classification",
    "type": "doc_type",
    "validity": "validity",
    "report_year": "report_year",
    "report_format": "report_format",
}
PARAM_FOR_FILTER = {v: k for k, v in FILTER_PARAMS.items()}

DEFAULT_SIZE = 10
# A facet value is a short label; anything longer is not one of ours.
MAX_FILTER_CHARS = 200
# Several values of one facet combine with OR; a hundred of them is not a person clicking.
MAX_FILTER_VALUES = 20
MAX_DOC_ID_CHARS = 64

_YEAR = re.compile(r"(\d{4})(?:\s*-\s*(\d{4}))?")
_DOC_ID = re.compile(rf"[0-9A-Za-z]{{1,{MAX_DOC_ID_CHARS}}}")
# C0/C1 controls other than whitespace never belong in a query; they only break logs/XML.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _clean(value: str) -> str:
    return _CONTROLS.sub("", unicodedata.normalize("NFC", value)).strip()


def parse_q(args: MultiDict) -> str:
    q = _clean(args.get("q", ""))
    if len(q) > MAX_QUERY_CHARS:
        raise QueryError("query-too-long",
                         f"查询过长：最多 {MAX_QUERY_CHARS} 个字符（当前 {len(q)} 个）。")
    return q


def parse_year(value: str) -> str:
    """"2020" or "2018-2020" (normalised, ordered); anything else is bad-year."""
    m = _YEAR.fullmatch(value)
    if not m:
        raise QueryError("bad-year", f"年份应为 2020 或 2018-2020 的形式，收到：{value[:40]}")
    start, end = int(m.group(1)), int(m.group(2) or m.group(1))
    if not (1900 <= start <= 2100 and 1900 <= end <= 2100):
        raise QueryError("bad-year", f"年份超出范围（1900–2100）：{value[:40]}")
    if start > end:
        raise QueryError("bad-year", f"年份范围起点晚于终点：{value[:40]}")
    return str(start) if start == end else f"{start}-{end}"


def parse_filters(args: MultiDict) -> dict[str, list[str]]:
    """Repeated parameters (``agency=A&agency=B``) are OR-ed values of one facet."""
    filters: dict[str, list[str]] = {}
    for param, key in FILTER_PARAMS.items():
        values: list[str] = []
        for raw in args.getlist(param):
            value = _clean(raw)
            if not value:
                continue
            if len(value) > MAX_FILTER_CHARS:
                raise QueryError("bad-filter",
                                 f"筛选条件 {param} 过长：最多 {MAX_FILTER_CHARS} 个字符。")
            if key == "year":
                value = parse_year(value)
            if value not in values:
                values.append(value)
        if len(values) > MAX_FILTER_VALUES:
            raise QueryError("bad-filter",
                             f"筛选条件 {param} 最多 {MAX_FILTER_VALUES} 个取值。")
        if values:
            filters[key] = values
    return filters


def parse_sort(args: MultiDict) -> str:
    sort = args.get("sort", "").strip() or "relevance"
    if sort not in SORTS:
        raise QueryError("bad-sort", f"排序方式应为 {'、'.join(SORTS)} 之一，收到：{sort[:40]}")
    return sort


def _positive_int(args: MultiDict, name: str, default: int, code: str) -> int:
    raw = args.get(name, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise QueryError(code, f"参数 {name} 应为正整数，收到：{raw[:40]}")
    value = int(raw)
    if value < 1:
        raise QueryError(code, f"参数 {name} 应为正整数，收到：{raw[:40]}")
    return value


def parse_page(args: MultiDict) -> int:
    return _positive_int(args, "page", 1, "bad-page")


def parse_size(args: MultiDict, default: int = DEFAULT_SIZE) -> int:
    size = _positive_int(args, "size", default, "bad-size")
    if size > MAX_PAGE_SIZE:
        raise QueryError("bad-size", f"每页最多 {MAX_PAGE_SIZE} 条，收到：{size}")
    return size


def check_depth(page: int, size: int) -> None:
    if page * size > MAX_RESULT_DEPTH:
        raise QueryError("page-too-deep",
                         f"只能翻阅前 {MAX_RESULT_DEPTH} 条结果；请加筛选条件缩小范围。")


def parse_search_request(args: MultiDict, *, allow_size: bool = True,
                         facet_limit: int = 10) -> SearchRequest:
    """The whole search request; unknown parameters (utm_*, …) are ignored."""
    page = parse_page(args)
    size = parse_size(args) if allow_size else DEFAULT_SIZE
    check_depth(page, size)
    return SearchRequest(q=parse_q(args), filters=parse_filters(args), sort=parse_sort(args),
                         page=page, size=size, facet_limit=facet_limit)


def parse_doc_id(value: str) -> str | None:
    """A document id, or None when it cannot be one (→ 404, never a file lookup)."""
    return value if _DOC_ID.fullmatch(value or "") else None


def request_params(req: SearchRequest, *, page: int | None = None,
                   include_size: bool = False) -> list[tuple[str, str]]:
    """URL parameters that reproduce *req*: defaults left out so links stay short."""
    params: list[tuple[str, str]] = []
    if req.q:
        params.append(("q", req.q))
    for param, key in FILTER_PARAMS.items():
        for value in req.filters.get(key, []):
            params.append((param, str(value)))
    if req.sort != "relevance":
        params.append(("sort", req.sort))
    page = req.page if page is None else page
    if page != 1:
        params.append(("page", str(page)))
    if include_size and req.size != DEFAULT_SIZE:
        params.append(("size", str(req.size)))
    return params


def toggle_filter(req: SearchRequest, key: str, value: str) -> SearchRequest:
    """A copy of *req* with *value* added to (or removed from) facet *key*, on page 1."""
    filters = {k: list(v) for k, v in req.filters.items()}
    values = filters.setdefault(key, [])
    if value in values:
        values.remove(value)
    else:
        values.append(value)
    if not values:
        del filters[key]
    return SearchRequest(q=req.q, filters=filters, sort=req.sort, page=1, size=req.size,
                         facet_limit=req.facet_limit)


def with_changes(req: SearchRequest, **changes) -> SearchRequest:
    fields = {"q": req.q, "filters": req.filters, "sort": req.sort, "page": req.page,
              "size": req.size, "facet_limit": req.facet_limit, "snippets": req.snippets}
    fields.update(changes)
    return SearchRequest(**fields)


def request_from_suggestion(base: SearchRequest, suggestion: dict) -> SearchRequest | None:
    """The backend's suggestion ``{"label", "request": {...}}`` as a request, or None
    when it does not describe one we can link to."""
    data = suggestion.get("request") if isinstance(suggestion, dict) else None
    if not isinstance(data, dict):
        return None
    filters = data.get("filters", {})
    if not isinstance(filters, dict):
        return None
    return SearchRequest(
        q=str(data.get("q", "")),
        filters={str(k): [str(v) for v in (vs if isinstance(vs, list) else [vs])]
                 for k, vs in filters.items() if k in PARAM_FOR_FILTER},
        sort=data.get("sort", base.sort) if data.get("sort") in SORTS else base.sort,
        page=1, size=base.size, facet_limit=base.facet_limit)
