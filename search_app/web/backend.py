"""The app's one search backend: opened lazily, shared by every request, closed once.

The backend (a Whoosh index reader, or a Typesense client) is thread-safe, so waitress's worker threads
share one instance; opening it per request would re-read the index each time. It is
opened on first use rather than in `create_app` so that the app can start (and say
"index not built yet" with a 503) before an index exists.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from flask import current_app, g

from search_app.search.types import SearchBackend

log = logging.getLogger(__name__)

EXTENSION = "gongkai"
# After a failed open, requests answer 503 for this long before the next attempt, so a
# broken index is logged once per interval rather than once per request.
RETRY_SECONDS = 5.0


class IndexUnavailable(Exception):
    """No index to search yet (not built, or it failed to open) → 503."""


class BackendHolder:
    def __init__(self, index_dir: str | Path, backend: SearchBackend | None = None):
        from search_app.search import is_backend_url

        # A backend URL (typesense://...) is kept as it is; anything else is a directory.
        self.url = str(index_dir) if is_backend_url(str(index_dir)) else None
        self.index_dir = Path(index_dir)
        self._backend = backend
        # A backend handed in through config belongs to the caller (tests share one
        # across apps); only one we opened ourselves is ours to close.
        self._owned = backend is None
        self._lock = threading.Lock()
        self._failed_at: float | None = None

    def get(self) -> SearchBackend:
        backend = self._backend
        if backend is not None:
            return backend
        with self._lock:
            if self._backend is None:
                now = time.monotonic()
                if self._failed_at is not None and now - self._failed_at < RETRY_SECONDS:
                    where = "the search cluster" if self.url else self.index_dir
                    raise IndexUnavailable(f"no usable index at {where}")
                try:
                    self._backend = self._open()
                except IndexUnavailable:
                    self._failed_at = now
                    raise
                self._failed_at = None
            return self._backend

    def _open(self) -> SearchBackend:
        from search_app.search import open_backend  # imported late: nothing at import

        if self.url is not None:
            try:
                return open_backend(self.url)
            except Exception as exc:  # a cluster that does not answer: 503, retried later
                log.warning("could not open the backend %s: %s", self.url.split("@")[-1], exc)
                raise IndexUnavailable("the search cluster does not answer") from exc
        if not self.index_dir.is_dir() or not any(self.index_dir.iterdir()):
            raise IndexUnavailable(f"no index at {self.index_dir}")
        try:
            return open_backend(self.index_dir)
        except Exception as exc:  # any failure to open is "not available", not a 500
            log.exception("could not open the index at %s", self.index_dir)
            raise IndexUnavailable(str(exc)) from exc

    def close(self) -> None:
        with self._lock:
            backend, self._backend = self._backend, None
        if backend is not None and self._owned:
            backend.close()


def get_backend() -> SearchBackend:
    """The backend for this request (cached on ``g`` so one request sees one backend)."""
    if "backend" not in g:
        g.backend = current_app.extensions[EXTENSION].get()
    return g.backend


SIMILAR_LIMIT = 5  # similar documents shown under a document


def document_or_404(doc_id: str) -> tuple[dict, str, list]:
    """(stored document with the query's matches marked, the query, similar documents)
    for the document page and its JSON twin, which are built from the same data.
    An id that cannot be one, or is not in the index, is a 404."""
    from flask import abort, request

    from search_app.web.params import parse_doc_id, parse_q

    doc_id = parse_doc_id(doc_id)
    if doc_id is None:
        abort(404)
    q = parse_q(request.args)
    backend = get_backend()
    doc = backend.document(doc_id, q)
    if doc is None:
        abort(404)
    return doc, q, backend.more_like_this(doc_id, SIMILAR_LIMIT)
