"""Fixtures for the web tests (loaded with ``pytest_plugins = ["tests.web_fixtures"]``).

The web tests run against a real index built once per session from the bundled sample
corpus (index_data/sample) through the indexer's own API, searched by the real backend:
what the pages show is what the engine finds, never canned results.

Test modules take everything from here as fixtures rather than importing this module,
so that pytest can load it as a plugin (with assertion rewriting).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "index_data" / "sample"


@pytest.fixture(scope="session")
def sample_records():
    """The sample corpus's records, one per id (a page crawled twice, or listed both as a
    page and as a record, has one id; the later one wins, as an update would)."""
    from indexer.ingest import iter_records
    from indexer.record import Record

    by_id = {r.id: r for r in iter_records([SAMPLE]) if isinstance(r, Record)}
    return list(by_id.values())


@pytest.fixture(scope="session")
def web_index_dir(tmp_path_factory, sample_records) -> Path:
    from indexer.index.writer import build_index

    # GONGKAI_WEB_TEST_INDEX: a directory to keep the built index in between runs while
    # developing (rebuilt when missing). Unset, every session builds a fresh one.
    keep = os.environ.get("GONGKAI_WEB_TEST_INDEX")
    if keep:
        index_dir = Path(keep) / "index"
        if not index_dir.exists():
            build_index(index_dir, sample_records)
        return index_dir
    index_dir = tmp_path_factory.mktemp("web-index") / "index"
    build_index(index_dir, sample_records)
    return index_dir


@pytest.fixture(scope="session")
def web_backend(web_index_dir):
    from search_app.search import open_backend

    backend = open_backend(web_index_dir)
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def indexed_ids(web_backend) -> set[str]:
    """Ids of every document in the index (deduplication may drop some records)."""
    from search_app.search.types import SearchRequest

    ids: set[str] = set()
    page = 1
    while True:
        result = web_backend.search(SearchRequest(q="", page=page, size=100, snippets=False))
        ids.update(hit.id for hit in result.hits)
        if len(result.hits) < 100:
            return ids
        page += 1


def make_app(backend, **config):
    from search_app import create_app

    base = {"TESTING": True, "BACKEND": backend, "RATELIMIT_ENABLED": False}
    base.update(config)
    return create_app(base)


@pytest.fixture()
def app_factory(web_backend):
    """``app_factory(**config)``: an app over the real backend with extra config."""
    return lambda **config: make_app(web_backend, **config)


@pytest.fixture()
def app(web_backend):
    return make_app(web_backend)


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def failing_client(web_backend):
    """A client whose backend raises on search (everything else real)."""
    return make_app(FailingBackend(web_backend)).test_client()


class FailingBackend:
    """The real backend, except that searching raises: to see what a crash looks like.

    Not a fake: every other call goes to the real index."""

    def __init__(self, real, error: Exception | None = None):
        self._real = real
        self._error = error or RuntimeError("boom: /secret/path/in/traceback")

    def search(self, request):
        raise self._error

    def __getattr__(self, name):
        return getattr(self._real, name)
