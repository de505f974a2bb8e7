"""The JSON API: /api/search, /api/documents/<id>, /api/stats.

`/api/search` returns exactly ``SearchResult.to_json()`` (the same envelope as
``gongkai search --json``) plus ``next``/``previous``: absolute URLs of the neighbouring
pages, null at the ends. Errors use the one shape from `errors.py`.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request, url_for

from search_app.web.backend import document_or_404, get_backend
from search_app.web.params import parse_search_request, with_changes
from search_app.web.present import search_url

bp = Blueprint("api", __name__, url_prefix="/api")



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
    doc, _q, similar = document_or_404(doc_id)
    body = dict(doc)
    body["permalink"] = url_for("views.document", doc_id=doc["id"], _external=True)
    body["similar"] = [hit.to_json() for hit in similar]
    return jsonify(body)


@bp.get("/stats")
def stats():
    return jsonify(get_backend().stats())
