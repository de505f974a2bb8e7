"""One error shape for every failure: ``{"error": {"code": ..., "message": ...}}`` for the
API and feeds, a plain HTML page for the HTML routes; never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from indexer.typesense.connection import ClusterUnavailable
from search_app.search.types import MAX_QUERY_CHARS, QueryError, SearchRequest
from search_app.web.backend import IndexUnavailable

log = logging.getLogger(__name__)

# Stable slugs for the statuses werkzeug raises; clients switch on these, not on text.
_HTTP_CODES = {
    400: "bad-request",
    404: "not-found",
    405: "method-not-allowed",
    413: "request-too-large",
    414: "uri-too-long",
    429: "rate-limited",
    431: "headers-too-large",
    500: "internal-error",
    503: "index-unavailable",
}

_MESSAGES = {
    400: "请求有误。",
    404: "没有找到这个页面或文件。",
    405: "不支持这种请求方法。",
    414: "请求网址过长：查询和筛选条件加起来最多 256 KB。",
    429: "请求过于频繁，请稍后再试。",
    500: "服务器内部错误，请稍后再试。",
    503: "索引尚未建立或暂时不可用，请稍后再试。",
}


class RateLimited(HTTPException):
    code = 429
    description = _MESSAGES[429]

    def __init__(self, retry_after: int):
        super().__init__()
        self.retry_after = retry_after


def wants_json() -> bool:
    """API, export and feed routes answer in JSON; pages answer in HTML."""
    path = request.path
    return path.startswith("/api/") or path.endswith((".atom", ".csv", ".json"))


def error_response(status: int, code: str, message: str, headers: dict | None = None):
    if wants_json():
        response = jsonify({"error": {"code": code, "message": message}})
    else:
        # The header search box keeps what the user typed, so a bad query can be fixed;
        # a query string too long to parse (414) is not read at all.
        q = request.args.get("q", "")[:MAX_QUERY_CHARS] if status != 414 else ""
        response = make_response(render_template(
            "error.html", status=status, code=code, message=message, req=SearchRequest(q=q)))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(QueryError)
    def _query_error(exc: QueryError):
        return error_response(400, exc.code, exc.message)

    @app.errorhandler(RateLimited)
    def _rate_limited(exc: RateLimited):
        return error_response(429, "rate-limited", _MESSAGES[429],
                              {"Retry-After": str(exc.retry_after)})

    @app.errorhandler(IndexUnavailable)
    def _unavailable(exc: IndexUnavailable):
        return error_response(503, "index-unavailable", _MESSAGES[503], {"Retry-After": "30"})

    @app.errorhandler(ClusterUnavailable)
    def _cluster_down(exc: ClusterUnavailable):
        # A Typesense cluster that kept failing through the read retries (every node
        # down, or no quorum): the same answer as an index that is not there yet.
        log.warning("search cluster unavailable: %s", exc)
        return error_response(503, "index-unavailable", _MESSAGES[503], {"Retry-After": "10"})

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
        code = _HTTP_CODES.get(status, f"http-{status}")
        message = _MESSAGES.get(status) or (exc.description or "").strip() or code
        headers = {}
        if status == 405 and getattr(exc, "valid_methods", None):
            headers["Allow"] = ", ".join(exc.valid_methods)
        return error_response(status, code, message, headers)

    @app.errorhandler(Exception)
    def _internal(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal-error", _MESSAGES[500])
