"""The JSON API: /api/search, /api/documents/<id>, /api/stats.

`/api/search` returns exactly ``SearchResult.to_json()`` (the same envelope as
``gongkai search --json``) plus ``next``/``previous``: absolute URLs of the neighbouring
pages, null at the ends. Errors use the one shape from `errors.py`.
"""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request, url_for

from search_app.web.backend import get_backend
from search_app.web.params import parse_doc_id, parse_q, parse_search_request, with_changes
from search_app.web.present import search_url

bp = Blueprint("api", __name__, url_prefix="/api")

SIMILAR_LIMIT = 5


@bp.get("/search")
def search():
    req = parse_search_request(request.args)
    result = get_backend().search(req)
    body = result.to_json()
    body["next"] = (search_url(with_changes(req, page=req.page + 1), "api.search",
                               external=True, include_size=True)
                    if req.page < result.pages else None)
    body["previous"] = (search_url(with_changes(req, page=req.page - 1), "api.search",
                                   external=True, include_size=True)
                        if req.page > 1 else None)
    return jsonify(body)


@bp.get("/documents/<doc_id>")
def document(doc_id: str):
    doc_id = parse_doc_id(doc_id)
    if doc_id is None:
        abort(404)
    q = parse_q(request.args)
    backend = get_backend()
    doc = backend.document(doc_id, q)
    if doc is None:
        abort(404)
    body = dict(doc)
    body["permalink"] = url_for("views.document", doc_id=doc_id, _external=True)
    body["similar"] = [hit.to_json() for hit in backend.more_like_this(doc_id, SIMILAR_LIMIT)]
    return jsonify(body)


@bp.get("/stats")
def stats():
    return jsonify(get_backend().stats())
