"""Search over the index: the backend-neutral types, and `open_backend` for either
backend: the embedded Whoosh index (a directory) or a Typesense cluster (a
``typesense://`` URL). Backends are imported on first use, so importing this package
loads neither."""

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
    "SearchRequest", "SearchResult", "default_index_dir", "default_location",
    "is_backend_url", "open_backend",
]


def default_location() -> str:
    """``$GONGKAI_BACKEND`` (a backend URL), else `default_index_dir()`."""
    return os.environ.get("GONGKAI_BACKEND") or str(default_index_dir())


def is_backend_url(location) -> bool:
    """A ``typesense://`` (or ``typesenses://``) URL rather than an index directory."""
    from indexer.typesense.connection import is_backend_url as is_url

    return isinstance(location, str) and is_url(location)


def default_index_dir() -> Path:
    """``$GONGKAI_INDEX``, else ``index_data/index`` (relative to the current directory)."""
    return Path(os.environ.get("GONGKAI_INDEX") or "index_data/index")


def open_backend(location: str | os.PathLike | None = None):
    """The backend at *location*: a `TypesenseBackend` for a ``typesense://`` URL, else a
    `WhooshBackend` over that directory (default: `default_location()`). Raises
    FileNotFoundError (``IndexMissing``) when there is no index there, ValueError
    (``BackendURLError``) for a URL that cannot be used."""
    if location is None:
        location = default_location()
    if is_backend_url(location):
        from search_app.search.typesense_backend import TypesenseBackend

        return TypesenseBackend(str(location))
    from search_app.search.whoosh_backend import WhooshBackend

    return WhooshBackend(location)
