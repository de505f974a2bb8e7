"""Search over the index: the backend-neutral types, and `open_backend` for the Whoosh
backend (imported on first use, so importing this package does not load Whoosh)."""

from __future__ import annotations

import os
from pathlib import Path

from search_app.search.types import (
    FACETS,
    FILTERS,
    MAX_PAGE_SIZE,
    MAX_QUERY_CHARS,
    MAX_QUERY_TERMS,
    MAX_RESULT_DEPTH,
    SORTS,
    Facet,
    FacetValue,
    Hit,
    QueryError,
    SearchBackend,
    SearchRequest,
    SearchResult,
)

__all__ = [
    "FACETS", "FILTERS", "MAX_PAGE_SIZE", "MAX_QUERY_CHARS", "MAX_QUERY_TERMS",
    "MAX_RESULT_DEPTH", "SORTS", "Facet", "FacetValue", "Hit", "QueryError", "SearchBackend",
    "SearchRequest", "SearchResult", "default_index_dir", "open_backend",
]


def default_index_dir() -> Path:
    """``$GONGKAI_INDEX``, else ``index_data/index`` (relative to the current directory)."""
    return Path(os.environ.get("GONGKAI_INDEX") or "index_data/index")


def open_backend(index_dir: str | os.PathLike | None = None):
    """A `WhooshBackend` over *index_dir* (default: `default_index_dir()`); raises
    FileNotFoundError (``IndexMissing``) when there is no index there."""
    from search_app.search.whoosh_backend import WhooshBackend

    return WhooshBackend(index_dir if index_dir is not None else default_index_dir())
