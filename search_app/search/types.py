"""The backend-neutral search interface: plain dataclasses in and out.

The web app, the JSON API and the command line build a `SearchRequest`, hand it to a
backend (``whoosh_backend.WhooshBackend`` or ``typesense_backend.TypesenseBackend``) and render the
`SearchResult`. Nothing here imports Flask or Whoosh.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Protocol

# Facet fields, in display order. Filters use the same names.
FACETS = ("agency", "region", "year", "classification", "doc_type", "report_year",
          "report_format")
FILTERS = FACETS + ("validity",)
SORTS = ("relevance", "newest", "oldest")

MAX_QUERY_CHARS = 500
MAX_QUERY_TERMS = 64
MAX_PAGE_SIZE = 100
MAX_RESULT_DEPTH = 1000  # page * size may not exceed this


class QueryError(ValueError):
    """A request the engine refuses, with a one-line message meant for the user.

    ``code`` is a stable slug for the API error shape (``query-too-long``,
    ``too-many-terms``, ``nesting-too-deep``, ``bad-year``, ``page-too-deep`` ...)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class SearchRequest:
    q: str = ""
    # Facet filters: several values of one facet combine with OR, facets with AND.
    # year values are "2020" or ranges "2018-2020"; classification matches either level.
    filters: dict[str, list[str]] = field(default_factory=dict)
    sort: str = "relevance"
    page: int = 1
    size: int = 10
    facet_limit: int = 10
    snippets: bool = True


@dataclass
class Hit:
    id: str
    title: str
    agency: str
    pub_date: str
    year: int | None
    classification: str
    doc_type: str
    doc_no: str
    url: str
    source: str
    score: float
    snippet: str = ""  # HTML-safe, matches wrapped in <mark>
    snippet_text: str = ""  # plain text, no markup
    title_html: str = ""  # HTML-safe title with matches marked
    written_date: str = ""  # 成文日期, the day it was signed; pub_date is 发布日期
    region: str = ""  # "省/市/县" of the agency

    def to_json(self) -> dict:
        """The public JSON form (``gongkai search --json`` and ``/api/search``)."""
        fields = asdict(self)
        beside = {"agency": "region", "pub_date": "written_date"}  # key → the one after it
        moved = {after: fields.pop(after) for after in beside.values()}
        d = {}
        for key, value in fields.items():
            d[key] = value
            if key in beside:
                d[beside[key]] = moved[beside[key]]
        d["snippet"] = self.snippet_text
        d["snippet_html"] = self.snippet
        d.pop("snippet_text")
        d.pop("title_html")
        return d


@dataclass
class FacetValue:
    value: str
    count: int
    selected: bool = False


@dataclass
class Facet:
    name: str
    values: list[FacetValue]
    distinct: int  # number of distinct values in the (otherwise filtered) result set


@dataclass
class SearchResult:
    request: SearchRequest
    total: int
    hits: list[Hit]
    facets: dict[str, Facet]
    took_ms: float = 0.0
    # True when no document matched every word and the results are those that match
    # most of them ("fallback to partial matches").
    relaxed: bool = False
    suggestions: list[dict] = field(default_factory=list)  # [{"label", "request": {...}}]

    @property
    def page(self) -> int:
        return self.request.page

    @property
    def pages(self) -> int:
        size = max(1, self.request.size)
        reachable = min(self.total, MAX_RESULT_DEPTH)
        return max(1, -(-reachable // size))

    def to_json(self) -> dict:
        """The envelope of ``gongkai search --json``; the API adds next/previous URLs."""
        return {
            "query": self.request.q,
            "filters": self.request.filters,
            "sort": self.request.sort,
            "total": self.total,
            "page": self.request.page,
            "size": self.request.size,
            "pages": self.pages,
            "relaxed": self.relaxed,
            "took_ms": round(self.took_ms, 1),
            "results": [h.to_json() for h in self.hits],
            "facets": {
                name: [{"value": v.value, "count": v.count, "selected": v.selected}
                       for v in f.values]
                for name, f in self.facets.items()
            },
            "facet_distinct": {name: f.distinct for name, f in self.facets.items()},
            "suggestions": self.suggestions,
        }


def check_request(req: SearchRequest) -> None:
    """Sort, page and size a backend accepts (QueryError otherwise), before any search."""
    if req.sort not in SORTS:
        raise QueryError("bad-sort", f"sort must be one of {', '.join(SORTS)}")
    if not isinstance(req.page, int) or req.page < 1:
        raise QueryError("bad-page", "page must be 1 or more")
    if not isinstance(req.size, int) or not 1 <= req.size <= MAX_PAGE_SIZE:
        raise QueryError("bad-size", f"size must be between 1 and {MAX_PAGE_SIZE}")
    if req.page * req.size > MAX_RESULT_DEPTH:
        raise QueryError("page-too-deep",
                         f"only the first {MAX_RESULT_DEPTH} results can be paged through")


class SearchBackend(Protocol):
    def search(self, request: SearchRequest) -> SearchResult: ...

    def document(self, doc_id: str, q: str = "") -> dict | None:
        """Every stored field of one document (``stored_to_dict`` shape) plus
        ``body_html`` with the query's matches marked when *q* is given."""

    def more_like_this(self, doc_id: str, limit: int = 5) -> list[Hit]: ...

    def report_documents(self) -> list[dict]:
        """Every annual report (a document with a ``report_format``): its stored fields
        without the body (`search_app.search.reports` turns them into figures)."""

    def stats(self) -> dict:
        """{"documents": N, "facets": {name: [{"value", "count"}...]}, "last_modified"}"""

    def close(self) -> None: ...
